/**
 * Loads a user's active cart with its lines priced from the catalog: the one
 * read that the cart, summary and checkout endpoints share.
 */
import { getProducts, toProduct, toWarehouse } from "../catalog/queries";
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
	return { cart, lines: priceLines(rows, products) };
}

export interface CheckoutContext {
	cart: CartRow | null;
	lines: PricedLine[];
	warehouses: Warehouse[];
}

type Row = Record<string, unknown>;

/**
 * Everything place-order reads from D1 before touching stock, in one round trip
 * of two statements (a batch pays per statement): the active cart with the
 * active warehouses folded in as JSON (without a cart they are not needed),
 * and its lines each joined with its product. Does not create a cart (an
 * absent cart is simply empty).
 */
export async function loadCheckoutContext(db: D1Database, userId: string): Promise<CheckoutContext> {
	const [carts, lines] = await db.batch<Row>([
		db
			.prepare(
				`SELECT c.*, (SELECT json_group_array(json_object('warehouse_id', warehouse_id, 'name', name, 'postal_code', postal_code, 'region', region, 'country', country, 'active', active))
				              FROM (SELECT * FROM warehouses WHERE active = 1 ORDER BY warehouse_id)) AS active_warehouses
				 FROM carts c WHERE c.user_id = ?1 AND c.status = 'active'`,
			)
			.bind(userId),
		db
			.prepare(
				`SELECT i.product_id AS line_product_id, i.size AS line_size, i.quantity AS line_quantity, p.*
				 FROM cart_items i LEFT JOIN products p ON p.product_id = i.product_id
				 WHERE i.cart_id = (SELECT cart_id FROM carts WHERE user_id = ?1 AND status = 'active')
				 ORDER BY i.added_at, i.product_id, i.size`,
			)
			.bind(userId),
	]);
	const cartRow = carts!.results[0];
	if (!cartRow) return { cart: null, lines: [], warehouses: [] };
	const rows = lines!.results.map((r) => ({ product_id: String(r.line_product_id), size: String(r.line_size), quantity: Number(r.line_quantity) }));
	const byId = new Map(lines!.results.filter((r) => r.product_id !== null && r.product_id !== undefined).map((r) => [String(r.product_id), toProduct(r)]));
	const warehouses = (JSON.parse(String(cartRow.active_warehouses ?? "[]")) as Row[]).map(toWarehouse);
	return { cart: toCart(cartRow), lines: priceLines(rows, byId), warehouses };
}
