// The availability cache on its own, with a fake object (counted fetches), a fake
// shared layer and a hand-moved clock: coalescing, the ttl, invalidation, own holds.
import { describe, expect, it } from "vitest";
import { AvailabilityCache, isFresh, withHeld, type SharedLayer, type WarehouseLevels } from "../../src/stock/cache";
import { cacheApiLayer } from "../../src/stock/client";
import type { Level } from "../../src/stock/types";

const M = { product_id: "p1", size: "M" };
const L = { product_id: "p1", size: "L" };

function level(u: { product_id: string; size: string }, on_hand: number, reserved = 0): Level {
	return { ...u, on_hand, reserved, available: on_hand - reserved };
}

/** A fake warehouse: `stock` is what the object would answer; `fetches` counts RPCs; `gate` holds answers back. */
function fakeObject(stock: Level[]) {
	const state = { stock, fetches: 0, gate: null as Promise<void> | null, fail: null as Error | null };
	const fetch = async (_id: string) => {
		state.fetches++;
		const answer = state.stock.map((l) => ({ ...l }));
		if (state.gate) await state.gate;
		if (state.fail) throw state.fail;
		return answer;
	};
	return { state, fetch };
}

function fakeShared(): SharedLayer & { entries: Map<string, WarehouseLevels> } {
	const entries = new Map<string, WarehouseLevels>();
	return {
		entries,
		get: async (id) => entries.get(id),
		put: async (id, s) => void entries.set(id, s),
		delete: async (id) => void entries.delete(id),
	};
}

function clock(start = 1_000_000) {
	const c = { t: start, now: () => c.t };
	return c;
}

/** Lets pending microtasks run until `cond` holds (no timers involved). */
async function until(cond: () => boolean) {
	for (let i = 0; i < 1000 && !cond(); i++) await Promise.resolve();
	expect(cond()).toBe(true);
}

function deferred() {
	let open!: () => void;
	const promise = new Promise<void>((r) => (open = r));
	return { promise, open };
}

describe("isFresh and withHeld", () => {
	it("a snapshot is served for less than the ttl after its RPC was sent, never from the future", () => {
		expect(isFresh(1000, 1000, 2000)).toBe(true);
		expect(isFresh(1000, 2999, 2000)).toBe(true);
		expect(isFresh(1000, 3000, 2000)).toBe(false);
		expect(isFresh(1000, 999, 2000)).toBe(false);
	});

	it("an own hold moves units from available to reserved, summed per unit, never below zero", () => {
		const out = withHeld([level(M, 5), level(L, 1)], [
			{ ...M, quantity: 2 },
			{ ...M, quantity: 1 },
			{ ...L, quantity: 3 },
		]);
		expect(out).toEqual([
			{ ...M, on_hand: 5, reserved: 3, available: 2 },
			{ ...L, on_hand: 1, reserved: 3, available: 0 },
		]);
	});
});

