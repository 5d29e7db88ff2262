/**
 * D1 side of purchase limits: the per-customer counter of units in live orders
 * (customer_product_units) and the products' limits. Every order write moves
 * the counters with the one statement built here: the placement adds its units
 * (every product counted, a kit line as the kit and as its components, each
 * row stamped with its product's limit as `cap`, whose named CHECK
 * `purchase_limit` fails the decision batch past it); a cancellation takes the
 * same units back, in the same batch as the cancel.
 */
import { UNGATED, type Gate } from "../shared/gate";
import { orderedUnits, type Allowance } from "./rules";

type Row = Record<string, unknown>;

type OrderedLines = {
	user_id: string;
	products: ReadonlyArray<{ product_id: string; quantity: number; components?: ReadonlyArray<{ product_id: string; quantity: number }> | null }>;
};

/**
 * The order's units added to ("add") or taken back from ("give_back") its
 * customer's counters, one statement whatever the product count, only where
 * `gate` holds. Given back never below zero: a counter short of its orders must
 * not block a cancellation.
 */
export function countersStmt(db: D1Database, order: OrderedLines, move: "add" | "give_back", gate: Gate = UNGATED): D1PreparedStatement {
	const units = JSON.stringify([...orderedUnits(order.products)]);
	if (move === "add") {
		return db
			.prepare(
				`INSERT INTO customer_product_units (user_id, product_id, units, cap)
				 SELECT ?, json_extract(u.value, '$[0]'), json_extract(u.value, '$[1]'),
				        (SELECT max_per_customer FROM products WHERE product_id = json_extract(u.value, '$[0]'))
				 FROM json_each(?) u WHERE ${gate.sql}
				 ON CONFLICT (user_id, product_id) DO UPDATE SET units = units + excluded.units, cap = excluded.cap`,
			)
			.bind(order.user_id, units, ...gate.binds);
	}
	return db
		.prepare(
			`UPDATE customer_product_units
			 SET units = MAX(units - (SELECT json_extract(u.value, '$[1]') FROM json_each(?) u WHERE json_extract(u.value, '$[0]') = customer_product_units.product_id), 0)
			 WHERE user_id = ? AND product_id IN (SELECT json_extract(u.value, '$[0]') FROM json_each(?) u) AND ${gate.sql}`,
		)
		.bind(units, order.user_id, units, ...gate.binds);
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
