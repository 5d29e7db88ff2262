// Concurrent checkouts through the real fetch path (Promise.all of requests):
// the last unit, a flash sale over two warehouses, and one cart checked out
// twice at once. Never oversold, nothing left held, no 5xx.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";
import { customer, expectInvariants, makeShop, onHand, placeOrder } from "../helpers/shop";
import { allRows } from "../helpers/shards";

/** expectInvariants over every warehouse in D1 (storage is shared by the tests of one file). */
async function expectSettled(own: string[]) {
	const { results } = await env.DB.prepare(`SELECT warehouse_id FROM warehouses`).all<{ warehouse_id: string }>();
	await expectInvariants([...new Set([...own, ...results.map((r) => r.warehouse_id)])], { settled: true });
}

async function ordersOf(userIds: string[]) {
	return allRows<{ order_id: string; user_id: string; status: string; products: string }>(
		`SELECT order_id, user_id, status, products FROM orders WHERE user_id IN (SELECT value FROM json_each(?))`,
		JSON.stringify(userIds),
	);
}

function expectNo5xx(answers: Array<{ status: number; body: unknown }>) {
	const bad = answers.filter((r) => r.status >= 500);
	expect(bad, JSON.stringify(bad.slice(0, 3))).toEqual([]);
}

describe("checkout races", () => {
	it("2 buyers and the last unit: exactly one 201 and one 409 OUT_OF_STOCK", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1 } }] });
		const p = shop.products[0]!;
		const buyers = await Promise.all([customer([{ product_id: p, size: "M", quantity: 1 }]), customer([{ product_id: p, size: "M", quantity: 1 }])]);
		const answers = await Promise.all(buyers.map((b) => placeOrder(b.auth)));
		expectNo5xx(answers);
		expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
		const lost = answers.find((r) => r.status === 409)!;
		expect(lost.body.code).toBe("OUT_OF_STOCK");
		expect(lost.body.details).toEqual([{ product_id: p, size: "M", requested: 1, available: 0 }]);
		const won = answers.find((r) => r.status === 201)!;
		const orders = await ordersOf(buyers.map((b) => b.sub));
		expect(orders.map((o) => o.order_id)).toEqual([won.body.order_id]);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("50 buyers, 7 units over two warehouses (4 + 3): exactly 7 orders, 43 x 409, nothing held or oversold", async () => {
		const shop = await makeShop({
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: { "0/M": 4 } },
				{ postal_code: "94105", region: "CA", stock: { "0/M": 3 } },
			],
		});
		const p = shop.products[0]!;
		const [wA, wB] = shop.warehouses as [string, string];
		const buyers = await Promise.all(Array.from({ length: 50 }, () => customer([{ product_id: p, size: "M", quantity: 1 }])));
		const answers = await Promise.all(buyers.map((b) => placeOrder(b.auth)));

		expectNo5xx(answers);
		const created = answers.filter((r) => r.status === 201);
		const rejected = answers.filter((r) => r.status === 409);
		expect(created).toHaveLength(7);
		expect(rejected).toHaveLength(43);
		for (const r of rejected) {
			expect(r.body.code).toBe("OUT_OF_STOCK");
			expect(r.body.details).toEqual([{ product_id: p, size: "M", requested: 1, available: 0 }]);
		}
		// Every accepted order took one unit, from one of the two warehouses.
		const perWarehouse: Record<string, number> = {};
		for (const r of created) {
			expect(r.body.products).toHaveLength(1);
			for (const a of r.body.products[0].allocations) perWarehouse[a.warehouse_id] = (perWarehouse[a.warehouse_id] ?? 0) + a.quantity;
		}
		expect(perWarehouse).toEqual({ [wA]: 4, [wB]: 3 });
		// D1 holds exactly the 7 orders, one per winning buyer.
		const orders = await ordersOf(buyers.map((b) => b.sub));
		expect(orders).toHaveLength(7);
		expect(new Set(orders.map((o) => o.user_id)).size).toBe(7);
		expect(orders.map((o) => o.order_id).sort()).toEqual(created.map((r) => r.body.order_id).sort());
		// 0 held, 0 oversold.
		expect(await onHand(wA, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(wB, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		// Losers keep their active carts; winners get new empty ones.
		const winners = new Set(orders.map((o) => o.user_id));
		const loser = buyers.find((b) => !winners.has(b.sub))!;
		const loserCart = await call("GET", "/cart", { auth: loser.auth });
		expect(loserCart.body.status).toBe("active");
		expect(loserCart.body.items).toHaveLength(1);
		await expectSettled(shop.warehouses);
	}, 60_000);

	it("the same cart checked out twice at once: one order, the other answer is 409 or CART_EMPTY, stock deducted once", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 10 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const answers = await Promise.all([placeOrder(auth), placeOrder(auth)]);
		expectNo5xx(answers);
		const created = answers.filter((r) => r.status === 201);
		expect(created).toHaveLength(1);
		const other = answers.find((r) => r.status !== 201)!;
		expect([
			["409", "CONFLICT"],
			["409", "OUT_OF_STOCK"],
			["400", "CART_EMPTY"],
		]).toContainEqual([String(other.status), other.body.code]);
		expect(other.body.error).toEqual(expect.any(String));
		const orders = await ordersOf([sub]);
		expect(orders).toHaveLength(1);
		expect(orders[0]!.order_id).toBe(created[0]!.body.order_id);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 8, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("the same cart checked out five times at once, with stock for one: one order, stock deducted once", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 3 } }] });
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		const answers = await Promise.all(Array.from({ length: 5 }, () => placeOrder(auth)));
		expectNo5xx(answers);
		expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
		for (const r of answers.filter((a) => a.status !== 201)) {
			expect(["409:CONFLICT", "409:OUT_OF_STOCK", "400:CART_EMPTY"]).toContain(`${r.status}:${r.body.code}`);
		}
		expect(await ordersOf([sub])).toHaveLength(1);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("concurrent buyers of two units each from a split stock never oversell", async () => {
		// 5 units in 3 warehouses; each buyer wants 2 (a split is allowed), so at most 2 orders fit.
		const shop = await makeShop({
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: { "0/M": 2 } },
				{ postal_code: "94105", region: "CA", stock: { "0/M": 2 } },
				{ postal_code: "60601", region: "IL", stock: { "0/M": 1 } },
			],
		});
		const p = shop.products[0]!;
		const buyers = await Promise.all(Array.from({ length: 10 }, () => customer([{ product_id: p, size: "M", quantity: 2 }])));
		const answers = await Promise.all(buyers.map((b) => placeOrder(b.auth)));
		expectNo5xx(answers);
		const created = answers.filter((r) => r.status === 201);
		for (const r of answers.filter((a) => a.status !== 201)) expect(`${r.status}:${r.body.code}`).toBe("409:OUT_OF_STOCK");
		expect(created.length).toBeGreaterThanOrEqual(1);
		expect(created.length).toBeLessThanOrEqual(2);
		let left = 0;
		for (const w of shop.warehouses) {
			const l = await onHand(w, p, "M");
			expect(l.reserved).toBe(0);
			expect(l.on_hand).toBeGreaterThanOrEqual(0);
			left += l.on_hand;
		}
		expect(left).toBe(5 - 2 * created.length);
		expect(await ordersOf(buyers.map((b) => b.sub))).toHaveLength(created.length);
		await expectSettled(shop.warehouses);
	});
});
