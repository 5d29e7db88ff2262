/**
 * Purchase limits, pure. A product's `max_per_customer` bounds the units of it
 * (all sizes together) one customer holds in live orders plus the active cart.
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

/** Whether any of these lines' products has a limit at all (no limit: nothing to read or check). */
export function anyLimited(lines: ReadonlyArray<{ max_per_customer: number | null }>): boolean {
	return lines.some((l) => l.max_per_customer !== null);
}
