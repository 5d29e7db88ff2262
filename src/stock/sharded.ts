/**
 * The gateway's side of units split over shard objects: which objects a
 * warehouse's checkout operation goes to. A unit with one shard (the usual
 * case) lives in the warehouse's own object, exactly as before. A sharded
 * unit's new holds go to the shard its reference hashes to. A commit, release
 * or cancel goes where the order's units at this warehouse can be held: the
 * warehouse's object only if one of them is sold there, each sharded one's
 * shard for every count it has had; so a window of orders only on a sharded
 * unit never reaches its pool. A caller that knows only the reference (the
 * reconciler) asks the warehouse's object and every shard that may hold it.
 * The shard counts come from the availability snapshot (the read cache), read
 * once per ROUTING_TTL_MS per warehouse, or at once after a write through this
 * isolate invalidated it. When the answers do not account for the order
 * (nobody knew it, or a sharded unit's shards did not), a commit, release or
 * cancel looks again: a fresh snapshot's shards and the warehouse's object,
 * which holds what was reserved under an out-of-date count. A release or
 * cancel that reached the warehouse's object looks again too when a sharded
 * unit's shards did not know the order (or, for a cancel, when the lines
 * found lack one of its units): off the hot path, a count changed elsewhere
 * must not leave a hold behind.
 */
import type { Env } from "../env";
import { isFresh, type AvailabilityCache } from "./cache";
import { availabilityClock, cacheOf, warehouseStub } from "./client";
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

/** An object that may hold `ref` at the warehouse, and the sharded units (keys) it stands for; none for the warehouse's own object. */
export interface Target {
	name: string;
	units: string[];
}

/**
 * Pure: the objects a commit, release or cancel of `ref` goes to first. With
 * the units the order has at this warehouse, the warehouse's own object only
 * when one of them is sold there (not sharded, or folded back to one shard),
 * and each sharded one's shard for every count it has had. Without them (a
 * caller that knows only the reference), the warehouse's object and every
 * sharded unit's shards.
 */
export function targetsOf(warehouseId: string, ref: string, units: readonly Unit[] | undefined, sharded: readonly ShardedUnit[]): Target[] {
	const byKey = new Map(sharded.map((u) => [unitKey(u), u]));
	const wanted = units ? [...new Set(units.map(unitKey))] : [...byKey.keys()];
	const atMain = !units || wanted.some((k) => (byKey.get(k)?.shards ?? 1) <= 1);
	const out = new Map<string, Target>(atMain ? [[warehouseId, { name: warehouseId, units: [] }]] : []);
	for (const k of wanted) {
		const u = byKey.get(k);
		if (!u) continue;
		for (const s of shardsHolding(ref, u.generations)) {
			const name = shardName(warehouseId, u, s);
			const t = out.get(name) ?? { name, units: [] };
			t.units.push(k);
			out.set(name, t);
		}
	}
	return [...out.values()];
}

/**
 * Pure: whether the answers account for the order at this warehouse. Not when
 * no object knew it, nor when a sharded unit's shards all did not and the
 * warehouse's object was not asked: that unit's hold may be at the warehouse's
 * object (reserved under an out-of-date shard count, which sells from the
 * pool) or at a shard of a count this snapshot did not show.
 */
export function accountedFor(warehouseId: string, targets: readonly Target[], knew: readonly boolean[]): boolean {
	if (!knew.some(Boolean)) return false;
	return targets.some((t) => t.name === warehouseId) || shardsKnew(targets, knew);
}

/** Pure: whether every sharded unit the targets stand for was known at one of its shards. */
export function shardsKnew(targets: readonly Target[], knew: readonly boolean[]): boolean {
	const known = new Set(targets.flatMap((t, i) => (knew[i] ? t.units : [])));
	return targets.every((t) => t.units.every((k) => known.has(k)));
}

/** Pure: whether the lines found lack one of the order's units (its hold may be at a shard of a count the snapshot did not show). */
export function linesLack(units: readonly Unit[], lines: readonly Line[]): boolean {
	const found = new Set(lines.map(unitKey));
	return units.some((u) => !found.has(unitKey(u)));
}

/** The second look, for answers that did not account for the order: a fresh snapshot's objects and the warehouse's own, those not asked yet. */
async function secondLook(env: Env, warehouseId: string, ref: string, units: readonly Unit[] | undefined, asked: readonly Target[]): Promise<Target[]> {
	const fresh = targetsOf(warehouseId, ref, units, await shardedUnits(env, warehouseId, true));
	const seen = new Set(asked.map((t) => t.name));
	return [{ name: warehouseId, units: [] }, ...fresh].filter((t) => !seen.has(t.name) && seen.add(t.name));
}

const commitKnew = (r: CommitResult) => r.ok || r.reason !== "unknown_hold";
const releaseKnew = (r: ReleaseResult) => !r.ok || !r.unknown;
/** A cancel that found nothing new (a tombstone, or an expired hold closed) does not show where the order was held. */
const cancelKnew = (r: CancelHoldResult) => r.outcome !== "nothing" || r.replayed;

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

