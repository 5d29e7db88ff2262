// Reads never queue behind checkout: product pages, summaries and fulfillment
// checks read availability from the cache (at most AVAILABILITY_TTL_MS old), so
// load sends a handful of Warehouse RPCs, not one per request; stock changes made
// through the API show in the next read; a stale view never sells what is not
// there (reserve decides) and never turns a buyer away (a shortage is re-read fresh).
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catalogClock } from "../../src/catalog/reads";
import { d1Queries } from "../../src/shared/d1Count";
import { AVAILABILITY_TTL_MS } from "../../src/stock/cache";
import { availabilityClock, warehouseRpcs } from "../../src/stock/client";
import { admin, call } from "../helpers/http";
import { CA, customer, expectInvariants, makeShop, NY, onHand, placeOrder } from "../helpers/shop";

const TX = { postal_code: "73301", region: "TX" };

async function activeWarehouses(): Promise<number> {
	const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM warehouses WHERE active = 1`).first<{ n: number }>();
	return row!.n;
}

async function availability(productId: string): Promise<Record<string, number>> {
	const r = await call("GET", `/products/${productId}`);
	expect(r.status, JSON.stringify(r.body)).toBe(200);
	return r.body.availability;
}

/** Stops the cache's clock at `at` (the Worker runs in this isolate, so it reads the same clock). */
function stopClock(at = Date.now()) {
	availabilityClock.now = () => at;
	return {
		set: (t: number) => void (availabilityClock.now = () => t),
		restore: () => void (availabilityClock.now = () => Date.now()),
	};
}

/** Warehouse RPCs sent while `work` runs (the isolate's counter: the Worker runs in this isolate). */
async function rpcsDuring<T>(work: () => Promise<T>): Promise<{ result: T; total: number; byMethod: Record<string, number> }> {
	const before = warehouseRpcs();
	const result = await work();
	const after = warehouseRpcs();
	const byMethod: Record<string, number> = {};
	for (const [m, n] of Object.entries(after.byMethod)) if (n - (before.byMethod[m] ?? 0) > 0) byMethod[m] = n - (before.byMethod[m] ?? 0);
	return { result, total: after.total - before.total, byMethod };
}

/** Takes units at the object directly, as another location's request would: this isolate's cache does not hear of it. */
async function takeBehindTheCache(warehouseId: string, productId: string, quantity: number) {
	const r = await env.WAREHOUSE.getByName(warehouseId).deduct(`elsewhere-${crypto.randomUUID()}`, [{ product_id: productId, size: "M", quantity }]);
	expect(r.ok).toBe(true);
}

describe("availability reads under load", () => {
	// First in the file: the only active warehouses are this test's three, all cold.
	it("200 concurrent product-page reads send at most one RPC per warehouse: <= 0.05 RPCs per page view", async () => {
		const shop = await makeShop({ sizes: ["S", "M"], warehouses: [{ ...NY, stock: { "0/M": 5 } }, { ...TX, stock: { "0/M": 3 } }, { ...CA, stock: { "0/S": 2 } }] });
		const p = shop.products[0]!;
		const views = 200;
		// One ttl window, whatever this machine's speed: the cache's clock stands still while the 200 views are served.
		const clock = stopClock();
		const { result, total, byMethod } = await rpcsDuring(() => Promise.all(Array.from({ length: views }, () => call("GET", `/products/${p}`)))).finally(clock.restore);
		expect(result.every((r) => r.status === 200)).toBe(true);
		expect(new Set(result.map((r) => JSON.stringify(r.body.availability)))).toEqual(new Set([JSON.stringify({ S: 2, M: 8 })]));
		// Every warehouse was cold, so each was asked once: one RPC per warehouse, not one per view.
		expect(total).toBe(3);
		expect(Object.keys(byMethod)).toEqual(["snapshot"]);
		expect(total / views).toBeLessThanOrEqual(0.05);
	});

	it("fulfillment checks and cart summaries read the same cache", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 4 } }, { ...CA, stock: { "0/M": 4 } }] });
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const w = await activeWarehouses();
		const clock = stopClock(); // one ttl window (see above)
		try {
			const checks = await rpcsDuring(() =>
				Promise.all(Array.from({ length: 100 }, () => call("POST", "/api/fulfillment/check", { auth: buyer.auth, body: { items: [{ product_id: p, size: "M", quantity: 6 }] } }))),
			);
			expect(checks.result.every((r) => r.status === 200 && r.body.available === true)).toBe(true);
			// One refresh per active warehouse at most (this test's two were cold), whatever the number of requests.
			expect(Object.keys(checks.byMethod)).toEqual(["snapshot"]);
			expect(checks.total).toBeGreaterThanOrEqual(2);
			expect(checks.total).toBeLessThanOrEqual(w);
			const summaries = await rpcsDuring(() => Promise.all(Array.from({ length: 100 }, () => call("GET", "/cart/summary", { auth: buyer.auth }))));
			expect(summaries.result.every((r) => r.status === 200 && r.body.available === true)).toBe(true);
			expect(summaries.total).toBe(0);
		} finally {
			clock.restore();
		}
	});
});

describe("listings read the same caches as product pages", () => {
	it("in one ttl window, 100 listings and 100 pages send one snapshot RPC per warehouse and one D1 read in all, then none", async () => {
		const shop = await makeShop({ sizes: ["S", "M"], warehouses: [{ ...NY, stock: { "0/M": 5 } }, { ...TX, stock: { "0/S": 1 } }] });
		const p = shop.products[0]!;
		const clock = stopClock();
		const catalogAt = Date.now();
		catalogClock.now = () => catalogAt;
		const views = () => Promise.all(Array.from({ length: 200 }, (_, i) => call("GET", i % 2 ? "/products" : `/products/${p}`)));
		try {
			const d1Before = d1Queries();
			const cold = await rpcsDuring(views);
			expect(cold.result.every((r) => r.status === 200)).toBe(true);
			const listed = cold.result[1]!.body.products.find((x: { product_id: string }) => x.product_id === p);
			expect(listed.availability).toEqual({ S: 1, M: 5 });
			expect(cold.result[0]!.body.availability).toEqual({ S: 1, M: 5 });
			// The listing reads every active warehouse of the shop, this test's two among them, each once at most.
			expect(Object.keys(cold.byMethod)).toEqual(["snapshot"]);
			expect(cold.total).toBeGreaterThanOrEqual(2);
			expect(cold.total).toBeLessThanOrEqual(await activeWarehouses());
			expect(d1Queries() - d1Before).toBe(2); // the shop's admin writes dropped the catalog: one load (two statements)
			const d1Warm = d1Queries();
			const warm = await rpcsDuring(views);
			expect(warm.result.every((r) => r.status === 200)).toBe(true);
			expect(warm.total).toBe(0);
			expect(d1Queries() - d1Warm).toBe(0);
		} finally {
			clock.restore();
			catalogClock.now = () => Date.now();
		}
	});
});

/**
 * The cache's clock stands still in these tests, so "the next read" is always
 * inside the ttl however slow this machine is: what they show is the
 * invalidation or the stale view, never an expiry that happened to pass.
 */
let clock: ReturnType<typeof stopClock>;
function freezeClock() {
	beforeEach(() => void (clock = stopClock()));
	afterEach(() => clock.restore());
}

describe("a change made through the API shows in the next read", () => {
	freezeClock();

	it("admin set, adjust, deduct and restore", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const [wh] = shop.warehouses as [string];
		const p = shop.products[0]!;
		expect((await availability(p)).M).toBe(5);

		expect((await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 9 }] } })).status).toBe(200);
		expect((await availability(p)).M).toBe(9);
		expect((await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id: p, size: "M", delta: -4, reason: "damage" } })).status).toBe(200);
		expect((await availability(p)).M).toBe(5);
		expect((await call("POST", "/api/stock/deduct", { auth, body: { warehouse_id: wh, product_id: p, size: "M", quantity: 2 } })).status).toBe(200);
		expect((await availability(p)).M).toBe(3);
		expect((await call("POST", "/api/stock/restore", { auth, body: { warehouse_id: wh, product_id: p, size: "M", quantity: 1 } })).status).toBe(200);
		expect((await availability(p)).M).toBe(4);
	});

	it("a placed order shows in the next read without a refresh; its cancellation shows at once", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		expect((await availability(p)).M).toBe(5);
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const placed = await placeOrder(buyer.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		// The order's own hold lowered this isolate's copy: no snapshot RPC needed to show it.
		const after = await rpcsDuring(() => availability(p));
		expect(after.result.M).toBe(3);
		expect(after.byMethod.snapshot ?? 0).toBe(0);

		const cancelled = await call("POST", `/orders/${placed.body.order_id}/cancel`, { auth: buyer.auth, body: {} });
		expect(cancelled.status).toBe(200);
		expect((await availability(p)).M).toBe(5);
	});

	it("a change made behind the gateway's back shows within the ttl (the stated bound)", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const [wh] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const start = availabilityClock.now();
		expect((await availability(p)).M).toBe(5);
		await takeBehindTheCache(wh, p, 4);
		clock.set(start + AVAILABILITY_TTL_MS - 1);
		expect((await availability(p)).M).toBe(5); // still inside the bound: the cached view
		clock.set(start + AVAILABILITY_TTL_MS);
		expect((await availability(p)).M).toBe(1); // the bound reached: asked again
	});
});

describe("only reserve decides", () => {
	freezeClock();

	/** Two tier_1 warehouses for the buyer (no single nearest one, so checkout plans from the cache), A with more stock. */
	async function twoNearby(a: number, b: number) {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": a } }, { ...NY, stock: { "0/M": b } }] });
		const [A, B] = shop.warehouses as [string, string];
		return { shop, A, B, p: shop.products[0]! };
	}

	it("stale cache says A can ship, A's reserve refuses, the re-plan with fresh levels ships from B", async () => {
		const { shop, A, B, p } = await twoNearby(5, 2);
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		expect((await availability(p)).M).toBe(7); // the cache now says A: 5, B: 2
		await takeBehindTheCache(A, p, 5);
		const placed = await rpcsDuring(() => placeOrder(buyer.auth));
		expect(placed.result.status, JSON.stringify(placed.result.body)).toBe(201);
		expect(placed.result.body.products[0].allocations).toEqual([{ warehouse_id: B, quantity: 2 }]);
		// The plan from the cache chose A (refused), the fresh re-plan chose B: two reserves.
		expect(placed.byMethod.reserve).toBe(2);
		// A refused outright: it holds nothing for this order, so no release (a tombstone write) is sent there.
		expect(placed.byMethod.release ?? 0).toBe(0);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		// The fresh levels the re-plan read now serve the next page view.
		expect((await availability(p)).M).toBe(0);
		await expectInvariants(shop.warehouses, { settled: true });
	});

	it("stale cache, and fresh levels are short too: 409 OUT_OF_STOCK with the true numbers, nothing held", async () => {
		const { shop, A, B, p } = await twoNearby(5, 2);
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		expect((await availability(p)).M).toBe(7);
		await takeBehindTheCache(A, p, 5);
		await takeBehindTheCache(B, p, 1);
		const r = await placeOrder(buyer.auth);
		expect(r.status, JSON.stringify(r.body)).toBe(409);
		expect(r.body.code).toBe("OUT_OF_STOCK");
		expect(r.body.details).toEqual([{ product_id: p, size: "M", requested: 2, available: 1 }]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		await expectInvariants(shop.warehouses, { settled: true });
	});

	it("a shortage seen in the cache is re-read fresh before a buyer is turned away", async () => {
		const { shop, A, p } = await twoNearby(1, 0);
		const buyer = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		expect((await availability(p)).M).toBe(1); // the cache says 1 in all
		const restocked = await env.WAREHOUSE.getByName(A).restore(`elsewhere-${crypto.randomUUID()}`, [{ product_id: p, size: "M", quantity: 4 }]);
		expect(restocked.ok).toBe(true);
		const r = await placeOrder(buyer.auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body.products[0].allocations).toEqual([{ warehouse_id: A, quantity: 3 }]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		await expectInvariants(shop.warehouses, { settled: true });
	});
});
