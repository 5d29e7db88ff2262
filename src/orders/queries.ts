/**
 * D1 queries for orders, their history and the outbox. Statements that must
 * land together are returned unexecuted so callers can put them in one batch.
 */
import type { Address } from "../cart/schema";
import { toMajor } from "../shared/money";
import type { HistoryEntry, Order, OrderStatus, PaymentStatus } from "./schema";

/** An order as stored: money in cents. */
export interface OrderRecord {
	order_id: string;
	user_id: string;
	cart_id: string | null;
	status: OrderStatus;
	payment_status: PaymentStatus;
	products: Array<{
		product_id: string;
		size: string;
		name: string;
		quantity: number;
		unit_price_cents: number;
		allocations: Array<{ warehouse_id: string; quantity: number }>;
		/** Kit lines: each component's units and where they come from. */
		components?: Array<{ product_id: string; size: string; quantity: number; allocations: Array<{ warehouse_id: string; quantity: number }> }>;
	}>;
	address: Address;
	delivery_mode: "standard" | "express";
	delivery_tier: "tier_1" | "tier_2" | "tier_3";
	subtotal: number;
	delivery_cost: number;
	tax: number;
	total: number;
	currency: string;
	estimated_delivery_date: string;
	tracking_number: string | null;
	/** From the token's `email` claim at checkout; where notifications go. */
	customer_email: string | null;
	created_at: string;
	updated_at: string;
	/** The sequence of the order's latest status event: 1 for "placed", one more per status change (migration 0014). */
	event_seq: number;
}

type Row = Record<string, unknown>;

function toRecord(r: Row): OrderRecord {
	return {
		order_id: String(r.order_id),
		user_id: String(r.user_id),
		cart_id: r.cart_id === null ? null : String(r.cart_id),
		status: r.status as OrderStatus,
		payment_status: r.payment_status as PaymentStatus,
		products: JSON.parse(String(r.products)) as OrderRecord["products"],
		address: JSON.parse(String(r.address)) as Address,
		delivery_mode: r.delivery_mode as OrderRecord["delivery_mode"],
		delivery_tier: r.delivery_tier as OrderRecord["delivery_tier"],
		subtotal: Number(r.subtotal),
		delivery_cost: Number(r.delivery_cost),
		tax: Number(r.tax),
		total: Number(r.total),
		currency: String(r.currency),
		estimated_delivery_date: String(r.estimated_delivery_date),
		tracking_number: r.tracking_number === null ? null : String(r.tracking_number),
		customer_email: r.customer_email === null || r.customer_email === undefined ? null : String(r.customer_email),
		created_at: String(r.created_at),
		updated_at: String(r.updated_at),
		event_seq: Number(r.event_seq ?? 1),
	};
}

export function orderView(o: OrderRecord): Order {
	return {
		order_id: o.order_id,
		user_id: o.user_id,
		status: o.status,
		payment_status: o.payment_status,
		products: o.products.map(({ unit_price_cents, ...p }) => ({ ...p, unit_price: toMajor(unit_price_cents) })),
		address: o.address,
		delivery_mode: o.delivery_mode,
		delivery_tier: o.delivery_tier,
		subtotal: toMajor(o.subtotal),
		delivery_cost: toMajor(o.delivery_cost),
		tax: toMajor(o.tax),
		total: toMajor(o.total),
		currency: o.currency,
		estimated_delivery_date: o.estimated_delivery_date,
		tracking_number: o.tracking_number,
		created_at: o.created_at,
		updated_at: o.updated_at,
	};
}

/** Per warehouse, the physical lines an order took there (a kit line's are its components'). */
export function linesByWarehouse(o: Pick<OrderRecord, "products">): Map<string, Array<{ product_id: string; size: string; quantity: number }>> {
	const out = new Map<string, Array<{ product_id: string; size: string; quantity: number }>>();
	for (const p of o.products) {
		for (const unit of p.components ?? [p]) {
			for (const a of unit.allocations) {
				const list = out.get(a.warehouse_id) ?? [];
				list.push({ product_id: unit.product_id, size: unit.size, quantity: a.quantity });
				out.set(a.warehouse_id, list);
			}
		}
	}
	return out;
}

export async function getOrder(db: D1Database, orderId: string): Promise<OrderRecord | null> {
	const row = await db.prepare(`SELECT * FROM orders WHERE order_id = ?`).bind(orderId).first<Row>();
	return row ? toRecord(row) : null;
}