/** `units`: the order's units at this warehouse, when the caller knows them (the routing then skips objects that cannot hold them). */
export async function commit(env: Env, warehouseId: string, ref: string, actor = "checkout", units?: readonly Unit[]): Promise<CommitResult> {
	const targets = targetsOf(warehouseId, ref, units, await shardedUnits(env, warehouseId));
	const results = await Promise.all(targets.map((t) => warehouseStub(env, t.name).commit(ref, { actor })));
	return commitAgain(env, warehouseId, ref, actor, units, targets, results);
}

/** The answers merged, after a second look when they do not account for the order. */
async function commitAgain(env: Env, warehouseId: string, ref: string, actor: string, units: readonly Unit[] | undefined, asked: Target[], results: CommitResult[]): Promise<CommitResult> {
	if (accountedFor(warehouseId, asked, results.map(commitKnew))) return mergeCommits(results);
	const more = await secondLook(env, warehouseId, ref, units, asked);
	return mergeCommits([...results, ...(await Promise.all(more.map((t) => warehouseStub(env, t.name).commit(ref, { actor }))))]);
}

/**
 * Many decided orders at once: one commitMany at each object that may hold
 * some of them (`unitsOf`: each order's units at this warehouse, where known).
 */
export async function commitMany(
	env: Env,
	warehouseId: string,
	refs: string[],
	actor = "checkout",
	unitsOf?: ReadonlyMap<string, readonly Unit[]>,
): Promise<Record<string, CommitResult>> {
	const sharded = await shardedUnits(env, warehouseId);
	if (sharded.length === 0) return warehouseStub(env, warehouseId).commitMany(refs, { actor });
	const targets = new Map(refs.map((ref) => [ref, targetsOf(warehouseId, ref, unitsOf?.get(ref), sharded)]));
	const byObject = new Map<string, string[]>();
	for (const [ref, ts] of targets) for (const t of ts) byObject.set(t.name, [...(byObject.get(t.name) ?? []), ref]);
	const names = [...byObject.keys()];
	const answers = await Promise.all(names.map((n) => warehouseStub(env, n).commitMany(byObject.get(n)!, { actor })));
	const at = new Map(names.map((n, i) => [n, answers[i]!]));
	const out: Record<string, CommitResult> = {};
	// The few orders the answers do not account for get a second look one by one (a fresh snapshot, the warehouse's object).
	await Promise.all(
		refs.map(async (ref) => {
			const ts = targets.get(ref)!;
			const results = ts.map((t) => at.get(t.name)![ref] ?? ({ ok: false, reason: "unknown_hold" } as const));
			out[ref] = await commitAgain(env, warehouseId, ref, actor, unitsOf?.get(ref), ts, results);
		}),
	);
	return out;
}

/** Frees the order's holds at every object that may hold them, and at the warehouse's object when those had never seen it. */
export async function release(env: Env, warehouseId: string, ref: string, actor = "checkout", units?: readonly Unit[]): Promise<ReleaseResult> {
	const asked = targetsOf(warehouseId, ref, units, await shardedUnits(env, warehouseId));
	const call = (t: Target) => warehouseStub(env, t.name).release(ref, { actor });
	let results = await Promise.all(asked.map(call));
	const knew = results.map(releaseKnew);
	// The warehouse's object knowing the order (for its own units) says nothing of a sharded unit's hold: its shards must have.
	const again = asked.some((t) => t.name === warehouseId) ? units !== undefined && !shardsKnew(asked, knew) : !accountedFor(warehouseId, asked, knew);
	if (again) results = [...results, ...(await Promise.all((await secondLook(env, warehouseId, ref, units, asked)).map(call)))];
	const known = results.filter(releaseKnew);
	return known.find((r) => !r.ok) ?? known.find((r) => r.ok && !r.replayed) ?? known[0] ?? results[0]!;
}

/** Undoes the order's holds at every object that may hold them, and at the warehouse's object when those did not know them; their lines together. */
export async function cancelHold(env: Env, warehouseId: string, ref: string, actor: string, note?: string, units?: readonly Unit[]): Promise<CancelHoldResult> {
	const asked = targetsOf(warehouseId, ref, units, await shardedUnits(env, warehouseId));
	const call = (t: Target) => warehouseStub(env, t.name).cancelHold(ref, { actor, note });
	let results = await Promise.all(asked.map(call));
	// With the warehouse's object asked, finding nothing there is an answer, but lines lacking one of the order's units
	// are not: that unit's hold (committed units to put back) may be at a shard of a count this snapshot did not show.
	const again = asked.some((t) => t.name === warehouseId)
		? units !== undefined && linesLack(units, results.flatMap((r) => r.lines))
		: !accountedFor(warehouseId, asked, results.map(cancelKnew));
	if (again) results = [...results, ...(await Promise.all((await secondLook(env, warehouseId, ref, units, asked)).map(call)))];
	const outcome = results.some((r) => r.outcome === "restocked") ? "restocked" : results.some((r) => r.outcome === "released") ? "released" : "nothing";
	return { ok: true, outcome, replayed: results.every((r) => r.replayed), lines: results.flatMap((r) => r.lines) };
}
