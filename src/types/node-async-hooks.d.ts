// The one Node API stockgate uses (provided by the `nodejs_compat` flag), typed
// here instead of pulling all of @types/node into Worker code.
declare module "node:async_hooks" {
	export class AsyncLocalStorage<T> {
		getStore(): T | undefined;
		run<R>(store: T, fn: () => R): R;
	}
}