export async function orderStatuses(db: D1Database, orderIds: string[]): Promise<Map<string, OrderStatus>> {
	if (orderIds.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT order_id, status FROM orders WHERE order_id IN (SELECT value FROM json_each(?))`)
		.bind(JSON.stringify(orderIds))
		.all<Row>();
	return new Map(results.map((r) => [String(r.order_id), r.status as OrderStatus]));
}

/** The order's history: its placement (derived from the order row), then its changes (the view `order_history`, migration 0021). */
export async function getHistory(db: D1Database, orderId: string): Promise<HistoryEntry[]> {
	const { results } = await db
		.prepare(`SELECT old_status, new_status, changed_by, reason, created_at FROM order_history WHERE order_id = ? ORDER BY position`)
		.bind(orderId)
		.all<Row>();
	return results.map((r) => ({
		old_status: r.old_status === null ? null : String(r.old_status),
		new_status: String(r.new_status),
		changed_by: String(r.changed_by),
		reason: r.reason === null ? null : String(r.reason),
		created_at: String(r.created_at),
	}));
}

export type OutboxAction = "commit" | "cancel";

export async function deleteOutbox(db: D1Database, orderId: string, warehouseIds: string[], action: OutboxAction): Promise<void> {
	if (warehouseIds.length === 0) return;
	await db
		.prepare(`DELETE FROM outbox WHERE order_id = ? AND action = ? AND warehouse_id IN (SELECT value FROM json_each(?))`)
		.bind(orderId, action, JSON.stringify(warehouseIds))
		.run();
}

/** Deletes the outbox rows of many orders at once: one statement whatever the count. */
export async function deleteOutboxRows(db: D1Database, action: OutboxAction, rows: Array<{ order_id: string; warehouse_id: string }>): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`DELETE FROM outbox WHERE action = ? AND (order_id, warehouse_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
		)
		.bind(action, JSON.stringify(rows.map((r) => [r.order_id, r.warehouse_id])))
		.run();
}

export interface OutboxRow {
	outbox_id: number;
	order_id: string;
	warehouse_id: string;
	action: OutboxAction;
	attempts: number;
}

function toOutboxRow(r: Row): OutboxRow {
	return {
		outbox_id: Number(r.outbox_id),
		order_id: String(r.order_id),
		warehouse_id: String(r.warehouse_id),
		action: r.action as OutboxAction,
		attempts: Number(r.attempts),
	};
}

export async function dueOutbox(db: D1Database, now: string, olderThan: string, limit: number): Promise<OutboxRow[]> {
	const { results } = await db
		.prepare(`SELECT outbox_id, order_id, warehouse_id, action, attempts FROM outbox WHERE next_attempt_at <= ? AND created_at <= ? ORDER BY outbox_id LIMIT ?`)
		.bind(now, olderThan, limit)
		.all<Row>();
	return results.map(toOutboxRow);
}

/** The outbox rows of one action for these orders, whatever their age. */
export async function outboxOfOrders(db: D1Database, orderIds: string[], action: OutboxAction): Promise<OutboxRow[]> {
	if (orderIds.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT outbox_id, order_id, warehouse_id, action, attempts FROM outbox WHERE action = ? AND order_id IN (SELECT value FROM json_each(?)) ORDER BY outbox_id`)
		.bind(action, JSON.stringify(orderIds))
		.all<Row>();
	return results.map(toOutboxRow);
}

export async function deferOutbox(db: D1Database, outboxId: number, error: string, nextAttemptAt: string): Promise<void> {
	await db
		.prepare(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE outbox_id = ?`)
		.bind(error.slice(0, 500), nextAttemptAt, outboxId)
		.run();
}

export async function deleteOutboxRow(db: D1Database, outboxId: number): Promise<void> {
	await db.prepare(`DELETE FROM outbox WHERE outbox_id = ?`).bind(outboxId).run();
}

export interface Page {
	orders: OrderRecord[];
	next: { created_at: string; order_id: string } | null;
}

/**
 * Up to `take` orders newest first after `cursor`, keyset on (created_at,
 * order_id): orders placed while a client pages are newer than its cursor,
 * so pages never repeat or skip.
 */
export async function ordersAfter(
	db: D1Database,
	filter: { userId?: string; status?: string },
	cursor: { created_at: string; order_id: string } | null,
	take: number,
): Promise<OrderRecord[]> {
	const where: string[] = [];
	const binds: unknown[] = [];
	if (filter.userId !== undefined) {
		where.push("user_id = ?");
		binds.push(filter.userId);
	}
	if (filter.status !== undefined) {
		where.push("status = ?");
		binds.push(filter.status);
	}
	if (cursor) {
		where.push("(created_at < ? OR (created_at = ? AND order_id < ?))");
		binds.push(cursor.created_at, cursor.created_at, cursor.order_id);
	}
	const sql = `SELECT * FROM orders ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, order_id DESC LIMIT ?`;
	const { results } = await db.prepare(sql).bind(...binds, take).all<Row>();
	return results.map(toRecord);
}
