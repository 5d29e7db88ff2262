// Place-order through the Worker's real fetch handler: an order's stock, cart
// and row, the contract's error answers, delivery tiers, the allocation
// preference and the fulfillment check.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { outboxOf } from "../helpers/commits";
import { admin, call, uid } from "../helpers/http";
import { ADDRESS, CA, customer, expectInvariants, makeShop, NY, nyAndCaShop, onHand, placeOrder } from "../helpers/shop";
import { eventually } from "../helpers/time";
import { dbOfCustomer, dbOfOrder } from "../helpers/shards";

/**
 * expectInvariants compares every order in D1 with the ledgers of the warehouses
 * it is given; storage is shared by the tests of one file, so it gets every
 * warehouse in D1 (a superset of the test's own shop.warehouses).
 */
async function expectSettled(own: string[]) {
	const { results } = await env.DB.prepare(`SELECT warehouse_id FROM warehouses`).all<{ warehouse_id: string }>();
	const all = [...new Set([...own, ...results.map((r) => r.warehouse_id)])];
	await expectInvariants(all, { settled: true });
}

function expectError(r: { status: number; body: any }, status: number, code: string) {
	expect(r.status, JSON.stringify(r.body)).toBe(status);
	expect(r.body).toEqual(expect.objectContaining({ code, error: expect.any(String) }));
	expect(r.body.error.length).toBeGreaterThan(0);
}

async function orderRows(userId: string) {
	const { results } = await dbOfCustomer(userId).prepare(`SELECT * FROM orders WHERE user_id = ?`).bind(userId).all<Record<string, any>>();
	return results;
}

async function cartRow(userId: string, cartId: string) {
	return dbOfCustomer(userId).prepare(`SELECT * FROM carts WHERE cart_id = ?`).bind(cartId).first<Record<string, any>>();
}

