/**
 * The availability read cache: what product pages, cart summaries, fulfillment
 * checks and checkout's first plan read instead of asking Warehouse objects.
 *
 * Per warehouse it keeps one snapshot of every unit's levels, taken with one RPC
 * (`Warehouse.snapshot()`), looked up in three places in turn:
 *   1. this isolate's memo;
 *   2. a layer shared by the isolates of a location (caches.default, see client.ts);
 *   3. the object itself, with one refresh in flight per warehouse per isolate:
 *      readers that arrive meanwhile wait for it rather than send their own
 *      (fresh readers wait for the next one, shared by all that arrived meanwhile).
 *
 * Staleness bound: a snapshot is served only while younger than `ttlMs`
 * (AVAILABILITY_TTL_MS), counted from the moment its RPC was sent, whichever
 * layer it comes from. A write made through the gateway either drops the
 * warehouse's entry everywhere (`invalidate`: the next read at this location
 * asks the object) or, for this isolate's own holds, lowers the numbers in the
 * memo (`held`). Nothing here decides a sale: only `reserve` does.
 */
import { TIMED_OUT, within } from "../shared/within";
import { unitKey, type Level, type Line, type Unit } from "./types";

export const AVAILABILITY_TTL_MS = 2_000;
/**
 * How long readers wait for a refresh another request started before one of them
 * sends the next: a request cancelled mid-refresh (client gone) never settles it.
 * Generous on purpose: under overload a slow RPC is the norm, and giving up early
 * would add RPCs exactly when the object can least afford them.
 */
export const FLIGHT_WAIT_MS = 5_000;

/** A warehouse's levels as one RPC answered them; `at` is when that RPC was sent (ms). */
export interface WarehouseLevels {
	at: number;
	levels: Level[];
}

/** The layer shared by the isolates of a location. Its failures cost freshness, never an answer. */
export interface SharedLayer {
	get(warehouseId: string): Promise<WarehouseLevels | undefined>;
	put(warehouseId: string, snapshot: WarehouseLevels): Promise<void>;
	delete(warehouseId: string): Promise<void>;
}

export interface CacheDeps {
	/** Every unit's levels at the warehouse: one RPC. */
	fetch(warehouseId: string): Promise<Level[]>;
	shared?: SharedLayer;
	now?: () => number;
	ttlMs?: number;
	flightWaitMs?: number;
	onSharedError?: (op: "get" | "put" | "delete", warehouseId: string, err: unknown) => void;
}

export interface ReadOptions {
	/** Ask the object, whatever the layers hold (and keep the answer for the next readers). */
	fresh?: boolean;
}

export interface CacheStats {
	/** Reads answered from this isolate's memo. */
	memo_hits: number;
	/** Reads that waited for a refresh another read had started. */
	joined: number;
	/** Refreshes answered by the shared layer. */
	shared_hits: number;
	/** Refreshes that asked the object (one RPC each). */
	fetches: number;
	invalidations: number;
}

interface Entry {
	at: number;
	byUnit: Map<string, Level>;
}

interface Flight {
	started: number;
	promise: Promise<Entry>;
}

/** Whether a snapshot taken at `at` may still be served at `now`. */
export function isFresh(at: number, now: number, ttlMs: number): boolean {
	return now - at < ttlMs && now >= at;
}

/** A unit the warehouse has never stocked has nothing. */
function levelOf(entry: Entry, u: Unit): Level {
	return entry.byUnit.get(unitKey(u)) ?? { product_id: u.product_id, size: u.size, on_hand: 0, reserved: 0, available: 0 };
}

/** Applies this isolate's own hold of `lines` (the object already did) to levels by unit key, in place. */
function applyHeld(byUnit: Map<string, Level>, lines: Line[]): void {
	for (const l of lines) {
		const key = unitKey(l);
		// A unit the snapshot did not list cannot have been held; keep the numbers honest anyway.
		const before = byUnit.get(key) ?? { product_id: l.product_id, size: l.size, on_hand: 0, reserved: 0, available: 0 };
		byUnit.set(key, { ...before, reserved: before.reserved + l.quantity, available: Math.max(0, before.available - l.quantity) });
	}
}

/** The levels after this isolate's own hold of `lines`: units move from available to reserved, never below zero. */
export function withHeld(levels: Level[], lines: Line[]): Level[] {
	const byUnit = new Map(levels.map((l) => [unitKey(l), l]));
	applyHeld(byUnit, lines);
	return [...byUnit.values()];
}

function toEntry(s: WarehouseLevels): Entry {
	return { at: s.at, byUnit: new Map(s.levels.map((l) => [unitKey(l), l])) };
}

export class AvailabilityCache {
	readonly ttlMs: number;
	readonly stats: CacheStats = { memo_hits: 0, joined: 0, shared_hits: 0, fetches: 0, invalidations: 0 };
	private readonly memo = new Map<string, Entry>();
	private readonly flights = new Map<string, Flight>();
	/** Per warehouse, the refresh promised to fresh readers that arrived while another was in flight. */
	private readonly nextFresh = new Map<string, Promise<Entry>>();
	/** Bumped by every invalidation: a refresh that started before one must not keep its answer. */
	private readonly generations = new Map<string, number>();
	private readonly now: () => number;
	private readonly flightWaitMs: number;

