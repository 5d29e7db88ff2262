/**
 * Where a sharded unit's stock lives (shared by the gateway and the Warehouse
 * object): the warehouse's own object keeps the unit's pool and coordinates;
 * shard k of the unit is the same Warehouse class under a derived name. A hold
 * lives at the shard its reference hashes to, for the shard count it was made
 * with; a unit remembers every count it has had, so a hold is found after the
 * count changes.
 */
import type { Unit } from "./types";

export const MAX_SHARDS = 64;

const SEP = "#";

export function shardName(warehouseId: string, unit: Unit, shard: number): string {
	return [warehouseId, encodeURIComponent(unit.product_id), encodeURIComponent(unit.size), String(shard)].join(SEP);
}

export type ObjectRole = { kind: "warehouse"; warehouseId: string } | { kind: "shard"; warehouseId: string; unit: Unit; shard: number };

/** What an object's name says it is: a warehouse (its own stock and its sharded units' pools) or one shard of a unit. */
export function roleOf(name: string): ObjectRole {
	const parts = name.split(SEP);
	if (parts.length !== 4) return { kind: "warehouse", warehouseId: name };
	const shard = Number(parts[3]);
	if (!Number.isSafeInteger(shard) || shard < 0 || shard >= MAX_SHARDS) return { kind: "warehouse", warehouseId: name };
	return { kind: "shard", warehouseId: parts[0]!, unit: { product_id: decodeURIComponent(parts[1]!), size: decodeURIComponent(parts[2]!) }, shard };
}

/** FNV-1a of the reference: spreads orders evenly and is the same in every isolate. */
export function refHash(ref: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < ref.length; i++) {
		h ^= ref.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h;
}

/** The shard a new hold of `ref` goes to with `shards` shards (0 is also the index when there is one: the warehouse itself). */
export function shardOf(ref: string, shards: number): number {
	return refHash(ref) % shards;
}

/**
 * Every shard that may hold `ref` for a unit with these shard counts: one per
 * count greater than 1 (a count of 1 is the warehouse's own object).
 */
export function shardsHolding(ref: string, generations: readonly number[]): number[] {
	return [...new Set(generations.filter((s) => s > 1).map((s) => shardOf(ref, s)))].sort((a, b) => a - b);
}
