/**
 * The hold lifecycle, as one pure transition: what a hold is (or that the
 * reference is unknown), what is asked of it, the levels of its units and
 * `now` in; a decision out. No SQL, no clock: the Warehouse object reads the
 * facts and carries the decision out in one transaction (./reservations.ts),
 * and anything else that keeps holds (a simulation, a shard) can do the same.
 *
 *   unknown  --reserve-->           held
 *   unknown  --release/cancel-->    released (a tombstone: a late reserve holds nothing)
 *   held     --commit/due+decided-> committed
 *   held     --release/cancel-->    released
 *   held     --due, undecided-->    expired (presumed abort)
 *   expired  --commit-->            committed, taking the units again if they are still there
 *   expired  --release/cancel-->    released (nothing moves: a late commit is refused)
 *   committed --cancel-->           committed, its units restocked once
 *
 * A reference seen before answers as it did, whatever the stock is now.
 */
import type { CancelHoldResult, CommitResult, HoldState, Level, Line, ReleaseResult, ReserveResult, Shortage } from "../types";

/** What the store knows of a reference: its state, expiry and lines, or nothing. */
export type HoldFacts = { state: HoldState; expires_at: number; lines: Line[] } | undefined;

export type HoldCommand =
	/** `levels`: the current levels of `lines`' units, in their order. */
	| { kind: "reserve"; lines: Line[]; ttlMs: number; levels: Level[] }
	/** `levels`: the current levels of the hold's lines' units (read only for a lapsed hold). */
	| { kind: "commit"; levels?: Level[] }
	| { kind: "release" }
	| { kind: "cancel" }
	/** The hold's ttl has passed; `decided`: D1 has its order and it is not cancelled. */
	| { kind: "due"; decided: boolean };

/**
 * What to do. The stock moves are implied by the kind (the object writes them
 * with the ledger): `hold` reserves the lines, `commit` takes them from on_hand
 * (and from reserved unless `late`), `free` gives the reserved units back,
 * `restock` puts committed units back on hand; `close` and `tombstone` only
 * write the hold's state; `answer` and `refuse` change nothing.
 */
export type HoldDecision =
	| { kind: "hold"; expires_at: number; lines: Line[]; result: ReserveResult & { ok: true } }
	| { kind: "commit"; lines: Line[]; late: boolean; result: CommitResult & { ok: true } }
	| { kind: "free"; to: "released" | "expired"; lines: Line[] }
	| { kind: "close" }
	| { kind: "tombstone" }
	| { kind: "restock"; lines: Line[] }
	| { kind: "answer" }
	| { kind: "refuse"; reason: "insufficient_stock"; shortages: Shortage[] }
	| { kind: "refuse"; reason: "unknown_hold" | "hold_released" | "hold_committed" | "hold_closed" };

/** The lines that `levels` (same order) cannot cover from what is available. */
export function shortagesOf(lines: readonly Line[], levels: readonly Level[]): Shortage[] {
	const out: Shortage[] = [];
	lines.forEach((l, i) => {
		const available = levels[i]?.available ?? 0;
		if (available < l.quantity) out.push({ product_id: l.product_id, size: l.size, requested: l.quantity, available });
	});
	return out;
}

