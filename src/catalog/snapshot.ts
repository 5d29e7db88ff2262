/**
 * The catalog read cache: what `GET /products` and `GET /products/:id` read
 * instead of D1. One snapshot holds the active products and the active
 * warehouses, taken with one D1 read (a batch of two statements), looked up in
 * three places in turn:
 *   1. this isolate's memo;
 *   2. a layer shared by the isolates of a location (caches.default, see reads.ts);
 *   3. D1, with one load in flight per isolate: readers that arrive meanwhile
 *      wait for it rather than send their own.
 *
 * Staleness bound: a snapshot is served only while younger than `ttlMs`
 * (CATALOG_TTL_MS), counted from the moment its D1 read was sent, whichever layer
 * it comes from. An admin write made here calls `invalidate`: the memo is
 * dropped, the shared entry deleted, and snapshots taken before the write are
 * never served by this isolate again, so its next read shows the write; other
 * isolates and locations see it within the ttl.
 *
 * When D1 fails, a memo copy up to `staleIfErrorMs` old is served (flagged
 * stale) and D1 is asked again at most once per ttl while it keeps failing;
 * with no such copy the read fails and the route answers 503. Checkout prices
 * orders from it too, refusing a stale copy (../checkout/catalog.ts).
 */
import { TIMED_OUT, within } from "../shared/within";
import type { Product, Warehouse } from "./schema";

export const CATALOG_TTL_MS = 2_000;
/** How old a copy may be served while D1 fails (a page with a price a little behind beats no page). */
export const STALE_IF_ERROR_MS = 30_000;
/** How long readers wait for a load another request started before one of them sends the next. */
export const FLIGHT_WAIT_MS = 5_000;

/** What one D1 read returns: the active products (by id) and the active warehouses (with their ids apart). */
export interface CatalogData {
	products: Product[];
	warehouse_ids: string[];
	warehouses: Warehouse[];
}

/** A catalog as one D1 read answered it; `at` is when that read was sent (ms). */
export interface CatalogSnapshot extends CatalogData {
	at: number;
}

export interface Catalog extends CatalogSnapshot {
	byId: ReadonlyMap<string, Product>;
}

export type CatalogRead = { ok: true; catalog: Catalog; stale: boolean } | { ok: false; error: unknown };

/** The layer shared by the isolates of a location. Its failures cost freshness, never an answer. */
export interface CatalogSharedLayer {
	get(): Promise<CatalogSnapshot | undefined>;
	put(snapshot: CatalogSnapshot): Promise<void>;
	delete(): Promise<void>;
}

export interface CatalogCacheDeps {
	/** The catalog from D1: one read. */
	load(): Promise<CatalogData>;
	shared?: CatalogSharedLayer;
	now?: () => number;
	ttlMs?: number;
	staleIfErrorMs?: number;
	flightWaitMs?: number;
	onSharedError?: (op: "get" | "put" | "delete", err: unknown) => void;
	/** A stale copy was served because D1 failed. */
	onStale?: (ageMs: number, err: unknown) => void;
}

export interface CatalogStats {
	memo_hits: number;
	joined: number;
	shared_hits: number;
	/** Loads that asked D1. */
	loads: number;
	failures: number;
	stale_served: number;
	invalidations: number;
}

type Loaded = { ok: true; catalog: Catalog } | { ok: false; error: unknown };

interface Flight {
	started: number;
	promise: Promise<Loaded>;
}

/** Whether a snapshot taken at `at` may be served at `now` within `maxAgeMs`. */
export function isFresh(at: number, now: number, maxAgeMs: number): boolean {
	return now - at < maxAgeMs && now >= at;
}

export function toCatalog(s: CatalogSnapshot): Catalog {
	return { ...s, byId: new Map(s.products.map((p) => [p.product_id, p])) };
}

export class CatalogCache {
	readonly ttlMs: number;
	readonly staleIfErrorMs: number;
	readonly stats: CatalogStats = { memo_hits: 0, joined: 0, shared_hits: 0, loads: 0, failures: 0, stale_served: 0, invalidations: 0 };
	private memo: Catalog | undefined;
	private flight: Flight | undefined;
	/** Bumped by every invalidation: a load that started before one must not keep its answer. */
	private generation = 0;
	/** Snapshots taken before this isolate's last write are not served here. */
	private notBefore = Number.NEGATIVE_INFINITY;
	/** After a failed load, readers holding a stale copy use it until then instead of asking D1 again. */
	private retryAt = Number.NEGATIVE_INFINITY;
	private lastError: unknown;
	private readonly now: () => number;
	private readonly flightWaitMs: number;