describe("AvailabilityCache", () => {
	it("200 concurrent reads of a cold warehouse send one RPC; reads within the ttl send none", async () => {
		const obj = fakeObject([level(M, 7)]);
		const c = clock();
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: c.now, ttlMs: 2000 });
		const answers = await Promise.all(Array.from({ length: 200 }, () => cache.levels("w1", [M])));
		expect(obj.state.fetches).toBe(1);
		expect(new Set(answers.map((a) => a[0]!.available))).toEqual(new Set([7]));
		c.t += 1999;
		obj.state.stock = [level(M, 3)];
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(7);
		expect(obj.state.fetches).toBe(1);
		c.t += 1; // the ttl has passed: the next read asks the object
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(3);
		expect(obj.state.fetches).toBe(2);
		expect(cache.stats).toMatchObject({ fetches: 2, joined: 199, memo_hits: 1 });
	});

	it("keeps one snapshot per warehouse: any units of it, and units never stocked read as zero", async () => {
		const obj = fakeObject([level(M, 4), level(L, 2)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: clock().now });
		expect(await cache.levels("w1", [M])).toEqual([level(M, 4)]);
		expect(await cache.levels("w1", [L, { product_id: "p9", size: "S" }])).toEqual([level(L, 2), level({ product_id: "p9", size: "S" }, 0)]);
		expect(await cache.levels("w2", [M])).toEqual([level(M, 4)]);
		expect(obj.state.fetches).toBe(2); // w1 once, w2 once
	});

	it("takes a fresh entry from the shared layer instead of the object, and ignores one past the ttl", async () => {
		const obj = fakeObject([level(M, 9)]);
		const shared = fakeShared();
		const c = clock();
		shared.entries.set("w1", { at: c.t - 500, levels: [level(M, 1)] });
		shared.entries.set("w2", { at: c.t - 2500, levels: [level(M, 1)] });
		const cache = new AvailabilityCache({ fetch: obj.fetch, shared, now: c.now, ttlMs: 2000 });
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(1);
		expect(obj.state.fetches).toBe(0);
		expect((await cache.levels("w2", [M]))[0]!.available).toBe(9);
		expect(obj.state.fetches).toBe(1);
		// What the object answered is shared with the other isolates of the location, stamped with when it was asked.
		expect(shared.entries.get("w2")).toEqual({ at: c.t, levels: [level(M, 9)] });
		// The shared entry's age counts: served from the memo only until at + ttl.
		c.t += 1500;
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(9);
		expect(obj.state.fetches).toBe(2);
	});

	it("invalidate: the next read asks the object, and the shared entry is gone", async () => {
		const obj = fakeObject([level(M, 5)]);
		const shared = fakeShared();
		const cache = new AvailabilityCache({ fetch: obj.fetch, shared, now: clock().now });
		await cache.levels("w1", [M]);
		expect(shared.entries.has("w1")).toBe(true);
		obj.state.stock = [level(M, 2)];
		await cache.invalidate("w1");
		expect(shared.entries.has("w1")).toBe(false);
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(2);
		expect(obj.state.fetches).toBe(2);
	});

	it("a refresh in flight when a write invalidates is not kept, and later readers do not wait for it", async () => {
		const obj = fakeObject([level(M, 5)]);
		const shared = fakeShared();
		const cache = new AvailabilityCache({ fetch: obj.fetch, shared, now: clock().now });
		const gate = deferred();
		obj.state.gate = gate.promise;
		const early = cache.levels("w1", [M]); // reads 5, answer held back
		await until(() => obj.state.fetches === 1);
		obj.state.stock = [level(M, 1)]; // the write lands at the object...
		await cache.invalidate("w1"); // ...and its answer invalidates
		obj.state.gate = null;
		const late = await cache.levels("w1", [M]);
		expect(late[0]!.available).toBe(1);
		gate.open();
		expect((await early)[0]!.available).toBe(5); // the read that started before the write may see before it
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(1); // but its answer was not kept
		expect(shared.entries.get("w1")!.levels).toEqual([level(M, 1)]);
		expect(obj.state.fetches).toBe(2);
	});

	it("held(): this isolate's own hold shows in its next read without an RPC", async () => {
		const obj = fakeObject([level(M, 5)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: clock().now });
		await cache.levels("w1", [M]);
		cache.held("w1", [{ ...M, quantity: 2 }]);
		cache.held("w2", [{ ...M, quantity: 2 }]); // nothing cached there: nothing to lower
		expect(await cache.levels("w1", [M])).toEqual([{ ...M, on_hand: 5, reserved: 2, available: 3 }]);
		expect(obj.state.fetches).toBe(1);
	});

	it("fresh reads always ask the object, and what they learn serves the next cached reads", async () => {
		const obj = fakeObject([level(M, 5)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: clock().now });
		await cache.levels("w1", [M]);
		obj.state.stock = [level(M, 0)];
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(5);
		expect((await cache.levels("w1", [M], { fresh: true }))[0]!.available).toBe(0);
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(0);
		expect(obj.state.fetches).toBe(2);
	});

	it("fresh reads that arrive while a refresh is in flight share the next one, which starts after they asked", async () => {
		const obj = fakeObject([level(M, 5)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: clock().now });
		const gate = deferred();
		obj.state.gate = gate.promise;
		const first = cache.levels("w1", [M], { fresh: true }); // its RPC answers 5, held back by the gate
		await until(() => obj.state.fetches === 1);
		obj.state.stock = [level(M, 1)]; // a change after that RPC was sent: the later readers must see it
		const later = Array.from({ length: 5 }, () => cache.levels("w1", [M], { fresh: true }));
		obj.state.gate = null;
		gate.open();
		expect((await first)[0]!.available).toBe(5);
		for (const r of await Promise.all(later)) expect(r[0]!.available).toBe(1);
		expect(obj.state.fetches).toBe(2); // not 6: the five shared one RPC sent after the first answered
	});

	it("a failed refresh fails its waiters too and is not kept: the next read tries again", async () => {
		const obj = fakeObject([level(M, 5)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: clock().now });
		obj.state.fail = new Error("object unreachable");
		const reads = await Promise.allSettled([cache.levels("w1", [M]), cache.levels("w1", [M])]);
		expect(reads.map((r) => r.status)).toEqual(["rejected", "rejected"]);
		expect(obj.state.fetches).toBe(1);
		obj.state.fail = null;
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(5);
		expect(obj.state.fetches).toBe(2);
	});

	it("a waiter whose refresh never settles (its request was cancelled) sends its own after flightWaitMs", async () => {
		const obj = fakeObject([level(M, 5)]);
		const cache = new AvailabilityCache({ fetch: obj.fetch, now: Date.now, flightWaitMs: 20 });
		obj.state.gate = new Promise(() => {}); // the first refresh hangs forever
		void cache.levels("w1", [M]);
		await until(() => obj.state.fetches === 1);
		obj.state.gate = null;
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(5);
		expect(obj.state.fetches).toBe(2);
	});

	it("a failing shared layer costs an RPC, never an answer", async () => {
		const obj = fakeObject([level(M, 5)]);
		const errors: string[] = [];
		const broken: SharedLayer = {
			get: async () => Promise.reject(new Error("cache down")),
			put: async () => Promise.reject(new Error("cache down")),
			delete: async () => Promise.reject(new Error("cache down")),
		};
		const cache = new AvailabilityCache({ fetch: obj.fetch, shared: broken, now: clock().now, onSharedError: (op) => errors.push(op) });
		expect((await cache.levels("w1", [M]))[0]!.available).toBe(5);
		await cache.invalidate("w1");
		expect(errors).toEqual(["get", "put", "delete"]);
	});
});

describe("cacheApiLayer (caches.default in this runtime)", () => {
	it("stores, answers and forgets a warehouse's snapshot", async () => {
		const layer = cacheApiLayer(2000);
		const id = `wh-${crypto.randomUUID()}`;
		expect(await layer.get(id)).toBeUndefined();
		const snap = { at: Date.now(), levels: [level(M, 3)] };
		await layer.put(id, snap);
		expect(await layer.get(id)).toEqual(snap);
		await layer.delete(id);
		expect(await layer.get(id)).toBeUndefined();
	});
});
