/**
 * Moving customers between order shards, pure: who moves where when the shard
 * count goes from `from` to N (an upgrade from the single-database layout is
 * from = 1: everyone was in shard 0), the units a customer's orders in the old
 * shard still count against purchase limits, which idempotency keys still
 * matter, and the reconciler's place in its scan.
 */
import { orderedUnits } from "../limits/rules";
import { shardIndexOf } from "../orders/shards";

/** Idempotency keys used within this long travel with their customer; older ones are never replayed in practice and stay. */
export const KEYS_KEEP_MS = 24 * 60 * 60 * 1000;

/** The shard count customers are moving from (ORDER_SHARDS_MOVING_FROM), when it is one less than N; undefined: nobody moves. */
export function movingFrom(raw: string | undefined, n: number): number | undefined {
	if (raw === undefined || raw.trim() === "") return undefined;
	const from = Number(raw);
	return Number.isInteger(from) && from >= 1 && from < n ? from : undefined;
}

export interface Move {
	from: number;
	to: number;
}

/** Where a customer's rows were and where they belong now; undefined when they stay. */
export function moveOf(sub: string, oldN: number, n: number): Move | undefined {
	const from = shardIndexOf(sub, oldN);
	const to = shardIndexOf(sub, n);
	return from === to ? undefined : { from, to };
}

/** Units per product of a customer's live orders (kit lines as the kit and as their components), as the purchase counters count them. */
export function liveUnits(orders: ReadonlyArray<{ products: string }>): Array<[string, number]> {
	const lines = orders.flatMap((o) => JSON.parse(o.products) as Parameters<typeof orderedUnits>[0]);
	return [...orderedUnits(lines)];
}

/** Keys updated at or after this travel with their customer. */
export function keysSince(nowMs: number): string {
	return new Date(nowMs - KEYS_KEEP_MS).toISOString();
}

export interface Progress {
	scanned_after: string;
	/** Customers moved (or whose move failed) in the round under way. */
	moved_in_round: number;
	moved_total: number;
	done_at: string | null;
}

export const FRESH_PROGRESS: Progress = { scanned_after: "", moved_in_round: 0, moved_total: 0, done_at: null };

/**
 * The place after a run that scanned `scanned` (user ids in order), moved
 * `moved` customers and failed to move `failed`. Reaching the end (`atEnd`)
 * starts a new round; a whole round that moved nobody and failed nobody is the
 * last: the shard is done.
 */
export function nextProgress(p: Progress, scanned: readonly string[], atEnd: boolean, moved: number, failed: number, now: string): Progress {
	const inRound = p.moved_in_round + moved + failed;
	const total = p.moved_total + moved;
	if (!atEnd) return { scanned_after: scanned.at(-1) ?? p.scanned_after, moved_in_round: inRound, moved_total: total, done_at: null };
	return { scanned_after: "", moved_in_round: 0, moved_total: total, done_at: inRound === 0 ? (p.done_at ?? now) : null };
}
