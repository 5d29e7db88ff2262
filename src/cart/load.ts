/**
 * Loads a user's active cart with its lines priced from the catalog: the one
 * read that the cart, summary and checkout endpoints share.
 */
import { getProducts } from "../catalog/queries";
import { activeCart, cartLines, type CartRow } from "./queries";
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
