/**
 * A page's loads of one piece of state: `watch` runs them when what they
 * depend on changes, `load` shows an answer only while it is the newest (see
 * Latest). A warehouse picked, a filter changed or a shopper switched while an
 * older request is out never lets that older answer land over the new one.
 */
import { untrack } from "svelte";
import { asApiError, type ApiError } from "../api/client";
import { Latest } from "./latest";

export class Loader {
	#latest = new Latest();

	/**
	 * Runs `run` now and again whenever a value that `deps` reads changes. Loads
	 * begun for the old values are dropped. `run` may return a teardown (a timer
	 * to clear), called before the next run and when the component goes away.
	 * Call it while the component initialises, like `$effect`.
	 */
	watch(deps: () => unknown, run: () => void | (() => void)): void {
		$effect(() => {
			deps();
			const teardown = untrack(run);
			return () => {
				this.#latest.drop();
				teardown?.();
			};
		});
	}

	/** Requests, then hands the answer to `show` (or its error to `fail`) unless a newer answer came first. */
	async load<T>(request: () => Promise<T>, show: (value: T) => void, fail: (error: ApiError) => void = () => {}): Promise<void> {
		const ticket = this.#latest.begin();
		let value: T;
		try {
			value = await request();
		} catch (err) {
			if (this.#latest.take(ticket)) fail(asApiError(err));
			return;
		}
		if (this.#latest.take(ticket)) show(value);
	}

	/** Drops the answers of loads still out: the state was just set from a fresher answer (a change's own reply). */
	drop(): void {
		this.#latest.drop();
	}
}
