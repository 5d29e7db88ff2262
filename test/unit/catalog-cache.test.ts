// The catalog cache on its own, with a fake D1 load (counted), a fake shared layer
// and a hand-moved clock: one load for concurrent misses, the ttl bound, an admin
// write seen at once, stale-if-error and its bound; and the availability a
// listed product shows, from plain levels.
import { describe, expect, it } from "vitest";
import { availabilityOf, availableByWarehouse, unitsOf, unitsOfAll } from "../../src/catalog/availability";
import type { Product } from "../../src/catalog/schema";
import { CatalogCache, isFresh, type CatalogData, type CatalogSharedLayer, type CatalogSnapshot } from "../../src/catalog/snapshot";

function product(id: string, over: Partial<Product> = {}): Product {
	return { product_id: id, name: `Product ${id}`, price: 10, sizes: ["S", "M"], active: true, max_per_customer: null, components: null, ...over };
}

/** A fake D1: `data` is what a read would answer; `loads` counts reads; `gate` holds answers back; `fail` makes reads throw. */
function fakeD1(data: CatalogData) {
	const state = { data, loads: 0, gate: null as Promise<void> | null, fail: null as Error | null };
	const load = async (): Promise<CatalogData> => {
		state.loads++;
		const answer = structuredClone(state.data);
		if (state.gate) await state.gate;
		if (state.fail) throw state.fail;
		return answer;
	};
	return { state, load };
}

function fakeShared(): CatalogSharedLayer & { entry: CatalogSnapshot | undefined } {
	const s = {
		entry: undefined as CatalogSnapshot | undefined,
		get: async () => s.entry,
		put: async (snap: CatalogSnapshot) => void (s.entry = snap),
		delete: async () => void (s.entry = undefined),
	};
	return s;
}

function clock(start = 1_000_000) {
	const c = { t: start, now: () => c.t };
	return c;
}

function deferred() {
	let open!: () => void;
	const promise = new Promise<void>((r) => (open = r));
	return { promise, open };
}

async function until(cond: () => boolean) {
	for (let i = 0; i < 1000 && !cond(); i++) await Promise.resolve();
	expect(cond()).toBe(true);
}

async function names(cache: CatalogCache): Promise<string[]> {
	const r = await cache.read();
	if (!r.ok) throw new Error("read failed");
	return r.catalog.products.map((p) => p.name);
}

