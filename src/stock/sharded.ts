/**
 * The gateway's side of units split over shard objects: which objects a
 * warehouse's checkout operation goes to. A unit with one shard (the usual
 * case) lives in the warehouse's own object, exactly as before. A sharded
 * unit's new holds go to the shard its reference hashes to; a commit, release
 * or cancel goes to the warehouse's object and to every shard that may hold
 * the reference (one per shard count the unit has had), and their answers are
 * merged. The shard counts come from the availability snapshot (the read cache),
 * read once per ROUTING_TTL_MS per warehouse, or at once after a write through
 * this isolate invalidated it; a commit that finds its hold nowhere asks again
 * with a fresh snapshot.
 */
import type { Env } from "../env";
import { isFresh, type AvailabilityCache } from "./cache";
import { availabilityClock, cacheOf, warehouseStub, type WarehouseStub } from "./client";
import { sumDemand } from "./demand";
import { shardName, shardOf, shardsHolding } from "./shardNames";
import type { CancelHoldResult, CommitResult, Level, Line, ReleaseResult, ReserveResult, Shortage, Unit } from "./types";
import { unitKey } from "./types";

export interface ShardedUnit extends Unit {
	shards: number;
	generations: number[];
}

function shardedOf(levels: Level[]): ShardedUnit[] {
	return levels
		.filter((l) => (l.shard_generations ?? []).some((g) => g > 1))
		.map((l) => ({ product_id: l.product_id, size: l.size, shards: l.shards ?? 1, generations: l.shard_generations ?? [1] }));
}

/**
 * How long this isolate routes by the shard counts it read. Counts out of date
 * are never wrong, only slower (see reserve), and change only when an admin
 * reshards: checkout should not refresh a snapshot every AVAILABILITY_TTL_MS
 * per warehouse only to learn that no unit is sharded. A reshard through this
 * isolate invalidates the snapshot, and with it the routing, at once.
 */
export const ROUTING_TTL_MS = 10_000;

interface Routing {
	/** When it was read (availabilityClock), and the cache's generation of the warehouse then. */
	at: number;
	generation: number;
	/** Shard count per unit key, only for units with more than one shard: empty for most warehouses. */
	shards: Map<string, number>;
	sharded: ShardedUnit[];
}

const routings = new WeakMap<AvailabilityCache, Map<string, Routing>>();

/** The warehouse's shard routing: derived once per snapshot read, kept ROUTING_TTL_MS or until the warehouse is invalidated. */
async function routingOf(env: Env, warehouseId: string, fresh = false): Promise<Routing> {
	const cache = cacheOf(env);
	let byWarehouse = routings.get(cache);
	if (!byWarehouse) routings.set(cache, (byWarehouse = new Map()));
	const kept = byWarehouse.get(warehouseId);
	const generation = cache.generation(warehouseId);
	const now = availabilityClock.now();
	if (!fresh && kept && kept.generation === generation && isFresh(kept.at, now, ROUTING_TTL_MS)) return kept;
	const levels = await cache.all(warehouseId, { fresh });
	const routing: Routing = {
		at: now,
		generation,
		shards: new Map(levels.filter((l) => (l.shards ?? 1) > 1).map((l) => [unitKey(l), l.shards!])),
		sharded: shardedOf(levels),
	};
	// An invalidation during the read leaves its answer unkept: the next caller reads again.
	if (cache.generation(warehouseId) === generation) byWarehouse.set(warehouseId, routing);
	return routing;
}

/** The warehouse's sharded units, from the routing (or fresh). */
export async function shardedUnits(env: Env, warehouseId: string, fresh = false): Promise<ShardedUnit[]> {
	return (await routingOf(env, warehouseId, fresh)).sharded;
}

/** The warehouse's object and every shard object that may hold `ref`. */
function holders(env: Env, warehouseId: string, ref: string, sharded: ShardedUnit[]): WarehouseStub[] {
	const names = new Set<string>();
	for (const u of sharded) for (const k of shardsHolding(ref, u.generations)) names.add(shardName(warehouseId, u, k));
	return [warehouseStub(env, warehouseId), ...[...names].map((n) => warehouseStub(env, n))];
}

export async function reserve(env: Env, warehouseId: string, ref: string, lines: Line[], ttlMs: number): Promise<ReserveResult> {
	const demand = sumDemand(lines);
	// The shard counts from the routing (ROUTING_TTL_MS). A count out of date is never wrong, only slower: the
	// warehouse's object sells a sharded unit from its pool and gathers from its shards before refusing, and a
	// shard of any count the unit has had sells exactly what it holds.
	const shardsOf = (await routingOf(env, warehouseId)).shards;
	const main = warehouseStub(env, warehouseId);
	if (shardsOf.size === 0) return main.reserve(ref, demand, ttlMs, { actor: "checkout" });
	const own = demand.filter((l) => !shardsOf.has(unitKey(l)));
	const sharded = demand.filter((l) => shardsOf.has(unitKey(l)));
	const shardStubs = sharded.map((l) => warehouseStub(env, shardName(warehouseId, l, shardOf(ref, shardsOf.get(unitKey(l))!))));
	const parts = sharded.map((l, i) => shardStubs[i]!.reserve(ref, [l], ttlMs, { actor: "checkout" }));
	const objects = [...(own.length > 0 ? [main] : []), ...shardStubs];
	const results = await Promise.all(own.length > 0 ? [main.reserve(ref, own, ttlMs, { actor: "checkout" }), ...parts] : parts);
	const merged = mergeReserves(results);
	// All or nothing, as one object's reserve is: the callers take a refusal to hold nothing, so the parts held go back now.
	if (!merged.ok) await Promise.all(objects.filter((_, i) => results[i]!.ok).map((o) => o.release(ref, { actor: "checkout" })));
	return merged;
}