	constructor(private readonly deps: CatalogCacheDeps) {
		this.ttlMs = deps.ttlMs ?? CATALOG_TTL_MS;
		this.staleIfErrorMs = deps.staleIfErrorMs ?? STALE_IF_ERROR_MS;
		this.flightWaitMs = deps.flightWaitMs ?? FLIGHT_WAIT_MS;
		this.now = deps.now ?? (() => Date.now());
	}

	/** The catalog, at most `ttlMs` old; a stale copy while D1 fails; or the failure. */
	async read(): Promise<CatalogRead> {
		for (;;) {
			const now = this.now();
			const kept = this.memo;
			if (kept && isFresh(kept.at, now, this.ttlMs)) {
				this.stats.memo_hits++;
				return { ok: true, catalog: kept, stale: false };
			}
			if (now < this.retryAt) {
				const stale = this.stale(this.lastError);
				if (stale) return stale;
			}
			const flight = this.flight;
			if (!flight || now - flight.started >= this.flightWaitMs) return this.answer(await this.refresh());
			this.stats.joined++;
			const joined = await within(flight.promise, this.flightWaitMs - (now - flight.started));
			if (joined !== TIMED_OUT) return this.answer(joined);
			// Presumed dead: the first waiter to give up starts the next load, the others wait for that one.
			if (this.flight === flight) this.flight = undefined;
		}
	}

	/** An admin write landed here: forget every copy taken before it, here and in the shared layer. */
	async invalidate(): Promise<void> {
		this.stats.invalidations++;
		this.generation++;
		this.memo = undefined;
		this.flight = undefined;
		this.notBefore = this.now();
		this.retryAt = Number.NEGATIVE_INFINITY;
		if (this.deps.shared) await this.deps.shared.delete().catch((err) => this.deps.onSharedError?.("delete", err));
	}

	private answer(loaded: Loaded): CatalogRead {
		if (loaded.ok) return { ok: true, catalog: loaded.catalog, stale: false };
		return this.stale(loaded.error) ?? { ok: false, error: loaded.error };
	}

	/** The memo's copy while it is young enough to stand in for a failed load. */
	private stale(err: unknown): CatalogRead | undefined {
		const kept = this.memo;
		const now = this.now();
		if (!kept || !isFresh(kept.at, now, this.staleIfErrorMs)) return undefined;
		this.stats.stale_served++;
		this.deps.onStale?.(now - kept.at, err);
		return { ok: true, catalog: kept, stale: true };
	}

	private refresh(): Promise<Loaded> {
		const promise = this.load(this.generation);
		const flight = { started: this.now(), promise };
		this.flight = flight;
		void promise.then(() => {
			if (this.flight === flight) this.flight = undefined;
		});
		return promise;
	}

	private async load(generation: number): Promise<Loaded> {
		const shared = this.deps.shared;
		if (shared) {
			const hit = await shared.get().catch((err) => {
				this.deps.onSharedError?.("get", err);
				return undefined;
			});
			if (hit && isFresh(hit.at, this.now(), this.ttlMs) && hit.at > this.notBefore) {
				this.stats.shared_hits++;
				const catalog = toCatalog(hit);
				this.keep(generation, catalog);
				return { ok: true, catalog };
			}
		}
		const at = this.now();
		this.stats.loads++;
		let data: CatalogData;
		try {
			data = await this.deps.load();
		} catch (error) {
			this.stats.failures++;
			if (this.generation === generation) {
				this.lastError = error;
				this.retryAt = this.now() + this.ttlMs;
			}
			return { ok: false, error };
		}
		const snapshot: CatalogSnapshot = { at, products: data.products, warehouse_ids: data.warehouse_ids, warehouses: data.warehouses };
		const catalog = toCatalog(snapshot);
		if (this.keep(generation, catalog) && shared) await shared.put(snapshot).catch((err) => this.deps.onSharedError?.("put", err));
		return { ok: true, catalog };
	}

	/** Keeps an answer for later readers unless a write invalidated meanwhile or a newer one is kept. */
	private keep(generation: number, catalog: Catalog): boolean {
		if (this.generation !== generation) return false;
		if (this.memo && this.memo.at > catalog.at) return false;
		this.memo = catalog;
		this.retryAt = Number.NEGATIVE_INFINITY;
		return true;
	}
}
