/**
 * The rows order writes bring with them, one builder each: a history row and
 * warehouse outbox rows. Every change (./changes.ts) builds both here, the
 * placement (./placement.ts) only its outbox rows (its history row is derived
 * from the order row); each statement is gated, so a change that lost its race
 * writes none of them.
 */
import { UNGATED, type Gate } from "../shared/gate";
import type { OutboxAction } from "./queries";

/** Lands only while the order carries `changeId`: the change that stamped it won. */
export function changeWon(orderId: string, changeId: string): Gate {
	return { sql: `EXISTS (SELECT 1 FROM orders WHERE order_id = ? AND change_id = ?)`, binds: [orderId, changeId] };
}

export interface HistoryRow {
	order_id: string;
	old_status: string | null;
	new_status: string;
	changed_by: string;
	reason: string | null;
	created_at: string;
}

export function historyStmt(db: D1Database, h: HistoryRow, gate: Gate = UNGATED): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO order_status_history (order_id, old_status, new_status, changed_by, reason, created_at) SELECT ?, ?, ?, ?, ?, ? WHERE ${gate.sql}`)
		.bind(h.order_id, h.old_status, h.new_status, h.changed_by, h.reason, h.created_at, ...gate.binds);
}

/** One row per warehouse (one statement whatever the count): work promised to those warehouses for this order. */
export function outboxStmt(db: D1Database, orderId: string, warehouseIds: readonly string[], action: OutboxAction, at: string, gate: Gate = UNGATED): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO outbox (order_id, warehouse_id, action, created_at, next_attempt_at)
			 SELECT ?, value, ?, ?, ? FROM json_each(?) WHERE ${gate.sql}
			 ON CONFLICT DO NOTHING`,
		)
		.bind(orderId, action, at, at, JSON.stringify(warehouseIds), ...gate.binds);
}