/** One answer for the warehouse: held when every object held its part (the caller releases the warehouse otherwise). */
export function mergeReserves(results: ReserveResult[]): ReserveResult {
	const shortages: Shortage[] = [];
	for (const r of results) {
		if (r.ok) continue;
		if (r.reason !== "insufficient_stock") return r;
		shortages.push(...r.shortages);
	}
	if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
	const held = results as Extract<ReserveResult, { ok: true }>[];
	return {
		ok: true,
		state: held.every((r) => r.state === "committed") ? "committed" : "held",
		expires_at: Math.min(...held.map((r) => r.expires_at)),
		replayed: held.every((r) => r.replayed),
	};
}

/** Objects that do not know the hold are left out; a failure anywhere is the answer. */
export function mergeCommits(results: CommitResult[]): CommitResult {
	const known = results.filter((r) => r.ok || r.reason !== "unknown_hold");
	if (known.length === 0) return { ok: false, reason: "unknown_hold" };
	const failed = known.find((r) => !r.ok);
	if (failed) return failed;
	const ok = known as Extract<CommitResult, { ok: true }>[];
	return { ok: true, replayed: ok.every((r) => r.replayed), late: ok.some((r) => r.late) };
}

export async function commit(env: Env, warehouseId: string, ref: string, actor = "checkout"): Promise<CommitResult> {
	for (const fresh of [false, true]) {
		const sharded = await shardedUnits(env, warehouseId, fresh);
		const merged = mergeCommits(await Promise.all(holders(env, warehouseId, ref, sharded).map((s) => s.commit(ref, { actor }))));
		if (merged.ok || merged.reason !== "unknown_hold" || fresh) return merged;
	}
	throw new Error("unreachable");
}

/** Many decided orders at once: one commitMany at the warehouse's object and one at each shard that may hold some of them. */
export async function commitMany(env: Env, warehouseId: string, refs: string[], actor = "checkout"): Promise<Record<string, CommitResult>> {
	const sharded = await shardedUnits(env, warehouseId);
	if (sharded.length === 0) return warehouseStub(env, warehouseId).commitMany(refs, { actor });
	const byObject = new Map<string, string[]>([[warehouseId, refs]]);
	for (const ref of refs) {
		for (const u of sharded) {
			for (const k of shardsHolding(ref, u.generations)) {
				const name = shardName(warehouseId, u, k);
				byObject.set(name, [...(byObject.get(name) ?? []), ref]);
			}
		}
	}
	const answers = await Promise.all([...byObject].map(([name, rs]) => warehouseStub(env, name).commitMany(rs, { actor })));
	const out: Record<string, CommitResult> = {};
	for (const ref of refs) out[ref] = mergeCommits(answers.flatMap((a) => (ref in a ? [a[ref]!] : [])));
	// A hold no object knew may be at a shard this snapshot did not show yet: those few go one by one, fresh.
	for (const ref of refs) if (!out[ref]!.ok && (out[ref] as { reason: string }).reason === "unknown_hold") out[ref] = await commit(env, warehouseId, ref, actor);
	return out;
}

export async function release(env: Env, warehouseId: string, ref: string, actor = "checkout"): Promise<ReleaseResult> {
	const sharded = await shardedUnits(env, warehouseId);
	const results = await Promise.all(holders(env, warehouseId, ref, sharded).map((s) => s.release(ref, { actor })));
	return results.find((r) => !r.ok) ?? results.find((r) => r.ok && r.state === "released" && !r.replayed) ?? results[0]!;
}

/** Undoes the order's holds at the warehouse and at every shard that may hold it; their lines together. */
export async function cancelHold(env: Env, warehouseId: string, ref: string, actor: string, note?: string): Promise<CancelHoldResult> {
	const sharded = await shardedUnits(env, warehouseId);
	const results = await Promise.all(holders(env, warehouseId, ref, sharded).map((s) => s.cancelHold(ref, { actor, note })));
	const outcome = results.some((r) => r.outcome === "restocked") ? "restocked" : results.some((r) => r.outcome === "released") ? "released" : "nothing";
	return { ok: true, outcome, replayed: results.every((r) => r.replayed), lines: results.flatMap((r) => r.lines) };
}
