/**
 * Loads a user's active cart with its lines priced from the catalog: the one
 * read that the cart, summary and checkout endpoints share. The cart and its
 * lines are in the customer's order shard, the catalog in DB, read through
 * the catalog snapshot (../catalog/snapshot.ts) and joined here.
 */
import { catalogForLines, type LineCatalog } from "../catalog/forLines";
import { readCatalog } from "../catalog/reads";
import type { Warehouse } from "../catalog/schema";
import type { Catalog } from "../catalog/snapshot";
import type { Env } from "../env";
import { customerDb } from "../orders/shards";
import { activeCart, cartLines, toCart, type CartLineRow, type CartRow } from "./queries";
import { priceLines, type PricedLine } from "./view";

export interface LoadedCart {
	cart: CartRow;
	lines: PricedLine[];
}

function priced(rows: CartLineRow[], lc: LineCatalog): PricedLine[] {
	return priceLines(rows, lc.products, lc.isActive);
}

/** The active cart (made on first use), priced from the catalog snapshot as product pages show it. */
export async function loadActiveCart(env: Env, userId: string): Promise<LoadedCart> {
	const { db } = customerDb(env, userId);
	const cart = await activeCart(db, userId, new Date().toISOString());
	const rows = await cartLines(db, cart.cart_id);
	const catalog = await readCatalog(env);
	return { cart, lines: priced(rows, await catalogForLines(catalog, env.DB, rows.map((r) => r.product_id))) };
}

export interface CheckoutContext {
	cart: CartRow | null;
	lines: PricedLine[];
	warehouses: Warehouse[];
	/** Per-customer limits of the products the lines count, from the same catalog that priced them. */
	limits: Map<string, number>;
}

type Row = Record<string, unknown>;

/**
 * Everything place-order reads before touching stock: the active cart and its
 * lines in one statement on the customer's shard (one row with no line for an
 * empty cart), priced from `catalog` (checkout's snapshot, ../checkout/catalog.ts),
 * with the active warehouses from that same snapshot. Does not create a cart
 * (an absent cart is simply empty).
 */
/** The context read: the customer's active cart with a row per line, one statement at the customer's shard. */
export function contextReadStmt(shard: D1Database, userId: string): D1PreparedStatement {
	return shard
		.prepare(
			`SELECT c.cart_id, c.user_id, c.status, c.address, c.version, c.created_at, c.updated_at,
			        i.product_id AS line_product_id, i.size AS line_size, i.quantity AS line_quantity
			 FROM carts c LEFT JOIN cart_items i ON i.cart_id = c.cart_id
			 WHERE c.user_id = ?1 AND c.status = 'active'
			 ORDER BY i.added_at, i.product_id, i.size`,
		)
		.bind(userId);
}

export async function loadCheckoutContext(shard: D1Database, catalogDb: D1Database, userId: string, catalog: Catalog): Promise<CheckoutContext> {
	const { results } = await contextReadStmt(shard, userId).all<Row>();
	const first = results[0];
	if (!first) return { cart: null, lines: [], warehouses: [], limits: new Map() };
	const rows = results
		.filter((r) => r.line_product_id !== null && r.line_product_id !== undefined)
		.map((r) => ({ product_id: String(r.line_product_id), size: String(r.line_size), quantity: Number(r.line_quantity) }));
	const lc = await catalogForLines(catalog, catalogDb, rows.map((r) => r.product_id));
	return { cart: toCart(first), lines: priced(rows, lc), warehouses: catalog.warehouses, limits: lc.limits };
}