describe("CatalogCache", () => {
	it("200 concurrent misses share one D1 read; reads within the ttl make none; the first read at the ttl makes one", async () => {
		const d1 = fakeD1({ products: [product("p1")], warehouse_ids: ["w1"], warehouses: [] });
		const gate = deferred();
		d1.state.gate = gate.promise;
		const c = clock();
		const cache = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000 });
		const pending = Array.from({ length: 200 }, () => cache.read());
		await until(() => d1.state.loads === 1);
		gate.open();
		d1.state.gate = null;
		const answers = await Promise.all(pending);
		expect(answers.every((a) => a.ok && a.catalog.byId.get("p1")?.name === "Product p1" && !a.stale)).toBe(true);
		expect(d1.state.loads).toBe(1);

		d1.state.data = { products: [product("p1", { name: "Renamed" })], warehouse_ids: ["w1"], warehouses: [] };
		c.t += 1999;
		expect(await names(cache)).toEqual(["Product p1"]);
		expect(d1.state.loads).toBe(1);
		c.t += 1; // the ttl has passed, counted from when the read was sent
		expect(await names(cache)).toEqual(["Renamed"]);
		expect(d1.state.loads).toBe(2);
		expect(cache.stats).toMatchObject({ loads: 2, joined: 199, memo_hits: 1 });
	});

	it("the ttl counts from when the D1 read was sent, not when it answered", async () => {
		const d1 = fakeD1({ products: [product("p1")], warehouse_ids: [], warehouses: [] });
		const c = clock();
		const gate = deferred();
		d1.state.gate = gate.promise;
		const cache = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000 });
		const first = cache.read();
		await until(() => d1.state.loads === 1);
		c.t += 1500; // a slow read
		gate.open();
		d1.state.gate = null;
		expect((await first).ok).toBe(true);
		c.t += 500;
		await cache.read();
		expect(d1.state.loads).toBe(2);
	});

	it("takes a young entry from the shared layer instead of D1, ignores one past the ttl, and shares what D1 answered", async () => {
		const d1 = fakeD1({ products: [product("p1", { name: "From D1" })], warehouse_ids: ["w1"], warehouses: [] });
		const shared = fakeShared();
		const c = clock();
		shared.entry = { at: c.t - 500, products: [product("p1", { name: "Shared" })], warehouse_ids: ["w1"], warehouses: [] };
		const cache = new CatalogCache({ load: d1.load, shared, now: c.now, ttlMs: 2000 });
		expect(await names(cache)).toEqual(["Shared"]);
		expect(d1.state.loads).toBe(0);
		// The shared entry's age counts: it is served from the memo only until at + ttl.
		c.t += 1500;
		expect(await names(cache)).toEqual(["From D1"]);
		expect(d1.state.loads).toBe(1);
		expect(shared.entry).toEqual({ at: c.t, products: [product("p1", { name: "From D1" })], warehouse_ids: ["w1"], warehouses: [] });

		const other = new CatalogCache({ load: d1.load, shared, now: c.now, ttlMs: 2000 });
		shared.entry = { ...shared.entry!, at: c.t - 2000 };
		expect(await names(other)).toEqual(["From D1"]);
		expect(d1.state.loads).toBe(2);
	});

	it("an admin write is seen by the next read at once: memo and shared entry dropped, older copies refused", async () => {
		const d1 = fakeD1({ products: [product("p1")], warehouse_ids: ["w1"], warehouses: [] });
		const shared = fakeShared();
		const c = clock();
		const cache = new CatalogCache({ load: d1.load, shared, now: c.now, ttlMs: 2000 });
		expect(await names(cache)).toEqual(["Product p1"]);
		c.t += 10;
		d1.state.data = { products: [product("p1", { name: "Written" })], warehouse_ids: ["w1"], warehouses: [] };
		await cache.invalidate();
		expect(shared.entry).toBeUndefined();
		// Another isolate of the location puts back a copy it read before the write: this isolate does not take it.
		shared.entry = { at: c.t - 5, products: [product("p1")], warehouse_ids: ["w1"], warehouses: [] };
		expect(await names(cache)).toEqual(["Written"]);
		expect(d1.state.loads).toBe(2);
	});

	it("a load in flight when a write lands is not kept, and readers after the write do not join it", async () => {
		const d1 = fakeD1({ products: [product("p1", { name: "Before" })], warehouse_ids: [], warehouses: [] });
		const c = clock();
		const cache = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000 });
		const gate = deferred();
		d1.state.gate = gate.promise;
		const early = cache.read();
		await until(() => d1.state.loads === 1);
		await cache.invalidate();
		d1.state.gate = null;
		d1.state.data = { products: [product("p1", { name: "After" })], warehouse_ids: [], warehouses: [] };
		const late = cache.read();
		gate.open();
		const [e, l] = await Promise.all([early, late]);
		expect(e.ok && e.catalog.products[0]!.name).toBe("Before");
		expect(l.ok && l.catalog.products[0]!.name).toBe("After");
		expect(await names(cache)).toEqual(["After"]);
		expect(d1.state.loads).toBe(2);
	});

	it("D1 failing with a copy younger than staleIfErrorMs: serves it flagged stale and asks D1 at most once per ttl", async () => {
		const d1 = fakeD1({ products: [product("p1")], warehouse_ids: ["w1"], warehouses: [] });
		const c = clock();
		const staleAges: number[] = [];
		const cache = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000, staleIfErrorMs: 30_000, onStale: (age) => staleAges.push(age) });
		expect((await cache.read()).ok).toBe(true);
		d1.state.fail = new Error("D1_ERROR: overloaded");
		c.t += 2000;
		const r = await cache.read();
		expect(r).toMatchObject({ ok: true, stale: true });
		expect(d1.state.loads).toBe(2);
		// Within a ttl of the failure, readers take the stale copy without asking D1 again.
		c.t += 1999;
		expect(await cache.read()).toMatchObject({ ok: true, stale: true });
		expect(d1.state.loads).toBe(2);
		c.t += 1;
		expect(await cache.read()).toMatchObject({ ok: true, stale: true });
		expect(d1.state.loads).toBe(3);
		expect(staleAges).toEqual([2000, 3999, 4000]);
		// D1 is back: the next load (a ttl after the last failure) is fresh again.
		d1.state.fail = null;
		c.t += 2000;
		expect(await cache.read()).toMatchObject({ ok: true, stale: false });
	});

	it("D1 failing with no copy, or one older than staleIfErrorMs: the read fails (the route answers 503)", async () => {
		const d1 = fakeD1({ products: [product("p1")], warehouse_ids: [], warehouses: [] });
		const c = clock();
		const cold = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000, staleIfErrorMs: 30_000 });
		d1.state.fail = new Error("D1_ERROR: unavailable");
		expect(await cold.read()).toMatchObject({ ok: false });
		// A cold cache does not wait out a ttl: the next reader asks again.
		expect(await cold.read()).toMatchObject({ ok: false });
		expect(d1.state.loads).toBe(2);

		d1.state.fail = null;
		const warm = new CatalogCache({ load: d1.load, now: c.now, ttlMs: 2000, staleIfErrorMs: 30_000 });
		expect((await warm.read()).ok).toBe(true);
		d1.state.fail = new Error("D1_ERROR: unavailable");
		c.t += 30_000;
		expect(await warm.read()).toMatchObject({ ok: false });
	});

	it("isFresh: served for less than the bound after the read was sent, never from the future", () => {
		expect(isFresh(1000, 1000, 2000)).toBe(true);
		expect(isFresh(1000, 2999, 2000)).toBe(true);
		expect(isFresh(1000, 3000, 2000)).toBe(false);
		expect(isFresh(1000, 999, 2000)).toBe(false);
	});
});