	constructor(private readonly deps: CacheDeps) {
		this.ttlMs = deps.ttlMs ?? AVAILABILITY_TTL_MS;
		this.now = deps.now ?? (() => Date.now());
		this.flightWaitMs = deps.flightWaitMs ?? FLIGHT_WAIT_MS;
	}

	/** Levels of `units` at the warehouse, at most `ttlMs` old (or fresh from the object). */
	async levels(warehouseId: string, units: Unit[], opts: ReadOptions = {}): Promise<Level[]> {
		const entry = await this.entry(warehouseId, opts.fresh === true);
		return units.map((u) => levelOf(entry, u));
	}

	/** Every unit the warehouse has stocked, at most `ttlMs` old (or fresh from the object). */
	async all(warehouseId: string, opts: ReadOptions = {}): Promise<Level[]> {
		return [...(await this.entry(warehouseId, opts.fresh === true)).byUnit.values()];
	}

	/** Forgets the warehouse's snapshot here and in the shared layer: the next read asks the object. */
	async invalidate(warehouseId: string): Promise<void> {
		this.stats.invalidations++;
		this.generations.set(warehouseId, this.generation(warehouseId) + 1);
		this.memo.delete(warehouseId);
		this.flights.delete(warehouseId);
		if (this.deps.shared) await this.deps.shared.delete(warehouseId).catch((err) => this.deps.onSharedError?.("delete", warehouseId, err));
	}

	/** This isolate's own hold landed: its next reads show the units taken (other isolates see it within the ttl). */
	held(warehouseId: string, lines: Line[]): void {
		const entry = this.memo.get(warehouseId);
		// In place, unit by unit: readers copy levels out of an entry synchronously, never across an await.
		if (entry) applyHeld(entry.byUnit, lines);
	}

	/** Bumped by every invalidation of the warehouse: what is derived from a snapshot is stale once it moves. */
	generation(warehouseId: string): number {
		return this.generations.get(warehouseId) ?? 0;
	}

	private async entry(warehouseId: string, fresh: boolean): Promise<Entry> {
		if (fresh) return this.freshEntry(warehouseId);
		for (;;) {
			const now = this.now();
			const kept = this.memo.get(warehouseId);
			if (kept && isFresh(kept.at, now, this.ttlMs)) {
				this.stats.memo_hits++;
				return kept;
			}
			const flight = this.flights.get(warehouseId);
			if (!flight || now - flight.started >= this.flightWaitMs) return this.refresh(warehouseId, false);
			this.stats.joined++;
			const joined = await within(flight.promise, this.flightWaitMs - (now - flight.started));
			if (joined !== TIMED_OUT) return joined;
			// Presumed dead: the first waiter to give up starts the next refresh, the others wait for that one.
			if (this.flights.get(warehouseId) === flight) this.flights.delete(warehouseId);
		}
	}

	/**
	 * A fresh read needs an RPC sent after it asked. With none in flight it sends one;
	 * while one is in flight (sent before it asked, so not fresh enough) it waits for
	 * that one to end and shares the next with every fresh reader that arrived
	 * meanwhile: a crowd of buyers re-checking a sold-out unit costs two RPCs per
	 * round trip, not one each.
	 */
	private freshEntry(warehouseId: string): Promise<Entry> {
		const promised = this.nextFresh.get(warehouseId);
		if (promised) return promised;
		const flight = this.flights.get(warehouseId);
		if (!flight) return this.refresh(warehouseId, true);
		const next = within(flight.promise, Math.max(0, this.flightWaitMs - (this.now() - flight.started)))
			.catch(() => undefined)
			.then(() => {
				if (this.nextFresh.get(warehouseId) === next) this.nextFresh.delete(warehouseId);
				return this.refresh(warehouseId, true);
			});
		this.nextFresh.set(warehouseId, next);
		return next;
	}

	private refresh(warehouseId: string, fresh: boolean): Promise<Entry> {
		const promise = this.load(warehouseId, fresh, this.generation(warehouseId));
		this.flights.set(warehouseId, { started: this.now(), promise });
		const done = () => {
			if (this.flights.get(warehouseId)?.promise === promise) this.flights.delete(warehouseId);
		};
		promise.then(done, done);
		return promise;
	}

	private async load(warehouseId: string, fresh: boolean, generation: number): Promise<Entry> {
		const shared = this.deps.shared;
		if (!fresh && shared) {
			const hit = await shared.get(warehouseId).catch((err) => {
				this.deps.onSharedError?.("get", warehouseId, err);
				return undefined;
			});
			if (hit && isFresh(hit.at, this.now(), this.ttlMs)) {
				this.stats.shared_hits++;
				const entry = toEntry(hit);
				this.keep(warehouseId, generation, entry);
				return entry;
			}
		}
		const at = this.now();
		this.stats.fetches++;
		const levels = await this.deps.fetch(warehouseId);
		const entry = toEntry({ at, levels });
		if (this.keep(warehouseId, generation, entry) && shared) {
			await shared.put(warehouseId, { at, levels }).catch((err) => this.deps.onSharedError?.("put", warehouseId, err));
		}
		return entry;
	}

	/** Keeps an answer for later readers unless a write invalidated the warehouse meanwhile or a newer one is kept. */
	private keep(warehouseId: string, generation: number, entry: Entry): boolean {
		if (this.generation(warehouseId) !== generation) return false;
		const current = this.memo.get(warehouseId);
		if (current && current.at > entry.at) return false;
		this.memo.set(warehouseId, entry);
		return true;
	}
}
