/**
 * The Warehouse's vocabulary, shared by the object, the gateway and the tests.
 * Business outcomes are discriminated unions (`ok: true | false`); a Warehouse
 * method throws only on bugs and infrastructure failures.
 */

/** A stock keeping unit. */
export interface Unit {
	product_id: string;
	size: string;
}

export interface Line extends Unit {
	quantity: number;
}

export interface Level extends Unit {
	on_hand: number;
	reserved: number;
	available: number;
	/** Only for a unit split over shard objects: its shard count now, and every count it has had (where holds may be). */
	shards?: number;
	shard_generations?: number[];
}

/** A unit's row in the admin stock view. */
export interface StockRow extends Level {
	safety_stock: number;
	incoming: number;
	low_stock_threshold: number | null;
}

export interface Shortage extends Unit {
	requested: number;
	available: number;
}

export interface BelowReserved extends Unit {
	on_hand: number;
	reserved: number;
}

export type HoldState = "held" | "committed" | "released" | "expired";

export type Insufficient = { ok: false; reason: "insufficient_stock"; shortages: Shortage[] };
export type BelowReservedFailure = { ok: false; reason: "below_reserved"; conflicts: BelowReserved[] };

export type ReserveResult =
	| { ok: true; state: "held" | "committed"; expires_at: number; replayed: boolean }
	| Insufficient
	/** The reference was already released or expired: a late reserve never re-holds. */
	| { ok: false; reason: "hold_closed"; state: "released" | "expired" };

export type CommitResult =
	/** `late`: the hold had expired and its units were taken again from what was available. */
	| { ok: true; replayed: boolean; late: boolean }
	| Insufficient
	| { ok: false; reason: "unknown_hold" }
	| { ok: false; reason: "hold_released" };

export type ReleaseResult =
	/** `unknown`: the object had never seen the reference (it keeps a tombstone), so the hold, if any, is elsewhere. */
	| { ok: true; state: "released" | "expired"; replayed: boolean; unknown?: true }
	| { ok: false; reason: "hold_committed" };

/** What undoing an order's hold did: nothing was taken, the hold was released, or committed units were put back. */
export type CancelHoldResult = { ok: true; outcome: "released" | "restocked" | "nothing"; replayed: boolean; lines: Line[] };

export type ApplyResult = { ok: true; replayed: boolean; levels: Level[] };

export type DeductResult = ApplyResult | Insufficient;
export type SetLevelsResult = ApplyResult | BelowReservedFailure;
export type AdjustResult = { ok: true; replayed: boolean; level: Level } | BelowReservedFailure;

/**
 * A transfer's steps at its two warehouses. Each is idempotent by transfer id; a
 * cancellation at the source is a tombstone, so a late `transfer_out` never moves units.
 */
export type TransferOutResult = { ok: true; replayed: boolean } | Insufficient | { ok: false; reason: "transfer_closed" };
export type TransferCancelResult = { ok: true; restocked: boolean; replayed: boolean };
export type IncomingResult = { ok: true; replayed: boolean } | { ok: false; reason: "transfer_closed" };
export type TransferInResult = { ok: true; replayed: boolean } | { ok: false; reason: "transfer_closed" };

export interface HoldView {
	ref: string;
	state: HoldState;
	created_at: number;
	expires_at: number;
	lines: Line[];
}

export interface Snapshot {
	items: Level[];
	holds: { held: number; next_expiry: number | null };
}

export interface LedgerEntry extends Unit {
	seq: number;
	at: string;
	on_hand_delta: number;
	reserved_delta: number;
	reason: string;
	ref: string;
	actor: string;
	note: string | null;
	/** In a warehouse with sharded units: the shard that wrote it (null: the warehouse's own object). */
	shard?: number | null;
}

export interface LedgerPage {
	entries: LedgerEntry[];
	next_after: number | null;
}

export const ADJUST_REASONS = ["receive", "return", "correction", "cycle_count", "damage", "shrinkage"] as const;
export type AdjustReason = (typeof ADJUST_REASONS)[number];

export function unitKey(u: Unit): string {
	return JSON.stringify([u.product_id, u.size]);
}