export function transition(hold: HoldFacts, command: HoldCommand, now: number): HoldDecision {
	switch (command.kind) {
		case "reserve": {
			if (hold) return hold.state === "held" || hold.state === "committed" ? { kind: "answer" } : { kind: "refuse", reason: "hold_closed" };
			const shortages = shortagesOf(command.lines, command.levels);
			if (shortages.length > 0) return { kind: "refuse", reason: "insufficient_stock", shortages };
			const expires_at = now + command.ttlMs;
			return { kind: "hold", expires_at, lines: command.lines, result: { ok: true, state: "held", expires_at, replayed: false } };
		}
		case "commit": {
			if (!hold) return { kind: "refuse", reason: "unknown_hold" };
			switch (hold.state) {
				case "committed":
					return { kind: "answer" };
				case "released":
					return { kind: "refuse", reason: "hold_released" };
				case "held":
					return { kind: "commit", lines: hold.lines, late: false, result: { ok: true, replayed: false, late: false } };
				case "expired": {
					// The hold lapsed before its commit arrived: its units are taken again if they are still there.
					const shortages = shortagesOf(hold.lines, command.levels ?? []);
					if (shortages.length > 0) return { kind: "refuse", reason: "insufficient_stock", shortages };
					return { kind: "commit", lines: hold.lines, late: true, result: { ok: true, replayed: false, late: true } };
				}
			}
		}
		case "release":
		case "cancel": {
			if (!hold) return { kind: "tombstone" };
			switch (hold.state) {
				case "held":
					return { kind: "free", to: "released", lines: hold.lines };
				case "released":
					return { kind: "answer" };
				case "expired":
					// Its units went back at expiry; closing it for good stops a late commit taking them again.
					return { kind: "close" };
				case "committed":
					return command.kind === "cancel" ? { kind: "restock", lines: hold.lines } : { kind: "refuse", reason: "hold_committed" };
			}
		}
		case "due": {
			if (!hold || hold.state !== "held" || hold.expires_at > now) return { kind: "answer" };
			return command.decided
				? { kind: "commit", lines: hold.lines, late: false, result: { ok: true, replayed: false, late: false } }
				: { kind: "free", to: "expired", lines: hold.lines };
		}
	}
}

/** The reserve's answer for a decision (a known reference answers as it did). */
export function reserveAnswer(hold: HoldFacts, d: HoldDecision): ReserveResult {
	if (d.kind === "hold") return d.result;
	if (d.kind === "refuse" && d.reason === "insufficient_stock") return { ok: false, reason: "insufficient_stock", shortages: d.shortages };
	if (hold && (hold.state === "held" || hold.state === "committed")) return { ok: true, state: hold.state, expires_at: hold.expires_at, replayed: true };
	if (hold && (hold.state === "released" || hold.state === "expired")) return { ok: false, reason: "hold_closed", state: hold.state };
	throw new Error(`reserve: no answer for ${d.kind}`);
}

export function commitAnswer(d: HoldDecision): CommitResult {
	switch (d.kind) {
		case "commit":
			return d.result;
		case "answer":
			return { ok: true, replayed: true, late: false };
		case "refuse":
			if (d.reason === "insufficient_stock") return { ok: false, reason: "insufficient_stock", shortages: d.shortages };
			if (d.reason === "unknown_hold" || d.reason === "hold_released") return { ok: false, reason: d.reason };
	}
	throw new Error(`commit: no answer for ${d.kind}`);
}

export function releaseAnswer(d: HoldDecision): ReleaseResult {
	switch (d.kind) {
		case "free":
		case "close":
			return { ok: true, state: "released", replayed: false };
		case "tombstone":
			return { ok: true, state: "released", replayed: false, unknown: true };
		case "answer":
			return { ok: true, state: "released", replayed: true };
		case "refuse":
			if (d.reason === "hold_committed") return { ok: false, reason: "hold_committed" };
	}
	throw new Error(`release: no answer for ${d.kind}`);
}

/** The cancel's answer; `restocked`: whether this call put the committed units back (false: an earlier one did). */
export function cancelAnswer(d: HoldDecision, restocked = true): CancelHoldResult {
	switch (d.kind) {
		case "free":
			return { ok: true, outcome: "released", replayed: false, lines: d.lines };
		case "close":
		case "tombstone":
			return { ok: true, outcome: "nothing", replayed: false, lines: [] };
		case "answer":
			return { ok: true, outcome: "nothing", replayed: true, lines: [] };
		case "restock":
			return { ok: true, outcome: "restocked", replayed: !restocked, lines: d.lines };
	}
	throw new Error(`cancel: no answer for ${d.kind}`);
}
