/**
 * D1 queries for carts. One active cart per user (a partial unique index);
 * completed carts are kept.
 */
import { withinLimit, type LimitExcess } from "../limits/rules";
import type { Address } from "./schema";

export interface CartRow {
	cart_id: string;
	user_id: string;
	status: "active" | "completed";
	address: Address | null;
	/** Bumped by every change to the lines or the address (D1 triggers); checkout decides only on the version it read. */
	version: number;
	created_at: string;
	updated_at: string;
}

export interface CartLineRow {
	product_id: string;
	size: string;
	quantity: number;
}

type Row = Record<string, unknown>;

export function toCart(r: Row): CartRow {
	return {
		cart_id: String(r.cart_id),
		user_id: String(r.user_id),
		status: r.status as CartRow["status"],
		address: r.address ? (JSON.parse(String(r.address)) as Address) : null,
		version: Number(r.version ?? 0),
		created_at: String(r.created_at),
		updated_at: String(r.updated_at),
	};
}

export async function findActiveCart(db: D1Database, userId: string): Promise<CartRow | null> {
	const row = await db.prepare(`SELECT * FROM carts WHERE user_id = ? AND status = 'active'`).bind(userId).first<Row>();
	return row ? toCart(row) : null;
}

/** The user's active cart, made on first use; safe when two requests race to make it. */
export async function activeCart(db: D1Database, userId: string, now: string): Promise<CartRow> {
	const existing = await findActiveCart(db, userId);
	if (existing) return existing;
	await db
		.prepare(`INSERT INTO carts (cart_id, user_id, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING`)
		.bind(`cart_${crypto.randomUUID()}`, userId, now, now)
		.run();
	return (await findActiveCart(db, userId))!;
}

export async function cartLines(db: D1Database, cartId: string): Promise<CartLineRow[]> {
	const { results } = await db
		.prepare(`SELECT product_id, size, quantity FROM cart_items WHERE cart_id = ? ORDER BY added_at, product_id, size`)
		.bind(cartId)
		.all<Row>();
	return results.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.quantity) }));
}

/**
 * Why a line change wrote nothing: the line would pass its unit cap, a new line
 * would pass the cart's line cap, the product's per-customer limit would be
 * passed (all checked in the same statement, so two concurrent changes cannot
 * both take the last free line or unit), or the cart was checked out.
 */
export type LineRefusal = "line_full" | "cart_full" | "cart_closed" | { reason: "purchase_limit"; excess: LimitExcess };

/** The row to insert exists only while the cart is active and has room for it (or already has the line). */
const LINE_ROOM = `EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active')
	 AND (EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3)
	      OR (SELECT COUNT(*) FROM cart_items WHERE cart_id = ?1) < ?6)`;

/**
 * Units of product ?2 already counted for the cart's owner: live orders plus
 * the cart's lines of it, without size ?3 when `others` (a set replaces that line).
 */
function countedSql(others: boolean): string {
	return `(COALESCE((SELECT units FROM customer_product_units WHERE product_id = ?2 AND user_id = (SELECT user_id FROM carts WHERE cart_id = ?1)), 0)
	   + COALESCE((SELECT SUM(quantity) FROM cart_items WHERE cart_id = ?1 AND product_id = ?2${others ? " AND size <> ?3" : ""}), 0))`;
}

/** The line's current quantity (0 when absent). */
const LINE_QUANTITY = `COALESCE((SELECT quantity FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3), 0)`;

/**
 * The product's limit (if any) still holds with ?4 more units on top of what is
 * counted. For a set (`others`), lowering a line is always allowed: a cart over
 * a limit lowered since must be able to come back under it.
 */
function withinLimitSql(others: boolean): string {
	return `((SELECT max_per_customer FROM products WHERE product_id = ?2) IS NULL
	     OR ${countedSql(others)} + ?4 <= (SELECT max_per_customer FROM products WHERE product_id = ?2)${others ? `
	     OR ?4 <= ${LINE_QUANTITY}` : ""})`;
}

async function refusal(db: D1Database, cartId: string, line: CartLineRow, others: boolean): Promise<LineRefusal> {
	const r = await db
		.prepare(
			`SELECT EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active') AS active,
			        EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3) AS has_line,
			        (SELECT max_per_customer FROM products WHERE product_id = ?2) AS max_per_customer,
			        ${countedSql(others)} AS counted,
			        ${LINE_QUANTITY} AS line_quantity`,
		)
		.bind(cartId, line.product_id, line.size)
		.first<{ active: number; has_line: number; max_per_customer: number | null; counted: number; line_quantity: number }>();
	if (!r?.active) return "cart_closed";
	const allowance = { product_id: line.product_id, limit: r.max_per_customer, already: Number(r.counted) };
	const lowering = others && line.quantity <= Number(r.line_quantity);
	if (!lowering && !withinLimit(allowance, line.quantity)) return { reason: "purchase_limit", excess: { product_id: line.product_id, limit: r.max_per_customer!, already: allowance.already, requested: line.quantity } };
	return r.has_line ? "line_full" : "cart_full";
}

/**
 * Adds to a line (or creates it) only while the line stays within `maxQuantity`,
 * the cart within `maxLines` lines, the product within its per-customer limit,
 * and the cart is still active.
 */
export async function addToLine(db: D1Database, cartId: string, line: CartLineRow, caps: { maxQuantity: number; maxLines: number }, now: string): Promise<LineRefusal | null> {
	const result = await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE ${LINE_ROOM} AND ${withinLimitSql(false)}
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = quantity + excluded.quantity
			 WHERE quantity + excluded.quantity <= ?7`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now, caps.maxLines, caps.maxQuantity)
		.run();
	return result.meta.changes > 0 ? null : refusal(db, cartId, line, false);
}

/**
 * Sets a line's quantity (0 removes it); a new line only while the cart has
 * fewer than `maxLines`; the product's other sizes plus this quantity within its limit.
 */
export async function setLine(db: D1Database, cartId: string, line: CartLineRow, maxLines: number, now: string): Promise<LineRefusal | null> {
	if (line.quantity === 0) {
		await removeLine(db, cartId, line);
		return null;
	}
	const result = await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE ${LINE_ROOM} AND ${withinLimitSql(true)}
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = excluded.quantity`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now, maxLines)
		.run();
	return result.meta.changes > 0 ? null : refusal(db, cartId, line, true);
}

export async function removeLine(db: D1Database, cartId: string, unit: { product_id: string; size: string }): Promise<void> {
	await db
		.prepare(`DELETE FROM cart_items WHERE cart_id = ? AND product_id = ? AND size = ? AND EXISTS (SELECT 1 FROM carts WHERE cart_id = cart_items.cart_id AND status = 'active')`)
		.bind(cartId, unit.product_id, unit.size)
		.run();
}

export async function setAddress(db: D1Database, cartId: string, address: Address, now: string): Promise<void> {
	await db.prepare(`UPDATE carts SET address = ?, updated_at = ? WHERE cart_id = ? AND status = 'active'`).bind(JSON.stringify(address), now, cartId).run();
}

export async function touchCart(db: D1Database, cartId: string, now: string): Promise<void> {
	await db.prepare(`UPDATE carts SET updated_at = ? WHERE cart_id = ?`).bind(now, cartId).run();
}
