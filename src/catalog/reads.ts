/**
 * How the public product reads reach the catalog: through the catalog cache
 * (snapshot.ts), one per D1 binding per isolate, whose D1 reads are counted
 * (`d1_queries`), with the location's Cache API as its shared layer. Admin
 * writes that change what is listed call `dropCatalog` whether they landed or
 * not (a write whose answer was lost may have landed).
 */
import type { Env } from "../env";
import { fail } from "../http/errors";
import { log } from "../shared/log";
import { countedD1 } from "../shared/d1Count";
import { loadCatalog } from "./queries";
import { CATALOG_TTL_MS, CatalogCache, type Catalog, type CatalogSharedLayer, type CatalogSnapshot } from "./snapshot";

const SHARED_KEY = "https://catalog.stockgate.internal/v1/active";

/** The Cache API of the location (caches.default): one entry, expiring with the ttl. */
export function catalogCacheApiLayer(ttlMs: number): CatalogSharedLayer {
	const key = () => new Request(SHARED_KEY);
	return {
		async get() {
			const res = await caches.default.match(key());
			if (!res) return undefined;
			const body = (await res.json()) as Partial<CatalogSnapshot>;
			return typeof body.at === "number" && Array.isArray(body.products) && Array.isArray(body.warehouse_ids) && Array.isArray(body.warehouses)
				? { at: body.at, products: body.products, warehouse_ids: body.warehouse_ids, warehouses: body.warehouses }
				: undefined;
		},
		async put(snapshot) {
			const headers = { "content-type": "application/json", "cache-control": `max-age=${Math.max(1, Math.ceil(ttlMs / 1000))}` };
			await caches.default.put(key(), new Response(JSON.stringify(snapshot), { headers }));
		},
		async delete() {
			await caches.default.delete(key());
		},
	};
}

/** The catalog cache's clock. Tests that must stay inside one ttl window, or step past it, move it here (never the global Date). */
export const catalogClock = { now: (): number => Date.now() };

const caches_ = new WeakMap<D1Database, CatalogCache>();

export function catalogOf(env: Env): CatalogCache {
	let cache = caches_.get(env.DB);
	if (!cache) {
		const db = countedD1(env.DB);
		cache = new CatalogCache({
			load: () => loadCatalog(db),
			now: () => catalogClock.now(),
			shared: typeof caches === "undefined" ? undefined : catalogCacheApiLayer(CATALOG_TTL_MS),
			onSharedError: (op, err) => log.warn("[catalog]", "catalog_cache_error", { op, error: String(err) }),
			onStale: (ageMs, err) => log.warn("[catalog]", "catalog_stale_served", { age_ms: ageMs, error: String(err) }),
		});
		caches_.set(env.DB, cache);
	}
	return cache;
}

/** The catalog for a public read, or 503 when D1 fails and no copy is young enough to stand in. */
export async function readCatalog(env: Env): Promise<Catalog> {
	const read = await catalogOf(env).read();
	if (!read.ok) {
		log.error("catalog_unavailable", { error: String(read.error) }, "[catalog]");
		fail("SERVICE_UNAVAILABLE", "The catalog is unavailable right now. Please retry.");
	}
	return read.catalog;
}

/** An admin write may have changed what is listed: this location's copies go at once. */
export function dropCatalog(env: Env): Promise<void> {
	return catalogOf(env).invalidate();
}
