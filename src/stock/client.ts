/**
 * How the gateway reaches Warehouse objects. Every stub comes from
 * `warehouseStub()`, which wraps it so that each RPC is counted (per isolate, and
 * per request in its `[http]` log line as `warehouse_rpcs`) and each write keeps
 * the availability cache honest (see afterWrite). Availability reads go through
 * that cache (cache.ts): a snapshot at most AVAILABILITY_TTL_MS old.
 */
import type { Env } from "../env";
import { countInRequest, log } from "../shared/log";
import { AVAILABILITY_TTL_MS, AvailabilityCache, type ReadOptions, type SharedLayer, type WarehouseLevels } from "./cache";
import type { Level, Line, Unit } from "./types";
import type { Warehouse } from "./binding";

export type WarehouseStub = DurableObjectStub<Warehouse>;

// ---- RPC counting -----------------------------------------------------------------------------

const sent = new Map<string, number>();

/** Warehouse RPCs this isolate has sent, in total and by method. */
export function warehouseRpcs(): { total: number; byMethod: Record<string, number> } {
	const byMethod = Object.fromEntries(sent);
	return { total: Object.values(byMethod).reduce((a, b) => a + b, 0), byMethod };
}

function counted(method: string): void {
	sent.set(method, (sent.get(method) ?? 0) + 1);
	countInRequest("warehouse_rpcs");
}

// ---- what a write does to the cache -----------------------------------------------------------

type Methods = {
	[K in keyof Warehouse]-?: Warehouse[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof Warehouse];
type Args<M extends Methods> = Warehouse[M] extends (...args: infer A) => unknown ? A : never;
type Result<M extends Methods> = Warehouse[M] extends (...args: never[]) => Promise<infer R> ? R : never;
type AfterWrite<M extends Methods> = (cache: AvailabilityCache, warehouseId: string, args: Args<M>, result: Result<M>) => Promise<void> | void;

const drop = (cache: AvailabilityCache, warehouseId: string) => cache.invalidate(warehouseId);

/**
 * Admin changes, cancellations and expiries drop the warehouse's entry (the next
 * read at this location asks the object); this isolate's own holds lower its
 * memo's numbers; commits of live holds change nothing available. A release is
 * left to the ttl: until then the cache shows less than is there, never more
 * than this isolate knows was taken.
 */
const afterWrite: { [M in Methods]?: AfterWrite<M> } = {
	reserve: (cache, id, [, lines], r) => {
		if (r.ok && !r.replayed) cache.held(id, lines as Line[]);
	},
	commit: (cache, id, _, r) => (r.ok && r.late ? drop(cache, id) : undefined),
	commitMany: (cache, id, _, r) => (Object.values(r).some((c) => c.ok && c.late) ? drop(cache, id) : undefined),
	cancelHold: (cache, id, _, r) => (r.outcome === "nothing" ? undefined : drop(cache, id)),
	restock: (cache, id, _, r) => (r.replayed ? undefined : drop(cache, id)),
	restore: (cache, id, _, r) => (r.replayed ? undefined : drop(cache, id)),
	deduct: (cache, id, _, r) => (r.ok && !r.replayed ? drop(cache, id) : undefined),
	setLevels: (cache, id, _, r) => (r.ok && !r.replayed ? drop(cache, id) : undefined),
	adjust: (cache, id, _, r) => (r.ok && !r.replayed ? drop(cache, id) : undefined),
	resolveDue: (cache, id, _, r) => (r.expired > 0 || r.committed > 0 ? drop(cache, id) : undefined),
	release: () => undefined,
};

/** Stub members that are not Warehouse RPC methods. */
const NOT_RPC = new Set(["then", "fetch", "connect", "dup"]);

/** Methods that change nothing. Any other method is a write: one not listed in afterWrite drops the entry (new writes are safe by default). */
const READS = new Set<string>(["availability", "stockView", "snapshot", "ledger", "hold", "audit", "writeCounts", "shardConfigs"] satisfies Methods[]);
const dropAny: AfterWrite<Methods> = (cache, id) => drop(cache, id);

function wrap(env: Env, warehouseId: string, stub: WarehouseStub): WarehouseStub {
	return new Proxy(stub, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof prop !== "string" || typeof value !== "function" || NOT_RPC.has(prop)) return value;
			return async (...args: unknown[]) => {
				counted(prop);
				const hook = READS.has(prop) ? undefined : ((afterWrite[prop as Methods] as AfterWrite<Methods> | undefined) ?? dropAny);
				let result: unknown;
				try {
					result = await Reflect.apply(value, target, args);
				} catch (err) {
					// A write whose answer was lost may have landed: forget what the cache says about it.
					if (hook) await drop(cacheOf(env), warehouseId);
					throw err;
				}
				if (hook) await hook(cacheOf(env), warehouseId, args as never, result as never);
				return result;
			};
		},
	});
}

/** A counted stub on the warehouse's object. */
export function warehouseStub(env: Env, warehouseId: string): WarehouseStub {
	return wrap(env, warehouseId, env.WAREHOUSE.getByName(warehouseId));
}

// ---- the availability cache -------------------------------------------------------------------

const SHARED_KEY = "https://availability.stockgate.internal/v1/";

/** The Cache API of the location (caches.default): one entry per warehouse, expiring with the ttl. */
export function cacheApiLayer(ttlMs: number): SharedLayer {
	const key = (warehouseId: string) => new Request(SHARED_KEY + encodeURIComponent(warehouseId));
	return {
		async get(warehouseId) {
			const res = await caches.default.match(key(warehouseId));
			if (!res) return undefined;
			const body = (await res.json()) as Partial<WarehouseLevels>;
			return typeof body.at === "number" && Array.isArray(body.levels) ? { at: body.at, levels: body.levels } : undefined;
		},
		async put(warehouseId, snapshot) {
			const headers = { "content-type": "application/json", "cache-control": `max-age=${Math.max(1, Math.ceil(ttlMs / 1000))}` };
			await caches.default.put(key(warehouseId), new Response(JSON.stringify(snapshot), { headers }));
		},
		async delete(warehouseId) {
			await caches.default.delete(key(warehouseId));
		},
	};
}

/** The cache's clock. Tests that must stay inside one ttl window stop it here (never the global Date, which other test files share). */
export const availabilityClock = { now: (): number => Date.now() };

/** One cache per Warehouse namespace (an isolate can serve several envs, e.g. in tests). */
const caches_ = new WeakMap<object, AvailabilityCache>();

export function cacheOf(env: Env): AvailabilityCache {
	let cache = caches_.get(env.WAREHOUSE);
	if (!cache) {
		cache = new AvailabilityCache({
			fetch: async (warehouseId) => (await warehouseStub(env, warehouseId).snapshot()).items,
			now: () => availabilityClock.now(),
			shared: typeof caches === "undefined" ? undefined : cacheApiLayer(AVAILABILITY_TTL_MS),
			onSharedError: (op, warehouseId, err) => log.warn("[stock]", "availability_cache_error", { op, warehouse_id: warehouseId, error: String(err) }),
		});
		caches_.set(env.WAREHOUSE, cache);
	}
	return cache;
}

/** Availability of `units` at each warehouse, read through the cache (or fresh), in parallel. */
export async function availabilityAt(env: Env, warehouseIds: string[], units: Unit[], opts: ReadOptions = {}): Promise<Map<string, Level[]>> {
	const cache = cacheOf(env);
	const levels = await Promise.all(warehouseIds.map((id) => cache.levels(id, units, opts)));
	return new Map(warehouseIds.map((id, i) => [id, levels[i]!]));
}
