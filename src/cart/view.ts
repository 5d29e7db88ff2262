/**
 * Prices a cart's lines with the current catalog and shapes the Cart answer.
 * Pure: the caller loads the rows and products.
 */
import { sellable } from "../catalog/kits";
import type { Product } from "../catalog/schema";
import { toCents, toMajor } from "../shared/money";
import type { CartLineRow, CartRow } from "./queries";
import type { Cart } from "./schema";

export interface PricedLine extends CartLineRow {
	name: string;
	unit_price_cents: number;
	/** The line can be sold: its product is active and, for a kit, so is every component. */
	sellable: boolean;
	/** The product's per-customer limit (null: none). */
	max_per_customer: number | null;
	/** The product's kit components (null: a plain product). */
	components: Product["components"];
}

/** `isActive` answers for kit components (which need not be among `products`). */
export function priceLines(lines: CartLineRow[], products: Map<string, Product>, isActive: (productId: string) => boolean): PricedLine[] {
	return lines.map((l) => {
		const p = products.get(l.product_id);
		return {
			...l,
			name: p?.name ?? l.product_id,
			unit_price_cents: p ? toCents(p.price)! : 0,
			sellable: p ? sellable(p, isActive) : false,
			max_per_customer: p?.max_per_customer ?? null,
			components: p?.components ?? null,
		};
	});
}

export function subtotalCents(lines: PricedLine[]): number {
	return lines.reduce((sum, l) => sum + l.unit_price_cents * l.quantity, 0);
}

export function cartView(cart: CartRow, lines: PricedLine[], currency: string): Cart {
	return {
		cart_id: cart.cart_id,
		status: cart.status,
		items: lines.map((l) => ({
			product_id: l.product_id,
			size: l.size,
			name: l.name,
			quantity: l.quantity,
			unit_price: toMajor(l.unit_price_cents),
			line_total: toMajor(l.unit_price_cents * l.quantity),
		})),
		address: cart.address,
		subtotal: toMajor(subtotalCents(lines)),
		currency,
	};
}
