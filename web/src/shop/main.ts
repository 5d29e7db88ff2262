import { mount } from "svelte";
import "../lib/base.css";
import Shop from "./Shop.svelte";

mount(Shop, { target: document.getElementById("app")! });
