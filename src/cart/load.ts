/**
 * Loads a user's active cart with its lines priced from the catalog: the one
 * read that the cart, summary and checkout endpoints share.
 */
import { getProducts, inactiveProducts, toProduct, toWarehouse } from "../catalog/queries";
import type { Warehouse } from "../catalog/schema";
import { activeCart, cartLines, toCart, type CartRow } from "./queries";
import { priceLines, type PricedLine } from "./view";

export interface LoadedCart {
	cart: CartRow;
	lines: PricedLine[];
}

export async function loadActiveCart(db: D1Database, userId: string): Promise<LoadedCart> {
	const cart = await activeCart(db, userId, new Date().toISOString());
	const rows = await cartLines(db, cart.cart_id);
	const products = await getProducts(
		db,
		rows.map((r) => r.product_id),
	);
	const inactive = await inactiveProducts(
		db,
		[...products.values()].flatMap((p) => (p.components ?? []).map((c) => c.product_id)),
	);
	return { cart, lines: priceLines(rows, products, (id) => !inactive.has(id)) };
}

export interface CheckoutContext {
	cart: CartRow | null;
	lines: PricedLine[];
	warehouses: Warehouse[];
}

type Row = Record<string, unknown>;

/**
 * Everything place-order reads from D1 before touching stock, in one statement
 * (a batch pays per statement): the active cart, a row per line joined with its
 * product and its kit components that are not active (one row with no line for
 * an empty cart), and the active warehouses folded in as JSON (without a cart they are not needed). Does not create a
 * cart (an absent cart is simply empty).
 */
export async function loadCheckoutContext(db: D1Database, userId: string): Promise<CheckoutContext> {
	const { results } = await db
		.prepare(
			`SELECT c.cart_id, c.user_id, c.status, c.address, c.version, c.created_at, c.updated_at,
			        (SELECT json_group_array(json_object('warehouse_id', warehouse_id, 'name', name, 'postal_code', postal_code, 'region', region, 'country', country, 'active', active))
			         FROM (SELECT * FROM warehouses WHERE active = 1 ORDER BY warehouse_id)) AS active_warehouses,
			        i.product_id AS line_product_id, i.size AS line_size, i.quantity AS line_quantity,
			        p.product_id AS p_product_id, p.name AS p_name, p.price_cents AS p_price_cents, p.sizes AS p_sizes, p.active AS p_active,
			        p.max_per_customer AS p_max_per_customer, p.components AS p_components,
			        (SELECT json_group_array(json_extract(c.value, '$.product_id')) FROM json_each(p.components) c
			         WHERE NOT EXISTS (SELECT 1 FROM products cp WHERE cp.product_id = json_extract(c.value, '$.product_id') AND cp.active = 1)) AS p_inactive_components
			 FROM carts c
			 LEFT JOIN cart_items i ON i.cart_id = c.cart_id
			 LEFT JOIN products p ON p.product_id = i.product_id
			 WHERE c.user_id = ?1 AND c.status = 'active'
			 ORDER BY i.added_at, i.product_id, i.size`,
		)
		.bind(userId)
		.all<Row>();
	const first = results[0];
	if (!first) return { cart: null, lines: [], warehouses: [] };
	const withLines = results.filter((r) => r.line_product_id !== null && r.line_product_id !== undefined);
	const rows = withLines.map((r) => ({ product_id: String(r.line_product_id), size: String(r.line_size), quantity: Number(r.line_quantity) }));
	const byId = new Map(
		withLines
			.filter((r) => r.p_product_id !== null && r.p_product_id !== undefined)
			.map((r) => [
				String(r.p_product_id),
				toProduct({ product_id: r.p_product_id, name: r.p_name, price_cents: r.p_price_cents, sizes: r.p_sizes, active: r.p_active, max_per_customer: r.p_max_per_customer, components: r.p_components }),
			]),
	);
	const inactive = new Set(withLines.flatMap((r) => JSON.parse(String(r.p_inactive_components ?? "[]")) as string[]));
	const warehouses = (JSON.parse(String(first.active_warehouses ?? "[]")) as Row[]).map(toWarehouse);
	return { cart: toCart(first), lines: priceLines(rows, byId, (id) => !inactive.has(id)), warehouses };
}
