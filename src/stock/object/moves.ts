/**
 * Admin and order-driven stock moves over the store: set, adjust, deduct,
 * restore and restock. Each is all-or-nothing and applied once per reference
 * (`applied_ops`); a replay answers the levels as they are now.
 */
import { sumDemand } from "../demand";
import type { AdjustReason, AdjustResult, ApplyResult, BelowReserved, DeductResult, Line, SetLevelsResult, Shortage, Unit } from "../types";
import * as store from "./store";
import type { Tx } from "./tx";

/** Who asked and why, recorded in the ledger. */
export interface MoveBy {
	actor: string;
	note?: string;
}

export type LevelItem = Unit & { on_hand: number; low_stock_threshold?: number | null; safety_stock?: number };

/** Shortages against what is on hand and not reserved (admin moves may take safety stock). */
export function unreservedShortages(tx: Tx, demand: Line[]): Shortage[] {
	const out: Shortage[] = [];
	for (const l of demand) {
		const free = store.unreserved(tx.sql, l);
		if (free < l.quantity) out.push({ product_id: l.product_id, size: l.size, requested: l.quantity, available: free });
	}
	return out;
}

/** Puts units back on hand once per reference: a cancelled order's units (restock) or an admin's (restore). */
export function addOnce(tx: Tx, kind: "restock" | "restore", ref: string, lines: Line[], by: MoveBy): ApplyResult {
	const demand = sumDemand(lines);
	if (!store.claimOp(tx.sql, kind, ref, tx.now)) return { ok: true, replayed: true, levels: store.getLevels(tx.sql, demand) };
	tx.apply(demand.map((l) => ({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: kind, ref, actor: by.actor, note: by.note, at: tx.now })));
	return { ok: true, replayed: false, levels: store.getLevels(tx.sql, demand) };
}

export function deduct(tx: Tx, ref: string, lines: Line[], by: MoveBy): DeductResult {
	const demand = sumDemand(lines);
	if (store.applied(tx.sql, "deduct", ref)) return { ok: true, replayed: true, levels: store.getLevels(tx.sql, demand) };
	const shortages = unreservedShortages(tx, demand);
	if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
	tx.apply(demand.map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "deduct", ref, actor: by.actor, note: by.note, at: tx.now })));
	store.claimOp(tx.sql, "deduct", ref, tx.now);
	return { ok: true, replayed: false, levels: store.getLevels(tx.sql, demand) };
}

/** Sets absolute on-hand levels; all-or-nothing, never below what is reserved. */
export function setLevels(tx: Tx, ref: string, items: LevelItem[], by: MoveBy): SetLevelsResult {
	const levels = items.map((i) => store.getLevel(tx.sql, i));
	if (store.applied(tx.sql, "set", ref)) return { ok: true, replayed: true, levels };
	const conflicts: BelowReserved[] = [];
	items.forEach((i, n) => {
		if (i.on_hand < levels[n]!.reserved) conflicts.push({ product_id: i.product_id, size: i.size, on_hand: i.on_hand, reserved: levels[n]!.reserved });
	});
	if (conflicts.length > 0) return { ok: false, reason: "below_reserved", conflicts };
	for (const i of items) {
		if (i.low_stock_threshold !== undefined) store.setThreshold(tx.sql, i, i.low_stock_threshold);
		if (i.safety_stock !== undefined) {
			store.setSafetyStock(tx.sql, i, i.safety_stock);
			tx.touch(i);
		}
	}
	for (const i of items) {
		// Read again: the same unit may appear twice in one request; the last value wins.
		const current = store.getLevel(tx.sql, i);
		tx.apply([{ unit: i, on_hand_delta: i.on_hand - current.on_hand, reserved_delta: 0, reason: "set", ref, actor: by.actor, note: by.note, at: tx.now }]);
	}
	store.claimOp(tx.sql, "set", ref, tx.now);
	return { ok: true, replayed: false, levels: items.map((i) => store.getLevel(tx.sql, i)) };
}

export function adjust(tx: Tx, ref: string, unit: Unit, delta: number, reason: AdjustReason, by: MoveBy): AdjustResult {
	const level = store.getLevel(tx.sql, unit);
	if (store.applied(tx.sql, "adjust", ref)) return { ok: true, replayed: true, level };
	const next = level.on_hand + delta;
	if (next < level.reserved) {
		return { ok: false, reason: "below_reserved", conflicts: [{ product_id: unit.product_id, size: unit.size, on_hand: next, reserved: level.reserved }] };
	}
	tx.apply([{ unit, on_hand_delta: delta, reserved_delta: 0, reason, ref, actor: by.actor, note: by.note, at: tx.now }]);
	store.claimOp(tx.sql, "adjust", ref, tx.now);
	return { ok: true, replayed: false, level: store.getLevel(tx.sql, unit) };
}
