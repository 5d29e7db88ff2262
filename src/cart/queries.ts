/**
 * D1 queries for carts, in the customer's order shard. One active cart per
 * user (a partial unique index); completed carts are kept. What they need of
 * the catalog (limits, kits) is given by the caller.
 */
import type { LineLimits } from "../limits/queries";
import { excesses, type LimitExcess } from "../limits/rules";
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
 * would pass the cart's line cap, a per-customer limit would be passed (all
 * checked in the same statement, so two concurrent changes cannot both take the
 * last free line or unit), or the cart was checked out.
 */
export type LineRefusal = "line_full" | "cart_full" | "cart_closed" | { reason: "purchase_limit"; excesses: LimitExcess[] };

/** The row to insert exists only while the cart is active and has room for it (or already has the line). */
const LINE_ROOM = `EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active')
	 AND (EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3)
	      OR (SELECT COUNT(*) FROM cart_items WHERE cart_id = ?1) < ?6)`;

/**
 * One row per limited product that ?4 units of product ?2 count against, from
 * `limits` (../limits/queries.ts lineLimits, bound as JSON at ?<caps> and
 * ?<weights>): `requested`, its limit `lim`, and `already`, the units of it
 * counted for the cart's owner: live orders (the shard's counters) plus the
 * cart's lines (a kit line as its kit and its components), without line
 * (?2, ?3) when `others` (a set replaces that line).
 */
function limitRowsSql(others: boolean, caps: number, weights: number): string {
	const skip = others ? ` AND NOT (i.product_id = ?2 AND i.size = ?3)` : "";
	return `SELECT json_extract(r.value, '$[0]') AS product_id, ?4 * json_extract(r.value, '$[2]') AS requested, json_extract(r.value, '$[1]') AS lim,
	   COALESCE((SELECT units FROM customer_product_units WHERE product_id = json_extract(r.value, '$[0]') AND user_id = (SELECT user_id FROM carts WHERE cart_id = ?1)), 0)
	   + COALESCE((SELECT SUM(i.quantity * json_extract(w.value, '$[2]')) FROM cart_items i, json_each(?${weights}) w
	               WHERE i.cart_id = ?1${skip} AND json_extract(w.value, '$[0]') = json_extract(r.value, '$[0]') AND json_extract(w.value, '$[1]') = i.product_id), 0) AS already
	 FROM json_each(?${caps}) r`;
}

/** The line's current quantity (0 when absent). */
const LINE_QUANTITY = `COALESCE((SELECT quantity FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3), 0)`;

/**
 * Every limit the line's units count against still holds with ?4 more units on
 * top of what is counted. For a set (`others`), lowering a line is always
 * allowed: a cart over a limit lowered since must be able to come back under it.
 */
function withinLimitSql(others: boolean, caps: number, weights: number): string {
	return `(NOT EXISTS (SELECT 1 FROM (${limitRowsSql(others, caps, weights)}) WHERE lim IS NOT NULL AND already + requested > lim)${others ? `
	     OR ?4 <= ${LINE_QUANTITY}` : ""})`;
}

async function refusal(db: D1Database, cartId: string, line: CartLineRow, others: boolean, limits: LineLimits): Promise<LineRefusal> {
	const r = await db
		.prepare(
			`SELECT EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active') AS active,
			        EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ?1 AND product_id = ?2 AND size = ?3) AS has_line,
			        ${LINE_QUANTITY} AS line_quantity`,
		)
		.bind(cartId, line.product_id, line.size)
		.first<{ active: number; has_line: number; line_quantity: number }>();
	if (!r?.active) return "cart_closed";
	const lowering = others && line.quantity <= Number(r.line_quantity);
	if (!lowering) {
		const { results } = await db
			.prepare(limitRowsSql(others, 5, 6))
			.bind(cartId, line.product_id, line.size, line.quantity, JSON.stringify(limits.caps), JSON.stringify(limits.weights))
			.all<{ product_id: string; requested: number; lim: number | null; already: number }>();
		const requested = new Map(results.map((x) => [String(x.product_id), Number(x.requested)]));
		const allowances = new Map(
			results.map((x) => [String(x.product_id), { product_id: String(x.product_id), limit: x.lim === null ? null : Number(x.lim), already: Number(x.already) }]),
		);
		const over = excesses(requested, allowances);
		if (over.length > 0) return { reason: "purchase_limit", excesses: over };
	}
	return r.has_line ? "line_full" : "cart_full";
}

/**
 * Adds to a line (or creates it) only while the line stays within `maxQuantity`,
 * the cart within `maxLines` lines, every product it counts against (a kit's
 * components too, per `limits`) within its per-customer limit, and the cart is still active.
 */
export async function addToLine(db: D1Database, cartId: string, line: CartLineRow, caps: { maxQuantity: number; maxLines: number }, now: string, limits: LineLimits): Promise<LineRefusal | null> {
	const result = await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE ${LINE_ROOM} AND ${withinLimitSql(false, 8, 9)}
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = quantity + excluded.quantity
			 WHERE quantity + excluded.quantity <= ?7`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now, caps.maxLines, caps.maxQuantity, JSON.stringify(limits.caps), JSON.stringify(limits.weights))
		.run();
	return result.meta.changes > 0 ? null : refusal(db, cartId, line, false, limits);
}

/**
 * Sets a line's quantity (0 removes it); a new line only while the cart has
 * fewer than `maxLines`; the other lines plus this quantity within every limit it counts against.
 */
export async function setLine(db: D1Database, cartId: string, line: CartLineRow, maxLines: number, now: string, limits: LineLimits): Promise<LineRefusal | null> {
	if (line.quantity === 0) {
		await removeLine(db, cartId, line);
		return null;
	}
	const result = await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE ${LINE_ROOM} AND ${withinLimitSql(true, 7, 8)}
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = excluded.quantity`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now, maxLines, JSON.stringify(limits.caps), JSON.stringify(limits.weights))
		.run();
	return result.meta.changes > 0 ? null : refusal(db, cartId, line, true, limits);
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
