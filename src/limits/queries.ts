/**
 * D1 side of purchase limits: the per-customer counter of units in live orders
 * (customer_product_units) and the products' limits. A new order adds its units
 * through its insert's trigger (migration 0012: every product counted, a kit
 * line as the kit and as its components, each row stamped with its product's
 * limit as `cap`, whose named CHECK fails the checkout decision past it); a
 * cancellation takes the same units back with the statements returned here, in
 * the same batch as the cancel.
 */
import { orderedUnits, type Allowance } from "./rules";

type Row = Record<string, unknown>;

/**
 * Takes a cancelled order's units back, only where `gate` holds (the cancel's
 * change-id condition, so a cancel that lost its race gives nothing back).
 * Never below zero: a counter short of its orders must not block a cancellation.
 */
export function giveBackStmts(
	db: D1Database,
	order: { user_id: string; products: ReadonlyArray<{ product_id: string; quantity: number; components?: ReadonlyArray<{ product_id: string; quantity: number }> | null }> },
	gate: { sql: string; binds: unknown[] },
): D1PreparedStatement[] {
	return [...orderedUnits(order.products)].map(([productId, units]) =>
		db
			.prepare(`UPDATE customer_product_units SET units = MAX(units - ?, 0) WHERE user_id = ? AND product_id = ? AND ${gate.sql}`)
			.bind(units, order.user_id, productId, ...gate.binds),
	);
}

/** The batch failed because a counter would pass its cap. */
export function isPurchaseLimitError(err: unknown): boolean {
	const msg = err instanceof Error ? err.message : String(err);
	return /CHECK constraint failed: purchase_limit/.test(msg);
}

/** Per product: its limit and the customer's units in live orders (the cart is the caller's to add). */
export async function orderedAllowances(db: D1Database, userId: string, productIds: string[]): Promise<Map<string, Allowance>> {
	const ids = [...new Set(productIds)];
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(
			`SELECT p.product_id, p.max_per_customer, COALESCE(c.units, 0) AS units
			 FROM products p LEFT JOIN customer_product_units c ON c.user_id = ?1 AND c.product_id = p.product_id
			 WHERE p.product_id IN (SELECT value FROM json_each(?2))`,
		)
		.bind(userId, JSON.stringify(ids))
		.all<Row>();
	return new Map(
		results.map((r) => [
			String(r.product_id),
			{ product_id: String(r.product_id), limit: r.max_per_customer === null ? null : Number(r.max_per_customer), already: Number(r.units) },
		]),
	);
}
