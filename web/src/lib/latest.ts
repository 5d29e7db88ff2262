/**
 * The order of one piece of state's loads, for answers that come back out of
 * order. An answer is taken only if no later load's answer was taken before it
 * and no `drop()` came after its load began: an older answer never overwrites a
 * newer one, and a poll slower than its interval still shows each answer that
 * is the newest so far. Plain data, no clock, no DOM: tested directly.
 */
export class Latest {
	#begun = 0;
	/** Answers of the loads numbered up to here are stale. */
	#floor = 0;

	/** A ticket for a load that starts now. */
	begin(): number {
		return ++this.#begun;
	}

	/** Whether the answer of the load holding `ticket` may be shown; taking it makes every earlier load stale. */
	take(ticket: number): boolean {
		if (ticket <= this.#floor) return false;
		this.#floor = ticket;
		return true;
	}

	/** Makes every load begun so far stale: what it asked about changed, or a fresher answer came another way. */
	drop(): void {
		this.#floor = this.#begun;
	}
}
