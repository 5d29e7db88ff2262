/**
 * Free stock over time at one object, rebuilt from its ledger. Rows are in the
 * object's own order, so the order of its states is exact; only when each
 * state began is uncertain: a row's `at` is the object's clock in whole
 * milliseconds, read before the write (inside workerd the clock stands still
 * between I/O, so it can trail the write), while clients stamp their requests
 * with the host's clock. So the write of a row stamped `at` is taken to have
 * happened somewhere in [at - skewMs, at + lagMs], and a state counts as
 * possibly current in a window when any timing within those bounds makes it
 * so. The minimum over those states is then a lower bound of the object's
 * free stock at every instant of the window, which is what a sound judgement
 * of a refusal needs: it can only make a refusal look legal, never false.
 */
import type { LedgerRow } from "./history.js";

export interface Slack {
	/** How far a row's `at` may lead its write (rounding, two readers of the clock). */
	skewMs: number;
	/** How far a row's `at` may trail its write (the object's clock standing still while it works). */
	lagMs: number;
}

export const DEFAULT_SLACK: Slack = { skewMs: 2, lagMs: 50 };

export class Timeline {
	/** on_hand - reserved after k rows (k = 0: before the first). */
	private readonly free: number[];
	/** Earliest and latest instants state k can have begun (k >= 1). */
	private readonly begins: Array<{ lo: number; hi: number }>;

	constructor(rows: LedgerRow[], slack: Slack) {
		this.free = [0];
		let onHand = 0;
		let reserved = 0;
		for (const r of rows) {
			onHand += r.on_hand_delta;
			reserved += r.reserved_delta;
			this.free.push(onHand - reserved);
		}
		// The writes happen in row order, so a row's write is no earlier than any
		// earlier row's lower bound and no later than any later row's upper bound.
		const lo: number[] = [];
		let max = -Infinity;
		for (const r of rows) lo.push((max = Math.max(max, r.at - slack.skewMs)));
		const hi: number[] = new Array(rows.length);
		let min = Infinity;
		for (let i = rows.length - 1; i >= 0; i--) hi[i] = min = Math.min(min, rows[i]!.at + slack.lagMs);
		this.begins = [{ lo: -Infinity, hi: -Infinity }, ...lo.map((l, i) => ({ lo: l, hi: hi[i]! }))];
	}

	/** The lowest free stock of any state that may have been current at some instant of [from, to]; -Infinity when none can be placed. */
	minFreeDuring(from: number, to: number): number {
		const n = this.free.length - 1;
		// The states that may still be current at `from` start at the first k whose
		// successor can begin no earlier than `from` (upper bounds only grow with k).
		let low = 0;
		let high = n;
		while (low < high) {
			const mid = (low + high) >> 1;
			if (this.begins[mid + 1]!.hi >= from) high = mid;
			else low = mid + 1;
		}
		let best = Infinity;
		for (let k = low; k <= n && this.begins[k]!.lo <= to; k++) best = Math.min(best, this.free[k]!);
		return best === Infinity ? -Infinity : best;
	}
}
