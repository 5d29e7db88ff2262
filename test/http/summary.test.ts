// GET /cart/summary: totals (tax half up), delivery cost by tier and mode,
// availability with allocations or shortages, both delivery options, query
// validation, and that it holds nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call } from "../helpers/http";
import { ADDRESS, CA, customer, expectInvariants, makeShop, NY, nyAndCaShop, onHand, placeOrder } from "../helpers/shop";

/** expectInvariants over every warehouse in D1 (storage is shared by the tests of one file). */
async function expectSettled(own: string[]) {
	const { results } = await env.DB.prepare(`SELECT warehouse_id FROM warehouses`).all<{ warehouse_id: string }>();
	await expectInvariants([...new Set([...own, ...results.map((r) => r.warehouse_id)])], { settled: true });
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function cents(x: number): number {
	return Math.round(x * 100);
}

function expectConsistentTotals(s: any) {
	expect(cents(s.total)).toBe(cents(s.subtotal) + cents(s.delivery_cost) + cents(s.tax));
	const chosen = s.delivery_options.find((o: any) => o.delivery_mode === s.delivery_mode);
	expect(chosen.delivery_cost).toBe(s.delivery_cost);
	expect(chosen.estimated_delivery_date).toBe(s.estimated_delivery_date);
}

async function summary(auth: string, mode?: string) {
	const r = await call("GET", mode === undefined ? "/cart/summary" : `/cart/summary?delivery_mode=${encodeURIComponent(mode)}`, { auth });
	expect(r.status, JSON.stringify(r.body)).toBe(200);
	return r.body;
}

describe("GET /cart/summary", () => {
	it("totals a cart: subtotal, 10% tax rounded half up, delivery cost, total = sum", async () => {
		// 10.05 x 3 = 30.15; tax 3.015 -> 3.02; tier_1: standard 4.99, express 9.99.
		const shop = await makeShop({ price: 10.05, warehouses: [{ ...NY, stock: { "0/M": 5, "0/S": 5 } }] });
		const p = shop.products[0]!;
		const { auth } = await customer([
			{ product_id: p, size: "M", quantity: 2 },
			{ product_id: p, size: "S", quantity: 1 },
		]);
		const cart = await call("GET", "/cart", { auth });
		const s = await summary(auth, "standard");
		expect(s.items).toEqual(cart.body.items);
		expect(s.address).toEqual(ADDRESS);
		expect(s.currency).toBe("USD");
		expect(s.subtotal).toBe(30.15);
		expect(s.tax).toBe(3.02);
		expect(s.delivery_mode).toBe("standard");
		expect(s.delivery_tier).toBe("tier_1");
		expect(s.delivery_cost).toBe(4.99);
		expect(s.total).toBe(38.16);
		expect(s.estimated_delivery_date).toMatch(DATE);
		expectConsistentTotals(s);
		const x = await summary(auth, "express");
		expect(x.delivery_cost).toBe(9.99);
		expect(x.total).toBe(43.16);
		expect(x.subtotal).toBe(30.15);
		expect(x.tax).toBe(3.02);
		expectConsistentTotals(x);
		// delivery_mode absent: standard.
		const d = await summary(auth);
		expect(d.delivery_mode).toBe("standard");
		expect(d.total).toBe(38.16);
	});

	it("rounds tax half up at the cent and never down", async () => {
		// 0.05 x 1 = 0.05: tax 0.005 -> 0.01. 0.04: tax 0.004 -> 0.00. 0.15 x 3 = 0.45: 0.045 -> 0.05.
		for (const [price, quantity, tax] of [
			[0.05, 1, 0.01],
			[0.04, 1, 0],
			[0.15, 3, 0.05],
			[33.33, 3, 10],
		] as const) {
			const shop = await makeShop({ price, warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
			const { auth } = await customer([{ product_id: shop.products[0]!, size: "M", quantity }]);
			const s = await summary(auth);
			expect(s.subtotal, `${price} x ${quantity}`).toBe(Math.round(price * quantity * 100) / 100);
			expect(s.tax, `${price} x ${quantity}`).toBe(tax);
			expectConsistentTotals(s);
		}
	});

	it("prices delivery by tier and mode", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const cases = [
			{ address: { ...ADDRESS, postal_code: "10016" }, tier: "tier_1", standard: 4.99, express: 9.99 },
			{ address: { ...ADDRESS, postal_code: "14201", city: "Buffalo" }, tier: "tier_2", standard: 6.99, express: 12.99 },
			{ address: { ...ADDRESS, ...CA, city: "San Francisco" }, tier: "tier_3", standard: 9.99, express: 17.99 },
		];
		for (const c of cases) {
			const { auth } = await customer([{ product_id: p, size: "M", quantity: 1 }], c.address);
			const s = await summary(auth, "standard");
			const x = await summary(auth, "express");
			expect([s.delivery_tier, x.delivery_tier], c.tier).toEqual([c.tier, c.tier]);
			expect(s.delivery_cost).toBe(c.standard);
			expect(x.delivery_cost).toBe(c.express);
			expect(x.delivery_cost).toBeGreaterThan(s.delivery_cost);
			for (const one of [s, x]) {
				expect(one.delivery_options).toEqual([
					{ delivery_mode: "standard", delivery_cost: c.standard, estimated_delivery_date: expect.stringMatching(DATE) },
					{ delivery_mode: "express", delivery_cost: c.express, estimated_delivery_date: expect.stringMatching(DATE) },
				]);
				expectConsistentTotals(one);
			}
			// Express is never later than standard.
			expect(x.estimated_delivery_date <= s.estimated_delivery_date).toBe(true);
		}
	});

	it("shows availability with allocations and tiers; a split takes the worst tier", async () => {
		const { p0, p1, wNY, wCA } = await nyAndCaShop({ "0/M": 2 }, { "1/L": 3 });
		const { auth } = await customer([{ product_id: p0, size: "M", quantity: 2 }]);
		const one = await summary(auth);
		expect(one.available).toBe(true);
		expect(one.shortages).toEqual([]);
		expect(one.allocations).toEqual([{ warehouse_id: wNY, product_id: p0, size: "M", quantity: 2, tier: "tier_1" }]);
		expect(one.delivery_tier).toBe("tier_1");
		await call("POST", "/cart/items", { auth, body: { product_id: p1, size: "L", quantity: 3 } });
		const split = await summary(auth);
		expect(split.available).toBe(true);
		expect(split.allocations).toEqual(
			expect.arrayContaining([
				{ warehouse_id: wNY, product_id: p0, size: "M", quantity: 2, tier: "tier_1" },
				{ warehouse_id: wCA, product_id: p1, size: "L", quantity: 3, tier: "tier_3" },
			]),
		);
		expect(split.allocations).toHaveLength(2);
		expect(split.delivery_tier).toBe("tier_3");
		expect(split.delivery_cost).toBe(9.99);
		expectConsistentTotals(split);
	});

	it("lists shortages (available summed over the active warehouses) when the cart cannot be served", async () => {
		const shop = await makeShop({
			warehouses: [
				{ ...NY, stock: { "0/M": 2, "0/S": 9 } },
				{ ...CA, stock: { "0/M": 1 } },
			],
		});
		const p = shop.products[0]!;
		const { auth } = await customer([
			{ product_id: p, size: "M", quantity: 4 },
			{ product_id: p, size: "S", quantity: 1 },
		]);
		const s = await summary(auth);
		expect(s.available).toBe(false);
		expect(s.allocations).toEqual([]);
		expect(s.shortages).toEqual([{ product_id: p, size: "M", requested: 4, available: 3 }]);
		// Totals are still quoted (at the farthest tier, since no plan exists).
		expect(s.subtotal).toBe(50);
		expect(s.tax).toBe(5);
		expect(s.delivery_tier).toBe("tier_3");
		expectConsistentTotals(s);
		// And place-order agrees.
		const r = await placeOrder(auth);
		expect(r.status).toBe(409);
		expect(r.body.details).toEqual(s.shortages);
		await expectSettled(shop.warehouses);
	});

	it("an inactive product in the cart shows as a shortage, as place-order would answer", async () => {
		const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: { "0/M": 5, "1/M": 5 } }] });
		const [p0, p1] = shop.products as [string, string];
		const { auth } = await customer([
			{ product_id: p0, size: "M", quantity: 1 },
			{ product_id: p1, size: "M", quantity: 1 },
		]);
		expect((await summary(auth)).available).toBe(true);
		const put = await call("PUT", `/admin/products/${p0}`, { auth: await admin(), body: { name: "Product 0", price: 10, sizes: ["S", "M", "L"], active: false } });
		expect(put.status).toBe(200);
		const s = await summary(auth);
		const r = await placeOrder(auth);
		expect(r.status).toBe(409);
		expect(r.body.code).toBe("OUT_OF_STOCK");
		expect(s.available).toBe(false);
		expect(s.allocations).toEqual([]);
		expect(s.shortages).toEqual(r.body.details);
		expect(s.shortages).toEqual([{ product_id: p0, size: "M", requested: 1, available: 0 }]);
		await expectSettled(shop.warehouses);
	});

	it("an empty cart: no items, zero subtotal and tax, not available", async () => {
		await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const { auth } = await customer([], null);
		const s = await summary(auth);
		expect(s.items).toEqual([]);
		expect(s.address).toBeNull();
		expect(s.subtotal).toBe(0);
		expect(s.tax).toBe(0);
		expect(s.available).toBe(false);
		expect(s.allocations).toEqual([]);
		expect(s.shortages).toEqual([]);
		expect(s.delivery_options.map((o: any) => o.delivery_mode)).toEqual(["standard", "express"]);
		expectConsistentTotals(s);
	});

	it("without an address every warehouse counts as tier_3", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const { auth } = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }], null);
		const s = await summary(auth);
		expect(s.address).toBeNull();
		expect(s.available).toBe(true);
		expect(s.delivery_tier).toBe("tier_3");
		expect(s.allocations).toEqual([{ warehouse_id: shop.warehouses[0], product_id: shop.products[0], size: "M", quantity: 1, tier: "tier_3" }]);
		expectConsistentTotals(s);
	});

	it("a bad delivery_mode query is 400 VALIDATION_ERROR", async () => {
		const { auth } = await customer([], null);
		for (const mode of ["overnight", "", "EXPRESS"]) {
			const r = await call("GET", `/cart/summary?delivery_mode=${mode}`, { auth });
			expect(r.status, mode).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
			expect(r.body.error).toEqual(expect.any(String));
			expect(r.body.details.map((d: any) => d.field)).toEqual([expect.stringContaining("delivery_mode")]);
		}
	});

	it("is 401 without a token", async () => {
		const r = await call("GET", "/cart/summary");
		expect(r.status).toBe(401);
		expect(r.body.code).toBe("UNAUTHORIZED");
	});

	it("holds nothing, even when many summaries run at once", async () => {
		const shop = await makeShop({
			warehouses: [
				{ ...NY, stock: { "0/M": 2 } },
				{ ...CA, stock: { "0/M": 2 } },
			],
		});
		const p = shop.products[0]!;
		const { auth } = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		const all = await Promise.all(Array.from({ length: 8 }, (_, i) => call("GET", `/cart/summary?delivery_mode=${i % 2 ? "express" : "standard"}`, { auth })));
		for (const r of all) {
			expect(r.status).toBe(200);
			expect(r.body.available).toBe(true);
		}
		for (const w of shop.warehouses) expect(await onHand(w, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		const snapshot = await call("GET", `/admin/warehouses/${shop.warehouses[0]}/ledger`, { auth: await admin() });
		expect(snapshot.body.entries.filter((e: any) => e.reason === "reserve")).toEqual([]);
		// Another buyer can still take every unit the summaries looked at.
		const other = await customer([{ product_id: p, size: "M", quantity: 4 }]);
		expect((await placeOrder(other.auth)).status).toBe(201);
		const after = await summary(auth);
		expect(after.available).toBe(false);
		expect(after.shortages).toEqual([{ product_id: p, size: "M", requested: 3, available: 0 }]);
		await expectSettled(shop.warehouses);
	});
});
