/**
 * Available units per size of a listed product, from per-warehouse levels. Pure:
 * the levels come from the availability cache, the catalog from its own cache.
 * - a plain product: each size's available units, summed over the warehouses;
 * - a kit: whole kits per warehouse (its components must ship together to count),
 *   summed; 0 while any component is off sale (a kit with one is not sold).
 */
import { unitKey, type Level, type Unit } from "../stock/types";
import { kitAvailable, sellable } from "./kits";
import type { Product } from "./schema";

/** The units a product's availability is read from: its sizes, or a kit's components. */
export function unitsOf(product: Product): Unit[] {
	if (product.components) return product.components.map(({ product_id, size }) => ({ product_id, size }));
	return product.sizes.map((size) => ({ product_id: product.product_id, size }));
}

/** The units of all these products, each once. */
export function unitsOfAll(products: readonly Product[]): Unit[] {
	const byKey = new Map<string, Unit>();
	for (const p of products) for (const u of unitsOf(p)) byKey.set(unitKey(u), u);
	return [...byKey.values()];
}

/** Per warehouse, available units by unit key (what `availabilityOf` reads). */
export function availableByWarehouse(perWarehouse: ReadonlyMap<string, Level[]>): Map<string, Map<string, number>> {
	return new Map([...perWarehouse].map(([id, levels]) => [id, new Map(levels.map((l) => [unitKey(l), l.available]))]));
}

/**
 * `{ [size]: units }` for the product, over the warehouses in `available`.
 * `isActive` tells whether a product is on sale (a kit's components).
 */
export function availabilityOf(product: Product, available: ReadonlyMap<string, ReadonlyMap<string, number>>, isActive: (productId: string) => boolean): Record<string, number> {
	if (product.components) {
		const size = product.sizes[0]!;
		if (!sellable(product, isActive)) return { [size]: 0 };
		let kits = 0;
		for (const byUnit of available.values()) kits += kitAvailable(product.components, (u) => byUnit.get(unitKey(u)) ?? 0);
		return { [size]: kits };
	}
	const out: Record<string, number> = {};
	for (const size of product.sizes) {
		const key = unitKey({ product_id: product.product_id, size });
		let sum = 0;
		for (const byUnit of available.values()) sum += byUnit.get(key) ?? 0;
		out[size] = sum;
	}
	return out;
}
