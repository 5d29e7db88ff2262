/**
 * D1 side of purchase limits: the per-customer counter of units in live orders
 * (customer_product_units, in the customer's order shard) and the products'
 * limits (the catalog, in DB). Every order write moves the counters with the
 * one statement built here: the placement adds its units (every product
 * counted, a kit line as the kit and as its components, each row stamped with
 * its product's limit as `cap`, given by the caller from the catalog that
 * priced the order, whose named CHECK `purchase_limit` fails the decision
 * batch past it); a cancellation takes the same units back, in the same batch
 * as the cancel.
 */
import { UNGATED, type Gate } from "../shared/gate";
import { orderedUnits, type Allowance } from "./rules";

type Row = Record<string, unknown>;

type OrderedLines = {
	user_id: string;
	products: ReadonlyArray<{ product_id: string; quantity: number; components?: ReadonlyArray<{ product_id: string; quantity: number }> | null }>;
};

/** Per-customer limits by product id, from the catalog; a product absent has none. */
export type Limits = ReadonlyMap<string, number>;

/**
 * The order's units added to ("add", each row capped by `limits`) or taken
 * back from ("give_back") its customer's counters, one statement whatever the
 * product count, only where `gate` holds. Given back never below zero: a
 * counter short of its orders must not block a cancellation.
 */
export function countersStmt(db: D1Database, order: OrderedLines, move: "add" | "give_back", gate: Gate = UNGATED, limits: Limits = new Map()): D1PreparedStatement {
	const counted = [...orderedUnits(order.products)];
	const units = JSON.stringify(counted);
	if (move === "add") {
		const capped = JSON.stringify(counted.map(([productId, n]) => [productId, n, limits.get(productId) ?? null]));
		return db
			.prepare(
				`INSERT INTO customer_product_units (user_id, product_id, units, cap)
				 SELECT ?, json_extract(u.value, '$[0]'), json_extract(u.value, '$[1]'), json_extract(u.value, '$[2]')
				 FROM json_each(?) u WHERE ${gate.sql}
				 ON CONFLICT (user_id, product_id) DO UPDATE SET units = units + excluded.units, cap = excluded.cap`,
			)
			.bind(order.user_id, capped, ...gate.binds);
	}
	return db
		.prepare(
			`UPDATE customer_product_units
			 SET units = MAX(units - (SELECT json_extract(u.value, '$[1]') FROM json_each(?) u WHERE json_extract(u.value, '$[0]') = customer_product_units.product_id), 0)
			 WHERE user_id = ? AND product_id IN (SELECT json_extract(u.value, '$[0]') FROM json_each(?) u) AND ${gate.sql}`,
		)
		.bind(units, order.user_id, units, ...gate.binds);
}

/** Per product: its limit (from `limits`) and the customer's units in live orders, read from the customer's shard (the cart is the caller's to add). */
export async function orderedAllowances(db: D1Database, userId: string, productIds: string[], limits: Limits): Promise<Map<string, Allowance>> {
	const ids = [...new Set(productIds)];
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT product_id, units FROM customer_product_units WHERE user_id = ?1 AND product_id IN (SELECT value FROM json_each(?2))`)
		.bind(userId, JSON.stringify(ids))
		.all<Row>();
	const units = new Map(results.map((r) => [String(r.product_id), Number(r.units)]));
	return new Map(ids.map((id) => [id, { product_id: id, limit: limits.get(id) ?? null, already: units.get(id) ?? 0 }]));
}

/**
 * What a cart line's units count against, for the cart's limit check in its
 * own shard (../cart/queries.ts): each limited product one unit of it counts
 * as (itself, a kit's components) with its limit and units per unit of the
 * line (`caps`: [limited, limit, per unit]), and every product whose cart
 * lines count toward those (`weights`: [limited, product, units per unit]:
 * the product itself and each kit holding it). One catalog read, in DB.
 */
export interface LineLimits {
	caps: Array<[string, number, number]>;
	weights: Array<[string, string, number]>;
}

export async function lineLimits(catalogDb: D1Database, productId: string): Promise<LineLimits> {
	const { results } = await catalogDb
		.prepare(
			`WITH asked(q, per) AS (
			   SELECT ?1, 1
			   UNION ALL
			   SELECT json_extract(c.value, '$.product_id'), json_extract(c.value, '$.quantity') FROM products k, json_each(k.components) c WHERE k.product_id = ?1),
			 limited AS (SELECT a.q, p.max_per_customer AS lim, SUM(a.per) AS per FROM asked a JOIN products p ON p.product_id = a.q WHERE p.max_per_customer IS NOT NULL GROUP BY a.q)
			 SELECT l.q, l.lim, l.per, l.q AS p, 1 AS f FROM limited l
			 UNION ALL
			 SELECT l.q, l.lim, l.per, k.product_id, json_extract(c.value, '$.quantity')
			 FROM limited l, products k, json_each(k.components) c WHERE k.components IS NOT NULL AND json_extract(c.value, '$.product_id') = l.q`,
		)
		.bind(productId)
		.all<{ q: string; lim: number; per: number; p: string; f: number }>();
	const caps = new Map<string, [string, number, number]>();
	for (const r of results) caps.set(String(r.q), [String(r.q), Number(r.lim), Number(r.per)]);
	return { caps: [...caps.values()], weights: results.map((r) => [String(r.q), String(r.p), Number(r.f)]) };
}
