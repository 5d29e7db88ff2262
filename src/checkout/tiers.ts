/**
 * Delivery tiers: how close a warehouse is to a delivery address. Pure.
 *
 * tier_1: same postal area (first three characters of the postal code, spaces
 *         removed, case-insensitive; a shorter code compares whole) and same country.
 * tier_2: same region (trimmed, case-insensitive) and same country.
 * tier_3: anything else.
 * A blank postal code or region never matches: two unknowns are not "close".
 */

export type Tier = "tier_1" | "tier_2" | "tier_3";

/** Best first. */
export const TIERS: readonly Tier[] = ["tier_1", "tier_2", "tier_3"];

export interface Place {
	postal_code: string;
	region: string;
	country: string;
}

/** Lower is better; used to sort and compare tiers. */
export function tierRank(tier: Tier): number {
	return TIERS.indexOf(tier);
}

function postalArea(code: string): string {
	const compact = code.replace(/\s+/g, "").toUpperCase();
	return compact.slice(0, 3);
}

function norm(value: string): string {
	return value.trim().toUpperCase();
}

export function tierFor(warehouse: Place, address: Place): Tier {
	const country = norm(warehouse.country);
	if (country === "" || country !== norm(address.country)) return "tier_3";
	const area = postalArea(warehouse.postal_code);
	if (area !== "" && area === postalArea(address.postal_code)) return "tier_1";
	const region = norm(warehouse.region);
	if (region !== "" && region === norm(address.region)) return "tier_2";
	return "tier_3";
}

/** A split order is only as fast as its slowest warehouse. */
export function worstTier(tiers: readonly Tier[]): Tier {
	if (tiers.length === 0) throw new TypeError("worstTier: no tiers given");
	let worst = tiers[0]!;
	for (const t of tiers) if (tierRank(t) > tierRank(worst)) worst = t;
	return worst;
}
