/**
 * The pages' build: Vite with Svelte 5, root `web/`, one HTML entry per page.
 * Output goes to `dist/`, which wrangler.toml serves as the Worker's static
 * assets (`/` storefront, `/admin` console, `/docs` API reference). Hashed
 * bundles land under `/assets/`; nothing is loaded from another host.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

const web = path.join(import.meta.dirname, "web");

/** Every `index.html` page of the build: add a page by adding its directory here. */
const pages = ["", "admin", "docs"];

export default defineConfig({
	root: web,
	base: "/",
	plugins: [svelte({ configFile: false })],
	build: {
		outDir: path.join(import.meta.dirname, "dist"),
		emptyOutDir: true,
		// One shared chunk per library, hashed names: cacheable forever.
		assetsDir: "assets",
		rolldownOptions: {
			input: Object.fromEntries(
				pages
					.map((p) => [p || "shop", path.join(web, p, "index.html")] as const)
					.filter(([, file]) => existsSync(file)),
			),
		},
	},
	server: { host: "127.0.0.1" },
});
