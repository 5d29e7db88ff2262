/**
 * Adds up demand per unit, so that two lines drawing on the same unit are checked
 * together (each alone might fit; together they might not). Pure.
 */
import { unitKey, type Line } from "./types";

export function sumDemand(lines: readonly Line[]): Line[] {
	const byUnit = new Map<string, Line>();
	for (const line of lines) {
		const key = unitKey(line);
		const seen = byUnit.get(key);
		if (seen) seen.quantity += line.quantity;
		else byUnit.set(key, { product_id: line.product_id, size: line.size, quantity: line.quantity });
	}
	return [...byUnit.values()];
}

/** Bugs, not business outcomes: the gateway validates before calling a Warehouse. */
export function assertLines(lines: readonly Line[], what: string): void {
	if (!Array.isArray(lines) || lines.length === 0) throw new TypeError(`${what}: lines must be a non-empty array`);
	for (const l of lines) {
		if (typeof l.product_id !== "string" || typeof l.size !== "string" || !Number.isSafeInteger(l.quantity) || l.quantity <= 0) {
			throw new TypeError(`${what}: invalid line ${JSON.stringify(l)}`);
		}
	}
}
