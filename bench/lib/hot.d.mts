import type { History, LedgerRow, Line, Op } from "../../test/checker/history.js";

export interface ObjectCounts {
	requests?: Record<string, number>;
}

export type ObjectRole = "warehouse" | "pool" | "shard";

export interface ObjectRequests {
	object: string;
	role: ObjectRole;
	requests: number;
	by_method: Record<string, number>;
}

export function requestsBetween(objects: ReadonlyArray<{ name: string; label: string; role: ObjectRole }>, before: Record<string, ObjectCounts>, after: Record<string, ObjectCounts>): ObjectRequests[];

export function busiestPerOrder(
	perObject: ObjectRequests[],
	ordersPlaced: number,
	placeOrdersSent: number,
): { object: string; requests: number; by_method: Record<string, number>; per_order: number; per_place_order: number | null; all_objects_per_order: number; objects: number } | null;

export interface LedgerEntry {
	seq: number;
	at: string;
	shard?: number | null;
	product_id: string;
	size: string;
	on_hand_delta: number;
	reserved_delta: number;
	reason: string;
	ref: string;
}

export function ledgerRows(warehouseId: string, entries: LedgerEntry[]): LedgerRow[];

export function placeOp(id: number, user: string, lines: Line[], result: { status: number; code: string | null; invoke: number; complete: number }): Op;

export function historyOf(pass: { ops: Op[]; ledger: LedgerRow[]; warehouseIds: string[]; readAt: number }): History;

export function grantFigures(ledger: LedgerRow[], from: number, to: number): { pass: number; buying: number; per_s_buying: number | null; units_granted: number };
