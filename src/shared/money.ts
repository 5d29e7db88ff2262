/**
 * Money crosses the API as a number in major units with at most two decimals
 * and lives everywhere else as integer minor units (cents). Pure.
 */

/** 25.98 -> 2598; undefined when the value has more than two decimals or is out of range. */
export function toCents(major: number): number | undefined {
	if (!Number.isFinite(major) || major < 0 || major > 1e10) return undefined;
	const cents = Math.round(major * 100);
	return Math.abs(cents - major * 100) < 1e-6 ? cents : undefined;
}

export function toMajor(cents: number): number {
	return cents / 100;
}

/** Half-up rounding of a non-negative amount of cents times a rate. */
export function percentOf(cents: number, rate: number): number {
	// Work in integer millionths of the rate so 0.1 * 1005 does not become 100.49999.
	const micros = Math.round(rate * 1_000_000);
	return Math.floor((cents * micros + 500_000) / 1_000_000);
}
