/**
 * Coalesces small after-answer writes across the requests an isolate serves:
 * items added within one window are flushed together, once, by one call.
 *
 * The first request that adds to an empty window keeps the flush alive with its
 * own `waitUntil`; later requests only append plain data, so no request ever
 * touches another's I/O. Callers only use this for work that is already durable
 * elsewhere (an outbox row in D1): if the isolate dies before a flush, the
 * reconciler finishes it, so a lost window costs latency, never correctness.
 */
export type WaitUntil = (work: Promise<unknown>) => void;

export interface CoalescerOptions<T> {
	/** Does the work for up to `maxItems` items; a throw is passed to `onError` (the items are not retried here). */
	flush: (items: T[]) => Promise<void>;
	onError: (err: unknown, items: T[]) => void;
	/** How long the first item of a window waits for company. */
	windowMs: number;
	/** A window this full is flushed at once. */
	maxItems: number;
}

export class Coalescer<T> {
	private pending: T[] = [];
	private timerArmed = false;

	constructor(private readonly opts: CoalescerOptions<T>) {}

	add(items: T[], waitUntil: WaitUntil): void {
		if (items.length === 0) return;
		this.pending.push(...items);
		if (this.pending.length >= this.opts.maxItems) {
			waitUntil(this.drain());
			return;
		}
		if (this.timerArmed) return;
		this.timerArmed = true;
		waitUntil(
			(async () => {
				await new Promise((resolve) => setTimeout(resolve, this.opts.windowMs));
				this.timerArmed = false;
				await this.drain();
			})(),
		);
	}

	/**
	 * Flushes these items now, after everything already waiting (so items leave
	 * in the order they were added), and resolves when they are done.
	 */
	async flushWith(items: T[]): Promise<void> {
		this.pending.push(...items);
		await this.drain();
	}

	/** Items waiting for the next flush (for tests and diagnostics). */
	get size(): number {
		return this.pending.length;
	}

	/**
	 * Flushes what is waiting now, in chunks of maxItems. Items added meanwhile are
	 * left to their own window: a caller awaiting this (flushWith) never ends up
	 * sending other requests' work for as long as they keep adding.
	 */
	private async drain(): Promise<void> {
		const chunks: T[][] = [];
		while (this.pending.length > 0) chunks.push(this.pending.splice(0, this.opts.maxItems));
		for (const items of chunks) {
			try {
				await this.opts.flush(items);
			} catch (err) {
				this.opts.onError(err, items);
			}
		}
	}
}

/** One coalescer per binding (an isolate can serve several envs, e.g. in tests): keyed weakly by that object. */
export function coalescerPer<K extends object, T>(make: (key: K) => Coalescer<T>): (key: K) => Coalescer<T> {
	const byKey = new WeakMap<K, Coalescer<T>>();
	return (key) => {
		let c = byKey.get(key);
		if (!c) {
			c = make(key);
			byKey.set(key, c);
		}
		return c;
	};
}
