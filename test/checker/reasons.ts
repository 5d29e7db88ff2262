/**
 * Ledger reasons by what they do to a unit. The grant and give-back reasons
 * are those of a sharded unit: the pool (the warehouse's own object) writes
 * `grant_out` and `give_in`, a shard `grant_in` and `give_back`, each with the
 * grant's or give-back's id as ref.
 */

export const ADJUST = new Set(["receive", "return", "correction", "cycle_count", "damage", "shrinkage"]);
export const HOLD = new Set(["reserve", "release", "expire"]);
export const SET = "set";
export const COMMIT = "commit";
export const RESTOCK = "restock";
/** Stock moved by reference outside an order (`POST /api/stock/deduct|restore`). */
export const MOVE = new Set(["deduct", "restore"]);

/** Moves between two ledgers: the row that sends and the one that receives, matched by ref. */
export interface Leg {
	out: string;
	in: string;
	/** Rows that undo the out leg instead of the in one (a cancelled transfer). */
	back?: string;
}

export const GRANT: Leg = { out: "grant_out", in: "grant_in" };
export const GIVEBACK: Leg = { out: "give_back", in: "give_in" };
export const TRANSFER: Leg = { out: "transfer_out", in: "transfer_in", back: "transfer_cancel" };

export const KNOWN = new Set([
	...ADJUST,
	...HOLD,
	SET,
	COMMIT,
	RESTOCK,
	...MOVE,
	...[GRANT, GIVEBACK, TRANSFER].flatMap((l) => [l.out, l.in, ...(l.back ? [l.back] : [])]),
]);