/** An independent reading of "n business days after the day of `from` (UTC), weekends skipped". */
function businessDaysAfter(from: Date, n: number): string {
	const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
	const weekend = () => d.getUTCDay() === 0 || d.getUTCDay() === 6;
	while (weekend()) d.setUTCDate(d.getUTCDate() + 1);
	for (let left = n; left > 0; ) {
		d.setUTCDate(d.getUTCDate() + 1);
		if (!weekend()) left--;
	}
	return d.toISOString().slice(0, 10);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

describe("placing an order: stock taken, cart completed, order row written, the last unit sold once", () => {
	it("single user places an order", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 3 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body).toEqual(
			expect.objectContaining({
				order_id: expect.stringMatching(/^ord_/),
				user_id: sub,
				status: "pending",
				payment_status: "pending",
				delivery_mode: "standard",
				delivery_tier: "tier_1",
				currency: "USD",
				tracking_number: null,
				address: ADDRESS,
				estimated_delivery_date: expect.stringMatching(DATE),
				created_at: expect.any(String),
				updated_at: expect.any(String),
			}),
		);
		expect(r.body.products).toEqual([{ product_id: p, size: "M", name: "Product 0", quantity: 2, unit_price: 10, allocations: [{ warehouse_id: shop.warehouses[0], quantity: 2 }] }]);
		const rows = await orderRows(sub);
		expect(rows).toHaveLength(1);
		expect(rows[0]!.order_id).toBe(r.body.order_id);
		// The order's history (its first row read from the order), and no outbox work left behind.
		const history = await dbOfOrder(r.body.order_id).prepare(`SELECT old_status, new_status, reason FROM order_history WHERE order_id = ?`).bind(r.body.order_id).all();
		expect(history.results).toEqual([{ old_status: null, new_status: "pending", reason: "order placed" }]);
		// Confirmed commits' outbox rows are cleared after the answer (gathered with other requests' for a moment).
		await eventually(async () => expect(await outboxOf(r.body.order_id)).toEqual([]), { timeoutMs: 5_000 });
		await expectSettled(shop.warehouses);
	});

	it("stock deducted correctly from the warehouses", async () => {
		const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: { "0/M": 5, "0/L": 4, "1/M": 7 } }] });
		const [p0, p1] = shop.products as [string, string];
		const w = shop.warehouses[0]!;
		const { auth } = await customer([
			{ product_id: p0, size: "M", quantity: 2 },
			{ product_id: p1, size: "M", quantity: 7 },
		]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(await onHand(w, p0, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await onHand(w, p1, "M")).toEqual({ on_hand: 0, reserved: 0 });
		// A size that was not ordered is untouched.
		expect(await onHand(w, p0, "L")).toEqual({ on_hand: 4, reserved: 0 });
		// The admin view agrees.
		const stock = await call("GET", `/admin/warehouses/${w}/stock`, { auth: await admin() });
		expect(stock.body.items).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ product_id: p0, size: "M", on_hand: 3, reserved: 0, available: 3 }),
				expect.objectContaining({ product_id: p1, size: "M", on_hand: 0, reserved: 0, available: 0 }),
			]),
		);
		// The ledger shows one commit per line, referencing the order.
		const ledger = await call("GET", `/admin/warehouses/${w}/ledger?limit=100`, { auth: await admin() });
		const commits = ledger.body.entries.filter((e: any) => e.reason === "commit" && e.ref === r.body.order_id);
		expect(commits.map((e: any) => [e.product_id, e.size, e.on_hand_delta]).sort()).toEqual(
			[
				[p0, "M", -2],
				[p1, "M", -7],
			].sort(),
		);
		await expectSettled(shop.warehouses);
	});

	it("cart marked completed", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 3 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const before = await call("GET", "/cart", { auth });
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		// The completed cart is kept in D1, with its lines.
		const row = await cartRow(sub, before.body.cart_id);
		expect(row).toEqual(expect.objectContaining({ cart_id: before.body.cart_id, user_id: sub, status: "completed" }));
		expect(row!.completed_at).toEqual(expect.any(String));
		const items = await dbOfCustomer(sub).prepare(`SELECT product_id, size, quantity FROM cart_items WHERE cart_id = ?`).bind(before.body.cart_id).all();
		expect(items.results).toEqual([{ product_id: p, size: "M", quantity: 1 }]);
		const order = await dbOfOrder(r.body.order_id).prepare(`SELECT cart_id FROM orders WHERE order_id = ?`).bind(r.body.order_id).first<{ cart_id: string }>();
		expect(order!.cart_id).toBe(before.body.cart_id);
		// The next GET /cart is a new, empty, active cart.
		const next = await call("GET", "/cart", { auth });
		expect(next.status).toBe(200);
		expect(next.body).toEqual({ cart_id: expect.any(String), status: "active", items: [], address: null, subtotal: 0, currency: "USD" });
		expect(next.body.cart_id).not.toBe(before.body.cart_id);
		const carts = await dbOfCustomer(sub).prepare(`SELECT status FROM carts WHERE user_id = ? ORDER BY created_at`).bind(sub).all<{ status: string }>();
		expect(carts.results.map((c) => c.status).sort()).toEqual(["active", "completed"]);
		// Ordering again with the new (empty) cart is CART_EMPTY, not a second order.
		expectError(await placeOrder(auth), 400, "CART_EMPTY");
		expect(await orderRows(sub)).toHaveLength(1);
		await expectSettled(shop.warehouses);
	});

	it("order row holds the correct data", async () => {
		// 10.05 x 3 = 30.15; 10% tax = 3.015, half up 3.02; tier_1 standard 4.99; total 38.16.
		const shop = await makeShop({ price: 10.05, warehouses: [{ ...NY, stock: { "0/M": 5, "0/S": 5 } }] });
		const p = shop.products[0]!;
		const w = shop.warehouses[0]!;
		const address = { ...ADDRESS, line2: "Floor 2", phone: "+1 212 555 0100" };
		const { sub, auth } = await customer(
			[
				{ product_id: p, size: "M", quantity: 2 },
				{ product_id: p, size: "S", quantity: 1 },
			],
			address,
		);
		const cartId = (await call("GET", "/cart", { auth })).body.cart_id;
		const t0 = new Date();
		const r = await placeOrder(auth, { delivery_mode: "standard" });
		const t1 = new Date();
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body.subtotal).toBe(30.15);
		expect(r.body.tax).toBe(3.02);
		expect(r.body.delivery_cost).toBe(4.99);
		expect(r.body.total).toBe(38.16);

		const rows = await orderRows(sub);
		expect(rows).toHaveLength(1);
		const row = rows[0]!;
		expect(row.order_id).toBe(r.body.order_id);
		expect(row.cart_id).toBe(cartId);
		expect(row.status).toBe("pending");
		expect(row.payment_status).toBe("pending");
		// Money is stored in integer cents.
		expect(row.subtotal).toBe(3015);
		expect(row.tax).toBe(302);
		expect(row.delivery_cost).toBe(499);
		expect(row.total).toBe(3816);
		expect(row.total).toBe(row.subtotal + row.delivery_cost + row.tax);
		expect(row.currency).toBe("USD");
		expect(row.delivery_mode).toBe("standard");
		expect(row.delivery_tier).toBe("tier_1");
		expect(row.estimated_delivery_date).toMatch(DATE);
		expect([businessDaysAfter(t0, 3), businessDaysAfter(t1, 3)]).toContain(row.estimated_delivery_date);
		expect(row.estimated_delivery_date).toBe(r.body.estimated_delivery_date);
		expect(JSON.parse(row.address)).toEqual(address);
		const products = JSON.parse(row.products);
		expect(products).toHaveLength(2);
		expect(products).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ product_id: p, size: "M", name: "Product 0", quantity: 2, allocations: [{ warehouse_id: w, quantity: 2 }] }),
				expect.objectContaining({ product_id: p, size: "S", name: "Product 0", quantity: 1, allocations: [{ warehouse_id: w, quantity: 1 }] }),
			]),
		);
		// The API view shows the same lines with prices in major units.
		expect(r.body.products).toEqual(
			expect.arrayContaining([
				{ product_id: p, size: "M", name: "Product 0", quantity: 2, unit_price: 10.05, allocations: [{ warehouse_id: w, quantity: 2 }] },
				{ product_id: p, size: "S", name: "Product 0", quantity: 1, unit_price: 10.05, allocations: [{ warehouse_id: w, quantity: 1 }] },
			]),
		);
		await expectSettled(shop.warehouses);
	});

	it("two users ordering the last item, only one succeeds", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 1 } }] });
		const p = shop.products[0]!;
		const a = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const b = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const [ra, rb] = await Promise.all([placeOrder(a.auth), placeOrder(b.auth)]);
		const answers = [ra, rb];
		expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
		const loser = answers.find((r) => r.status === 409)!;
		expectError(loser, 409, "OUT_OF_STOCK");
		expect(loser.body.details).toEqual([{ product_id: p, size: "M", requested: 1, available: 0 }]);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		const loserAuth = loser === ra ? a.auth : b.auth;
		const loserCart = await call("GET", "/cart", { auth: loserAuth });
		expect(loserCart.body.status).toBe("active");
		expect(loserCart.body.items).toEqual([expect.objectContaining({ product_id: p, size: "M", quantity: 1 })]);
		expect((await orderRows(a.sub)).length + (await orderRows(b.sub)).length).toBe(1);
		await expectSettled(shop.warehouses);
	});

	it("insufficient stock rejected", async () => {
		const shop = await makeShop({
			products: 2,
			warehouses: [
				{ ...NY, stock: { "0/M": 2, "1/M": 5 } },
				{ ...CA, stock: { "0/M": 1 } },
				{ postal_code: "60601", region: "IL", stock: { "0/M": 10 } },
			],
		});
		const [p0, p1] = shop.products as [string, string];
		// The third warehouse is made inactive: its stock does not count.
		const off = shop.warehouses[2]!;
		const deact = await call("PUT", `/admin/warehouses/${off}`, { auth: await admin(), body: { name: off, postal_code: "60601", region: "IL", country: "US", active: false } });
		expect(deact.status).toBe(200);
		const { sub, auth } = await customer([
			{ product_id: p0, size: "M", quantity: 5 },
			{ product_id: p1, size: "M", quantity: 1 },
		]);
		const cartBefore = await call("GET", "/cart", { auth });
		const r = await placeOrder(auth);
		expectError(r, 409, "OUT_OF_STOCK");
		// One entry per short unit; the unit that is in stock is not listed.
		expect(r.body.details).toEqual([{ product_id: p0, size: "M", requested: 5, available: 3 }]);
		// Nothing is held or taken anywhere.
		expect(await onHand(shop.warehouses[0]!, p0, "M")).toEqual({ on_hand: 2, reserved: 0 });
		expect(await onHand(shop.warehouses[0]!, p1, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect(await onHand(shop.warehouses[1]!, p0, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await onHand(off, p0, "M")).toEqual({ on_hand: 10, reserved: 0 });
		// The cart stays active with its lines, and no order was written.
		const cartAfter = await call("GET", "/cart", { auth });
		expect(cartAfter.body.cart_id).toBe(cartBefore.body.cart_id);
		expect(cartAfter.body.status).toBe("active");
		expect(cartAfter.body.items).toEqual(cartBefore.body.items);
		expect(await orderRows(sub)).toHaveLength(0);
		await expectSettled(shop.warehouses);
	});

	it("a multi-product order from different warehouses deducts all", async () => {
		const { shop, p0, p1, wNY, wCA } = await nyAndCaShop({ "0/M": 2 }, { "1/L": 3 });
		const { sub, auth } = await customer([
			{ product_id: p0, size: "M", quantity: 2 },
			{ product_id: p1, size: "L", quantity: 2 },
		]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		const byProduct = Object.fromEntries(r.body.products.map((x: any) => [x.product_id, x.allocations]));
		expect(byProduct[p0]).toEqual([{ warehouse_id: wNY, quantity: 2 }]);
		expect(byProduct[p1]).toEqual([{ warehouse_id: wCA, quantity: 2 }]);
		// A split order takes its worst tier: the CA warehouse is tier_3 for a NY address.
		expect(r.body.delivery_tier).toBe("tier_3");
		expect(r.body.delivery_cost).toBe(9.99);
		expect(await onHand(wNY, p0, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(wCA, p1, "L")).toEqual({ on_hand: 1, reserved: 0 });
		expect(JSON.parse((await orderRows(sub))[0]!.products)).toHaveLength(2);
		await expectSettled(shop.warehouses);
	});

	it("a single line larger than any one warehouse is split and deducted at both", async () => {
		const shop = await makeShop({
			warehouses: [
				{ ...NY, stock: { "0/M": 4 } },
				{ ...CA, stock: { "0/M": 3 } },
			],
		});
		const p = shop.products[0]!;
		const [wNY, wCA] = shop.warehouses as [string, string];
		const { auth } = await customer([{ product_id: p, size: "M", quantity: 6 }]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		const allocations = r.body.products[0].allocations;
		expect(allocations).toHaveLength(2);
		// The closer warehouse gives all it has; the rest comes from the other one.
		expect(Object.fromEntries(allocations.map((a: any) => [a.warehouse_id, a.quantity]))).toEqual({ [wNY]: 4, [wCA]: 2 });
		expect(await onHand(wNY, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(wCA, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("the summary shows the right delivery cost per mode", async () => {
		const shop = await makeShop({ price: 20, warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const { auth } = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const standard = await call("GET", "/cart/summary?delivery_mode=standard", { auth });
		const express = await call("GET", "/cart/summary?delivery_mode=express", { auth });
		expect(standard.status, JSON.stringify(standard.body)).toBe(200);
		expect(express.status).toBe(200);
		expect(standard.body.delivery_mode).toBe("standard");
		expect(express.body.delivery_mode).toBe("express");
		expect(standard.body.delivery_tier).toBe("tier_1");
		expect(standard.body.delivery_cost).toBe(4.99);
		expect(express.body.delivery_cost).toBe(9.99);
		expect(express.body.delivery_cost).toBeGreaterThan(standard.body.delivery_cost);
		for (const s of [standard.body, express.body]) {
			expect(s.subtotal).toBe(40);
			expect(s.tax).toBe(4);
			expect(s.total).toBeCloseTo(s.subtotal + s.tax + s.delivery_cost, 2);
			expect(s.delivery_options).toEqual([
				{ delivery_mode: "standard", delivery_cost: 4.99, estimated_delivery_date: expect.stringMatching(DATE) },
				{ delivery_mode: "express", delivery_cost: 9.99, estimated_delivery_date: expect.stringMatching(DATE) },
			]);
		}
		expect(standard.body.total).toBe(48.99);
		expect(express.body.total).toBe(53.99);
		// Express arrives no later than standard.
		expect(express.body.estimated_delivery_date <= standard.body.estimated_delivery_date).toBe(true);
		// The order placed in a mode costs what the summary said for it.
		const r = await placeOrder(auth, { delivery_mode: "express" });
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body.delivery_cost).toBe(express.body.delivery_cost);
		expect(r.body.total).toBe(express.body.total);
		await expectSettled(shop.warehouses);
	});

	it("the estimated delivery date is stored", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const std = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const exp = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const t0 = new Date();
		const rs = await placeOrder(std.auth, { delivery_mode: "standard" });
		const rx = await placeOrder(exp.auth, { delivery_mode: "express" });
		const t1 = new Date();
		expect(rs.status).toBe(201);
		expect(rx.status).toBe(201);
		const [rowS] = await orderRows(std.sub);
		const [rowX] = await orderRows(exp.sub);
		expect(rowS!.estimated_delivery_date).toMatch(DATE);
		expect(rowX!.estimated_delivery_date).toMatch(DATE);
		expect(rowS!.estimated_delivery_date).toBe(rs.body.estimated_delivery_date);
		expect(rowX!.estimated_delivery_date).toBe(rx.body.estimated_delivery_date);
		// tier_1: standard 3 business days, express 1.
		expect([businessDaysAfter(t0, 3), businessDaysAfter(t1, 3)]).toContain(rowS!.estimated_delivery_date);
		expect([businessDaysAfter(t0, 1), businessDaysAfter(t1, 1)]).toContain(rowX!.estimated_delivery_date);
		const today = t0.toISOString().slice(0, 10);
		expect(rowX!.estimated_delivery_date > today).toBe(true);
		expect(rowX!.estimated_delivery_date < rowS!.estimated_delivery_date).toBe(true);
		expect(rowX!.delivery_mode).toBe("express");
		await expectSettled(shop.warehouses);
	});
});

describe("place-order errors", () => {
	it("an empty cart is 400 CART_EMPTY", async () => {
		const { sub, auth } = await customer([]);
		expectError(await placeOrder(auth), 400, "CART_EMPTY");
		// A cart emptied by removing its last line is empty too.
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		await call("POST", "/cart/items", { auth, body: { product_id: p, size: "M", quantity: 1 } });
		await call("DELETE", `/cart/items/${p}/M`, { auth });
		expectError(await placeOrder(auth), 400, "CART_EMPTY");
		expect(await orderRows(sub)).toHaveLength(0);
		await expectSettled(shop.warehouses);
	});

	it("no address is 400 ADDRESS_REQUIRED, nothing held", async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }], null);
		expectError(await placeOrder(auth), 400, "ADDRESS_REQUIRED");
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect(await orderRows(sub)).toHaveLength(0);
		expect((await call("GET", "/cart", { auth })).body.status).toBe("active");
		await expectSettled(shop.warehouses);
	});

	it('delivery_mode "overnight" is 400 VALIDATION_ERROR, not a silent default', async () => {
		const shop = await makeShop({ warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		for (const delivery_mode of ["overnight", "", "STANDARD", 1, null]) {
			const r = await placeOrder(auth, { delivery_mode });
			expectError(r, 400, "VALIDATION_ERROR");
			expect(r.body.details.map((d: any) => d.field), String(delivery_mode)).toContain("delivery_mode");
		}
		expect(await orderRows(sub)).toHaveLength(0);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 5, reserved: 0 });
		// Absent means standard.
		const r = await placeOrder(auth);
		expect(r.status).toBe(201);
		expect(r.body.delivery_mode).toBe("standard");
		await expectSettled(shop.warehouses);
	});

	it("is 401 without a token", async () => {
		expectError(await call("POST", "/cart/place-order", { body: {} }), 401, "UNAUTHORIZED");
	});

	it("an inactive product in the cart is 409 OUT_OF_STOCK, nothing held, cart still active", async () => {
		const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: { "0/M": 5, "1/M": 5 } }] });
		const [p0, p1] = shop.products as [string, string];
		const { sub, auth } = await customer([
			{ product_id: p0, size: "M", quantity: 2 },
			{ product_id: p1, size: "M", quantity: 1 },
		]);
		const put = await call("PUT", `/admin/products/${p0}`, { auth: await admin(), body: { name: "Product 0", price: 10, sizes: ["S", "M", "L"], active: false } });
		expect(put.status).toBe(200);
		const r = await placeOrder(auth);
		expectError(r, 409, "OUT_OF_STOCK");
		expect(r.body.details).toEqual([{ product_id: p0, size: "M", requested: 2, available: 0 }]);
		expect(await onHand(shop.warehouses[0]!, p0, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect(await onHand(shop.warehouses[0]!, p1, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect(await orderRows(sub)).toHaveLength(0);
		const cart = await call("GET", "/cart", { auth });
		expect(cart.body.status).toBe("active");
		expect(cart.body.items).toHaveLength(2);
		await expectSettled(shop.warehouses);
	});
});

describe("delivery tiers and allocation", () => {
	it("tier_1, tier_2 and tier_3 are chosen by the address (same postal area, same region, elsewhere)", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 10 } }] });
		const p = shop.products[0]!;
		const cases = [
			{ address: { ...ADDRESS, postal_code: "10025", region: "NY" }, tier: "tier_1", standard: 4.99 },
			{ address: { ...ADDRESS, city: "Buffalo", postal_code: "14201", region: "NY" }, tier: "tier_2", standard: 6.99 },
			{ address: { ...ADDRESS, city: "San Francisco", postal_code: "94105", region: "CA" }, tier: "tier_3", standard: 9.99 },
		];
		for (const c of cases) {
			const { auth } = await customer([{ product_id: p, size: "M", quantity: 1 }], c.address);
			const summary = await call("GET", "/cart/summary", { auth });
			expect(summary.body.delivery_tier, c.tier).toBe(c.tier);
			const r = await placeOrder(auth);
			expect(r.status, JSON.stringify(r.body)).toBe(201);
			expect(r.body.delivery_tier).toBe(c.tier);
			expect(r.body.delivery_cost).toBe(c.standard);
		}
		// Express prices per tier.
		const expressCases = [
			{ address: { ...ADDRESS, postal_code: "10002" }, cost: 9.99 },
			{ address: { ...ADDRESS, postal_code: "12207", region: "NY" }, cost: 12.99 },
			{ address: { ...ADDRESS, postal_code: "60601", region: "IL" }, cost: 17.99 },
		];
		for (const c of expressCases) {
			const { auth } = await customer([{ product_id: p, size: "M", quantity: 1 }], c.address);
			const r = await placeOrder(auth, { delivery_mode: "express" });
			expect(r.status).toBe(201);
			expect(r.body.delivery_cost).toBe(c.cost);
		}
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 4, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("the closest warehouse that can serve the whole order ships it", async () => {
		const shop = await makeShop({
			warehouses: [
				{ ...CA, stock: { "0/M": 10 } },
				{ postal_code: "14201", region: "NY", stock: { "0/M": 10 } },
				{ ...NY, stock: { "0/M": 10 } },
			],
		});
		const p = shop.products[0]!;
		const { auth } = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		const r = await placeOrder(auth);
		expect(r.status).toBe(201);
		expect(r.body.products[0].allocations).toEqual([{ warehouse_id: shop.warehouses[2], quantity: 3 }]);
		expect(r.body.delivery_tier).toBe("tier_1");
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 10, reserved: 0 });
		expect(await onHand(shop.warehouses[1]!, p, "M")).toEqual({ on_hand: 10, reserved: 0 });
		expect(await onHand(shop.warehouses[2]!, p, "M")).toEqual({ on_hand: 7, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("a single warehouse that can serve everything is preferred over a split", async () => {
		// The local warehouse has only part of the order; the far one has all of it.
		const { shop, p0, p1, wNY, wCA } = await nyAndCaShop({ "0/M": 1, "1/M": 5 }, { "0/M": 5, "1/M": 5 });
		const { auth } = await customer([
			{ product_id: p0, size: "M", quantity: 2 },
			{ product_id: p1, size: "M", quantity: 1 },
		]);
		const check = await call("GET", "/cart/summary", { auth });
		expect(check.body.allocations.map((a: any) => a.warehouse_id)).toEqual([wCA, wCA]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		for (const line of r.body.products) expect(line.allocations).toEqual([{ warehouse_id: wCA, quantity: line.quantity }]);
		expect(r.body.delivery_tier).toBe("tier_3");
		expect(await onHand(wNY, p0, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await onHand(wNY, p1, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect(await onHand(wCA, p0, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await onHand(wCA, p1, "M")).toEqual({ on_hand: 4, reserved: 0 });
		await expectSettled(shop.warehouses);
	});
});

describe("POST /api/fulfillment/check", () => {
	it("answers available with allocations and tiers, and holds nothing", async () => {
		const { shop, p0, p1, wNY, wCA } = await nyAndCaShop({ "0/M": 3 }, { "1/S": 4 });
		const auth = await token(uid("user"));
		const r = await call("POST", "/api/fulfillment/check", {
			auth,
			body: {
				items: [
					{ product_id: p0, size: "M", quantity: 2 },
					{ product_id: p1, size: "S", quantity: 4 },
				],
				postal_code: "10001",
				region: "NY",
			},
		});
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.available).toBe(true);
		expect(r.body.shortages).toEqual([]);
		expect(r.body.allocations).toEqual(
			expect.arrayContaining([
				{ warehouse_id: wNY, product_id: p0, size: "M", quantity: 2, tier: "tier_1" },
				{ warehouse_id: wCA, product_id: p1, size: "S", quantity: 4, tier: "tier_3" },
			]),
		);
		expect(r.body.allocations).toHaveLength(2);
		expect(await onHand(wNY, p0, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await onHand(wCA, p1, "S")).toEqual({ on_hand: 4, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("adds up repeated units and lists shortages (available summed over active warehouses)", async () => {
		const shop = await makeShop({
			warehouses: [
				{ ...NY, stock: { "0/M": 2 } },
				{ ...CA, stock: { "0/M": 1, "0/L": 9 } },
			],
		});
		const p = shop.products[0]!;
		const auth = await token(uid("user"));
		const r = await call("POST", "/api/fulfillment/check", {
			auth,
			body: {
				items: [
					{ product_id: p, size: "M", quantity: 2 },
					{ product_id: p, size: "M", quantity: 2 },
					{ product_id: p, size: "L", quantity: 1 },
				],
			},
		});
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.available).toBe(false);
		expect(r.body.allocations).toEqual([]);
		expect(r.body.shortages).toEqual([{ product_id: p, size: "M", requested: 4, available: 3 }]);
		for (const w of shop.warehouses) expect((await onHand(w, p, "M")).reserved).toBe(0);
		await expectSettled(shop.warehouses);
	});

	it("validates its body and needs a token", async () => {
		const auth = await token(uid("user"));
		expectError(await call("POST", "/api/fulfillment/check", { auth, body: { items: [] } }), 400, "VALIDATION_ERROR");
		expectError(await call("POST", "/api/fulfillment/check", { auth, body: { items: [{ product_id: "p", size: "M", quantity: 0 }] } }), 400, "VALIDATION_ERROR");
		expectError(await call("POST", "/api/fulfillment/check", { body: { items: [{ product_id: "p", size: "M", quantity: 1 }] } }), 401, "UNAUTHORIZED");
	});
});

describe("place-order with a sharded unit", () => {
	/** The calls the warehouse's own object (a sharded unit's pool) served that commit or undo an order. */
	async function holdCallsAt(warehouseId: string): Promise<number> {
		const c = (await env.WAREHOUSE.getByName(warehouseId).requestCounts()) as Record<string, number>;
		return (c.commit ?? 0) + (c.commitMany ?? 0) + (c.release ?? 0) + (c.cancelHold ?? 0);
	}

	it("an order only on the sharded unit is committed and cancelled at its shard, never at the warehouse's object; a mixed order reaches both", async () => {
		const auth = await admin();
		const shop = await makeShop({ products: 2, warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const [hot, plain] = shop.products as [string, string];
		const put = await call("PUT", `/admin/warehouses/${wh}/stock`, {
			auth,
			body: { items: [{ product_id: hot, size: "M", on_hand: 10, shards: 4 }, { product_id: plain, size: "M", on_hand: 10 }] },
		});
		expect(put.status, JSON.stringify(put.body)).toBe(200);
		const before = await holdCallsAt(wh);

		const buyer = await customer([{ product_id: hot, size: "M", quantity: 2 }]);
		const placed = await placeOrder(buyer.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		const orderId = placed.body.order_id as string;
		expect(await outboxOf(orderId), "committed").toEqual([]);
		const cancelled = await call("POST", `/orders/${orderId}/cancel`, { auth: buyer.auth, body: {} });
		expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
		expect(await holdCallsAt(wh), "no commit or cancel reached the warehouse's object").toBe(before);

		const mixed = await customer([
			{ product_id: hot, size: "M", quantity: 1 },
			{ product_id: plain, size: "M", quantity: 3 },
		]);
		expect((await placeOrder(mixed.auth)).status).toBe(201);
		expect(await holdCallsAt(wh), "the plain unit's commit reached the warehouse's object").toBe(before + 1);
		await eventually(async () => {
			const rows = (await call("GET", `/admin/warehouses/${wh}/stock`, { auth })).body.items as Array<{ product_id: string; on_hand: number; reserved: number }>;
			expect(rows.find((r) => r.product_id === hot)).toMatchObject({ on_hand: 9, reserved: 0 });
			expect(rows.find((r) => r.product_id === plain)).toMatchObject({ on_hand: 7, reserved: 0 });
		});
	});
});
