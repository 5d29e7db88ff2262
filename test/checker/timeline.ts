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

export const DEFAULT_SLACK: Slack = { skewMs: 2, lagMs: 100 };

export class Timeline {
	/** on_hand - reserved after k rows (k = 0: before the first). */
	private readonly free: number[];
	/** Earliest and latest instants state k can have begun (k >= 1). */
	private readonly begins: Array<{ lo: number; hi: number }>;

	/**
	 * `readAt`: when the ledger was read. A stamp after it was not the object's
	 * clock (a `now` handed in, as the reconciler does), and two stamps that
	 * contradict the rows' order beyond the slack cannot both be; neither kind
	 * bounds anything, which only widens the windows (never unsound).
	 */
	constructor(rows: LedgerRow[], slack: Slack, readAt = Infinity) {
		this.free = [0];
		let onHand = 0;
		let reserved = 0;
		for (const r of rows) {
			onHand += r.on_hand_delta;
			reserved += r.reserved_delta;
			this.free.push(onHand - reserved);
		}
		const trusted = trustedStamps(rows, slack, readAt);
		// The writes happen in row order, so a row's write is no earlier than any
		// earlier row's lower bound and no later than any later row's upper bound.
		const lo: number[] = [];
		let max = -Infinity;
		for (const [i, r] of rows.entries()) lo.push((max = trusted[i] ? Math.max(max, r.at - slack.skewMs) : max));
		const hi: number[] = new Array(rows.length);
		let min = Infinity;
		for (let i = rows.length - 1; i >= 0; i--) hi[i] = min = trusted[i] ? Math.min(min, rows[i]!.at + slack.lagMs) : min;
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

/**
 * Which rows' stamps bound their writes: not after the read, and in no pair
 * whose stamps contradict their order beyond the slack (an earlier row i
 * stamped after a later row j: at_i - skew > at_j + lag). Which of such a pair
 * is wrong cannot be told, so neither counts.
 */
function trustedStamps(rows: LedgerRow[], slack: Slack, readAt: number): boolean[] {
	const ok = rows.map((r) => Number.isFinite(r.at) && r.at <= readAt + slack.skewMs);
	const after: number[] = new Array(rows.length + 1).fill(Infinity); // min over later rows stamped before the read of at + lag
	for (let i = rows.length - 1; i >= 0; i--) after[i] = ok[i] ? Math.min(after[i + 1]!, rows[i]!.at + slack.lagMs) : after[i + 1]!;
	let before = -Infinity; // max over earlier such rows of at - skew
	const out = [...ok];
	for (const [i, r] of rows.entries()) {
		if (ok[i] && (r.at - slack.skewMs > after[i + 1]! || r.at + slack.lagMs < before)) out[i] = false;
		if (ok[i]) before = Math.max(before, r.at - slack.skewMs);
	}
	return out;
}
