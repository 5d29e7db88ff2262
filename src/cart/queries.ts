/**
 * D1 queries for carts. One active cart per user (a partial unique index);
 * completed carts are kept.
 */
import type { Address } from "./schema";

export interface CartRow {
	cart_id: string;
	user_id: string;
	status: "active" | "completed";
	address: Address | null;
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
 * Adds to a line (or creates it) only while the result stays within `max` and the
 * cart is still active; false when the cap would be passed.
 */
export async function addToLine(db: D1Database, cartId: string, line: CartLineRow, max: number, now: string): Promise<boolean> {
	const result = await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active')
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = quantity + excluded.quantity
			 WHERE quantity + excluded.quantity <= ?6`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now, max)
		.run();
	return result.meta.changes > 0;
}

export async function setLine(db: D1Database, cartId: string, line: CartLineRow, now: string): Promise<void> {
	if (line.quantity === 0) return removeLine(db, cartId, line);
	await db
		.prepare(
			`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
			 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'active')
			 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = excluded.quantity`,
		)
		.bind(cartId, line.product_id, line.size, line.quantity, now)
		.run();
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