describe("availabilityOf", () => {
	const levels = (rows: Array<[string, string, number]>) => rows.map(([product_id, size, available]) => ({ product_id, size, on_hand: available, reserved: 0, available }));
	const perWarehouse = availableByWarehouse(
		new Map([
			["w1", levels([["tee", "S", 3], ["tee", "M", 1], ["cap", "U", 5]])],
			["w2", levels([["tee", "S", 4], ["cap", "U", 1]])],
		]),
	);
	const tee = product("tee");
	const kit = product("kit", { sizes: ["ONE"], components: [{ product_id: "tee", size: "S", quantity: 2 }, { product_id: "cap", size: "U", quantity: 1 }] });

	it("a plain product: each size summed over the warehouses; a size never stocked is 0", () => {
		expect(availabilityOf(product("tee", { sizes: ["S", "M", "L"] }), perWarehouse, () => true)).toEqual({ S: 7, M: 1, L: 0 });
	});

	it("a kit: whole kits per warehouse, summed (w1: min(3/2, 5) = 1, w2: min(4/2, 1) = 1)", () => {
		expect(availabilityOf(kit, perWarehouse, () => true)).toEqual({ ONE: 2 });
	});

	it("a kit with a component off sale shows 0", () => {
		expect(availabilityOf(kit, perWarehouse, (id) => id !== "cap")).toEqual({ ONE: 0 });
	});

	it("reads only the units it needs: sizes, or a kit's components, each once over a listing", () => {
		expect(unitsOf(tee)).toEqual([{ product_id: "tee", size: "S" }, { product_id: "tee", size: "M" }]);
		expect(unitsOf(kit)).toEqual([{ product_id: "tee", size: "S" }, { product_id: "cap", size: "U" }]);
		expect(unitsOfAll([tee, kit])).toEqual([{ product_id: "tee", size: "S" }, { product_id: "tee", size: "M" }, { product_id: "cap", size: "U" }]);
	});
});
