/**
 * Purchase limits, pure. A product's `max_per_customer` bounds the units of it
 * (all sizes together) one customer holds in live orders plus the active cart.
 * A kit line counts as its kit's units and as each component's units (a kit of
 * one limited sneaker bought 3 times is 3 sneakers), so a kit cannot carry a
 * customer past a component's limit.
 * `already` is what counts before the request, `requested` what it adds; the
 * request passes when already + requested <= limit (or there is no limit).
 */

export interface Allowance {
	product_id: string;
	/** null: no limit. */
	limit: number | null;
	/** Units already counted against the limit (live orders, and cart lines the request leaves in place). */
	already: number;
}

/** One product a request would take past its limit: the contract's `details` entry. */
export interface LimitExcess {
	product_id: string;
	limit: number;
	already: number;
	requested: number;
}

/** Units per product over lines of any sizes, in first-seen order. */
export function unitsByProduct(lines: ReadonlyArray<{ product_id: string; quantity: number }>): Map<string, number> {
	const out = new Map<string, number>();
	for (const l of lines) out.set(l.product_id, (out.get(l.product_id) ?? 0) + l.quantity);
	return out;
}

/** A kit line's components as the cart knows them: units per kit. */
interface PerKit {
	product_id: string;
	quantity: number;
}

/** Units counted per product over cart lines: each line's product, and a kit line's components times its quantity. */
export function countedUnits(lines: ReadonlyArray<{ product_id: string; quantity: number; components?: ReadonlyArray<PerKit> | null }>): Map<string, number> {
	return unitsByProduct(lines.flatMap((l) => [l, ...(l.components ?? []).map((c) => ({ product_id: c.product_id, quantity: c.quantity * l.quantity }))]));
}

/** Units counted per product over an order's lines, whose kit components carry the line's units already multiplied. */
export function orderedUnits(products: ReadonlyArray<{ product_id: string; quantity: number; components?: ReadonlyArray<PerKit> | null }>): Map<string, number> {
	return unitsByProduct(products.flatMap((l) => [l, ...(l.components ?? [])]));
}

/** Whether adding `requested` units to an allowance stays within its limit. */
export function withinLimit(a: Allowance, requested: number): boolean {
	return a.limit === null || a.already + requested <= a.limit;
}

/** The products of `requested` (units per product) that would pass their limit; a product without an allowance has none. */
export function excesses(requested: ReadonlyMap<string, number>, allowances: ReadonlyMap<string, Allowance>): LimitExcess[] {
	const out: LimitExcess[] = [];
	for (const [product_id, units] of requested) {
		const a = allowances.get(product_id);
		if (!a || a.limit === null || withinLimit(a, units)) continue;
		out.push({ product_id, limit: a.limit, already: a.already, requested: units });
	}
	return out;
}

/**
 * Whether these lines may meet a limit at all (none: nothing to read or check):
 * a line's product has one, or a line is a kit (its components' limits are read).
 */
export function anyLimited(lines: ReadonlyArray<{ max_per_customer: number | null; components?: ReadonlyArray<unknown> | null }>): boolean {
	return lines.some((l) => l.max_per_customer !== null || (l.components?.length ?? 0) > 0);
}
