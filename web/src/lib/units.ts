/**
 * A unit (a product in one size) as one string: the value of a unit picker's
 * options, the key of a keyed list and the `data-unit`/`data-line` attribute the
 * browser tests select on. Product ids never hold "|" (the API's pattern), so
 * the first "|" splits a key back into its unit whatever the size holds.
 */
import type { components } from "../api/schema";

export type Unit = Pick<components["schemas"]["StockItem"], "product_id" | "size">;

export function unitKey(u: Unit): string {
	return `${u.product_id}|${u.size}`;
}

export function unitOf(key: string): Unit {
	const at = key.indexOf("|");
	if (at < 0) throw new Error(`not a unit key: ${key}`);
	return { product_id: key.slice(0, at), size: key.slice(at + 1) };
}

export interface UnitChoice extends Unit {
	key: string;
	label: string;
}

/** Every size of every product, as the options of a unit picker. */
export function unitChoices(products: Pick<components["schemas"]["Product"], "product_id" | "name" | "sizes">[]): UnitChoice[] {
	return products.flatMap((p) => p.sizes.map((size) => ({ key: unitKey({ product_id: p.product_id, size }), product_id: p.product_id, size, label: `${p.name} (${p.product_id}) / ${size}` })));
}
