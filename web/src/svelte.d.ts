// Lets tsc check the pages' TypeScript modules that import components; the
// components themselves are checked by the Svelte compiler during `vite build`.
declare module "*.svelte" {
	import type { Component } from "svelte";
	const component: Component<Record<string, unknown>>;
	export default component;
}
