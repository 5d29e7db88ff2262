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
 * Everything place-order reads from D1 before touching stock, in one round trip:
 * the active cart, its lines, their products and the active warehouses. Does not
 * create a cart (an absent cart is simply empty).
 */
export async function loadCheckoutContext(db: D1Database, userId: string): Promise<CheckoutContext> {
	const active = `SELECT cart_id FROM carts WHERE user_id = ?1 AND status = 'active'`;
	const [carts, items, products, warehouses] = await db.batch<Row>([
		db.prepare(`SELECT * FROM carts WHERE user_id = ?1 AND status = 'active'`).bind(userId),
		db.prepare(`SELECT product_id, size, quantity FROM cart_items WHERE cart_id = (${active}) ORDER BY added_at, product_id, size`).bind(userId),
		db.prepare(`SELECT * FROM products WHERE product_id IN (SELECT product_id FROM cart_items WHERE cart_id = (${active}))`).bind(userId),
		db.prepare(`SELECT * FROM warehouses WHERE active = 1 ORDER BY warehouse_id`),
	]);
	const cartRow = carts!.results[0];
	const rows = items!.results.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.quantity) }));
	const byId = new Map(products!.results.map((r) => [String(r.product_id), toProduct(r)]));
	return { cart: cartRow ? toCart(cartRow) : null, lines: priceLines(rows, byId), warehouses: warehouses!.results.map(toWarehouse) };
}
