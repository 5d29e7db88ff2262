/**
 * What a write sees inside the Warehouse's one transaction (`mutate`): the SQL,
 * the time the write happens at, and the one way to move stock. The modules
 * that write (./reservations.ts, ./moves.ts, ./transfers.ts) take a Tx and
 * never the object, so they run the same against any store.
 */
import type { StockLow } from "../../events/types";
import type { Unit } from "../types";
import type { UnitChanges } from "./changes";
import { atShards } from "./pool";
import * as store from "./store";

export interface Tx {
	readonly sql: SqlStorage;
	/** When this write happens (the object's clock, read once per write). */
	readonly now: number;
	/** Moves stock with its ledger rows (./store.ts applyDeltas), marking stock.changed and queueing stock.low. */
	apply(changes: store.Change[]): void;
	/** Marks a unit changed by something other than a delta (e.g. its safety stock). */
	touch(unit: Unit): void;
	/** A hold was opened: the alarm must not be later than `expiresAt`. */
	holdOpened(expiresAt: number): void;
	/** At a sharded unit's pool: its total on hand fell from `before` to `after` (a shard reported sales); stock.low if that crossed the threshold. */
	totalFell(unit: Unit, before: number, after: number): void;
}

/** What a write left for after its transaction: the earliest new hold expiry, and whether events were queued. */
export interface TxOutcome {
	armBy: number | null;
	eventsQueued: boolean;
}

export function openTx(sql: SqlStorage, now: number, warehouseId: string, changes: UnitChanges): { tx: Tx; outcome: TxOutcome } {
	const outcome: TxOutcome = { armBy: null, eventsQueued: false };
	const tx: Tx = {
		sql,
		now,
		apply(list) {
			if (applyChanges(sql, list, warehouseId, changes)) outcome.eventsQueued = true;
		},
		touch(unit) {
			changes.touch(unit);
		},
		holdOpened(expiresAt) {
			if (outcome.armBy === null || expiresAt < outcome.armBy) outcome.armBy = expiresAt;
		},
		totalFell(unit, before, after) {
			const threshold = store.thresholdOf(sql, unit);
			if (threshold !== null && queueLow(sql, warehouseId, unit, before, after, threshold, now)) outcome.eventsQueued = true;
		},
	};
	return { tx, outcome };
}

/**
 * Several changes of one operation at once (one statement for the rows, one
 * for the ledger), each unit checked for falling below its low-stock
 * threshold over the operation as a whole. True when a stock.low was queued.
 */
function applyChanges(sql: SqlStorage, list: store.Change[], warehouseId: string, changes: UnitChanges): boolean {
	const after = store.applyDeltas(sql, list);
	const taken = new Map<string, { change: store.Change; on_hand_delta: number }>();
	for (const c of list) {
		changes.mark(c);
		// Units granted to a shard are still the warehouse's: not a fall in stock.
		if (c.reason === "grant_out") continue;
		const k = store.unitKeyOf(c.unit);
		const t = taken.get(k);
		if (t) t.on_hand_delta += c.on_hand_delta;
		else taken.set(k, { change: c, on_hand_delta: c.on_hand_delta });
	}
	let queued = false;
	for (const [k, { change: c, on_hand_delta: delta }] of taken) {
		const row = after.get(k);
		const threshold = row?.threshold ?? null;
		if (delta >= 0 || !row || threshold === null) continue;
		// A sharded unit is judged on its total: the pool's row plus what its shards hold, as the pool knows it.
		const total = row.on_hand + (store.shardConfig(sql, c.unit) ? atShards(sql, c.unit).on_hand : 0);
		if (queueLow(sql, warehouseId, c.unit, total - delta, total, threshold, c.at)) queued = true;
	}
	return queued;
}

/** A stock.low when on hand fell from `before` to `after` across the threshold. */
function queueLow(sql: SqlStorage, warehouseId: string, unit: Unit, before: number, after: number, threshold: number, at: number): boolean {
	if (before < threshold || after >= threshold) return false;
	const event: StockLow = {
		event_id: `evt_low_${crypto.randomUUID()}`,
		type: "stock.low",
		occurred_at: new Date(at).toISOString(),
		warehouse_id: warehouseId,
		product_id: unit.product_id,
		size: unit.size,
		on_hand: after,
		threshold,
	};
	store.queueEvent(sql, event.event_id, event, at);
	return true;
}
