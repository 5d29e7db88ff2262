/**
 * Kits (bundles) over HTTP: the rules of what a kit may contain, availability
 * from components, ordering and cancelling a kit (its components reserved,
 * committed and restocked exactly once), and demand shared between kit lines
 * and plain lines checked together (Medusa's bug #16502 must be impossible).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, uid } from "../helpers/http";
import { customer, expectInvariants, onHand, placeOrder } from "../helpers/shop";

/** A shop with a tee (S, M) and a cap (OS) in one warehouse, and a kit of 2 tees M + 1 cap. */
async function kitShop(stock: { teeM: number; cap: number }, warehouses = 1) {
	const auth = await admin();
	const tee = uid("tee");
	const cap = uid("cap");
	const kit = uid("kit");
	expect((await call("PUT", `/admin/products/${tee}`, { auth, body: { name: "Tee", price: 10, sizes: ["S", "M"] } })).status).toBe(200);
	expect((await call("PUT", `/admin/products/${cap}`, { auth, body: { name: "Cap", price: 5, sizes: ["OS"] } })).status).toBe(200);
	const k = await call("PUT", `/admin/products/${kit}`, {
		auth,
		body: { name: "Starter kit", price: 22, sizes: ["ONE"], components: [{ product_id: tee, size: "M", quantity: 2 }, { product_id: cap, size: "OS", quantity: 1 }] },
	});
	expect(k.status, JSON.stringify(k.body)).toBe(200);
	const ids: string[] = [];
	for (let i = 0; i < warehouses; i++) {
		const wh = uid("wh");
		await call("PUT", `/admin/warehouses/${wh}`, { auth, body: { name: wh, postal_code: "10001", region: "NY", country: "US" } });
		const r = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: tee, size: "M", on_hand: stock.teeM }, { product_id: cap, size: "OS", on_hand: stock.cap }] } });
		expect(r.status).toBe(200);
		ids.push(wh);
	}
	return { auth, tee, cap, kit, warehouses: ids };
}

describe("kit rules", () => {
	it("stores and shows components; a plain product has components null", async () => {
		const { auth, tee, cap, kit } = await kitShop({ teeM: 0, cap: 0 });
		const r = await call("GET", `/products/${kit}`);
		expect(r.body.components).toEqual([{ product_id: tee, size: "M", quantity: 2 }, { product_id: cap, size: "OS", quantity: 1 }]);
		expect((await call("GET", `/products/${tee}`)).body.components).toBeNull();
		// Replacing a kit without components makes it a plain product again.
		const plain = await call("PUT", `/admin/products/${kit}`, { auth, body: { name: "Starter", price: 22, sizes: ["ONE"] } });
		expect(plain.body.components).toBeNull();
	});

	it("400 for a kit with several sizes, a kit inside a kit, itself, an unknown product or size, and for making a component a kit", async () => {
		const { auth, tee, cap, kit } = await kitShop({ teeM: 0, cap: 0 });
		const bad: Array<[string, Record<string, unknown>]> = [
			[uid("k"), { name: "x", price: 1, sizes: ["A", "B"], components: [{ product_id: tee, size: "M", quantity: 1 }] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: kit, size: "ONE", quantity: 1 }] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: "no-such-product", size: "M", quantity: 1 }] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: tee, size: "XXL", quantity: 1 }] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: tee, size: "M", quantity: 0 }] }],
			[uid("k"), { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: tee, size: "M", quantity: 1 }, { product_id: tee, size: "M", quantity: 2 }] }],
			[kit, { name: "x", price: 1, sizes: ["ONE"], components: [{ product_id: kit, size: "ONE", quantity: 1 }] }],
			[cap, { name: "Cap", price: 5, sizes: ["OS"], components: [{ product_id: tee, size: "S", quantity: 1 }] }],
		];
		for (const [id, body] of bad) {
			const r = await call("PUT", `/admin/products/${id}`, { auth, body });
			expect(r.status, `${id} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
		expect((await call("GET", `/products/${cap}`)).body.components).toBeNull();
	});

	it("a kit's own stock cannot be set, adjusted, deducted, restored or transferred (400)", async () => {
		const { auth, kit, warehouses } = await kitShop({ teeM: 4, cap: 4 }, 2);
		const [wh, other] = warehouses as [string, string];
		const attempts = [
			call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: kit, size: "ONE", on_hand: 5 }] } }),
			call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id: kit, size: "ONE", delta: 1, reason: "receive" } }),
			call("POST", "/api/stock/deduct", { auth, body: { warehouse_id: wh, product_id: kit, size: "ONE", quantity: 1 } }),
			call("POST", "/api/stock/restore", { auth, body: { warehouse_id: wh, product_id: kit, size: "ONE", quantity: 1 } }),
			call("POST", "/admin/transfers", { auth, body: { from_warehouse_id: wh, to_warehouse_id: other, items: [{ product_id: kit, size: "ONE", quantity: 1 }] } }),
		];
		for (const r of await Promise.all(attempts)) {
			expect(r.status, JSON.stringify(r.body)).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
		const view = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(view.body.items.map((i: { product_id: string }) => i.product_id)).not.toContain(kit);
	});
});

describe("kit availability", () => {
	it("is, per warehouse, the minimum over components of floor(available / quantity), summed over warehouses", async () => {
		const { auth, kit, tee, warehouses } = await kitShop({ teeM: 7, cap: 10 }, 2);
		// Per warehouse: min(floor(7/2), 10) = 3; two warehouses: 6.
		expect((await call("GET", `/products/${kit}`)).body.availability).toEqual({ ONE: 6 });
		await call("PUT", `/admin/warehouses/${warehouses[1]}/stock`, { auth, body: { items: [{ product_id: tee, size: "M", on_hand: 1 }] } });
		expect((await call("GET", `/products/${kit}`)).body.availability).toEqual({ ONE: 3 });
		// Checkout allocates units: with 8 tees over two warehouses, 4 kits can still be filled (one of
		// them from both). The shown availability counts whole kits per warehouse: never more than can be sold.
		const shopper = (await customer([])).auth;
		const four = await call("POST", "/api/fulfillment/check", { auth: shopper, body: { items: [{ product_id: kit, size: "ONE", quantity: 4 }] } });
		expect(four.status).toBe(200);
		expect(four.body.available).toBe(true);
		expect(four.body.allocations.filter((a: { product_id: string }) => a.product_id === tee).reduce((n: number, a: { quantity: number }) => n + a.quantity, 0)).toBe(8);
		const five = await call("POST", "/api/fulfillment/check", { auth: shopper, body: { items: [{ product_id: kit, size: "ONE", quantity: 5 }] } });
		expect(five.body.available).toBe(false);
		expect(five.body.shortages).toEqual([{ product_id: tee, size: "M", requested: 10, available: 8 }]);
	});
});

describe("ordering kits", () => {
	it("reserves and commits the components; the order shows the kit line with its components' allocations; a cancel restocks them once", async () => {
		const { kit, tee, cap, warehouses } = await kitShop({ teeM: 10, cap: 10 });
		const [wh] = warehouses as [string];
		const buyer = await customer([{ product_id: kit, size: "ONE", quantity: 2 }]);
		const r = await placeOrder(buyer.auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body.products).toEqual([
			{
				product_id: kit,
				size: "ONE",
				name: "Starter kit",
				quantity: 2,
				unit_price: 22,
				allocations: [{ warehouse_id: wh, quantity: 2 }],
				components: [
					{ product_id: tee, size: "M", quantity: 4, allocations: [{ warehouse_id: wh, quantity: 4 }] },
					{ product_id: cap, size: "OS", quantity: 2, allocations: [{ warehouse_id: wh, quantity: 2 }] },
				],
			},
		]);
		expect(r.body.subtotal).toBe(44);
		expect(await onHand(wh, tee, "M")).toMatchObject({ on_hand: 6 });
		expect(await onHand(wh, cap, "OS")).toMatchObject({ on_hand: 8 });
		await expectInvariants([wh]);

		const cancels = await Promise.all([1, 2, 3].map(() => call("POST", `/orders/${r.body.order_id}/cancel`, { auth: buyer.auth, body: {} })));
		for (const c of cancels) expect(c.status).toBe(200);
		expect(await onHand(wh, tee, "M")).toMatchObject({ on_hand: 10, reserved: 0 });
		expect(await onHand(wh, cap, "OS")).toMatchObject({ on_hand: 10, reserved: 0 });
		await expectInvariants([wh], { settled: true });
	});

	it("adds up a kit line and a plain line that share a component before any check, so together they cannot oversell a component", async () => {
		// 2 tees M in stock: the kit needs 2, the plain line 1. Each alone fits; together they do not.
		const short = await kitShop({ teeM: 2, cap: 5 });
		const buyer = await customer([
			{ product_id: short.kit, size: "ONE", quantity: 1 },
			{ product_id: short.tee, size: "M", quantity: 1 },
		]);
		const summary = await call("GET", "/cart/summary", { auth: buyer.auth });
		expect(summary.body.available).toBe(false);
		const refused = await placeOrder(buyer.auth);
		expect(refused.status).toBe(409);
		expect(refused.body.code).toBe("OUT_OF_STOCK");
		expect(refused.body.details).toEqual([{ product_id: short.tee, size: "M", requested: 3, available: 2 }]);
		expect(await onHand(short.warehouses[0]!, short.tee, "M")).toEqual({ on_hand: 2, reserved: 0 });

		// With 3 in stock both lines are filled, from the same pool.
		const enough = await kitShop({ teeM: 3, cap: 5 });
		const buyer2 = await customer([
			{ product_id: enough.kit, size: "ONE", quantity: 1 },
			{ product_id: enough.tee, size: "M", quantity: 1 },
		]);
		const placed = await placeOrder(buyer2.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		expect(await onHand(enough.warehouses[0]!, enough.tee, "M")).toEqual({ on_hand: 0, reserved: 0 });
		await expectInvariants(enough.warehouses);
	});

	it("many buyers racing for kits and plain units never oversell a shared component", async () => {
		const { kit, tee, warehouses } = await kitShop({ teeM: 9, cap: 100 });
		const buyers = await Promise.all(
			Array.from({ length: 12 }, (_, i) => customer([i % 2 === 0 ? { product_id: kit, size: "ONE", quantity: 1 } : { product_id: tee, size: "M", quantity: 1 }])),
		);
		const answers = await Promise.all(buyers.map((b) => placeOrder(b.auth)));
		const placed = answers.filter((a) => a.status === 201);
		for (const a of answers) expect([201, 409]).toContain(a.status);
		const teesSold = placed.reduce((n, a) => n + (a.body.products[0].product_id === kit ? 2 : 1), 0);
		expect(teesSold).toBeLessThanOrEqual(9);
		expect((await onHand(warehouses[0]!, tee, "M")).on_hand).toBe(9 - teesSold);
		await expectInvariants(warehouses);
	});
});

describe("a kit with an inactive component", () => {
	async function setActive(auth: string, productId: string, name: string, price: number, sizes: string[], active: boolean) {
		const r = await call("PUT", `/admin/products/${productId}`, { auth, body: { name, price, sizes, active } });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
	}

	it("shows availability 0, is refused at cart add and cart set (409 OUT_OF_STOCK for its line), is short in the fulfillment check, and sells again once the component is active", async () => {
		const { auth, kit, cap } = await kitShop({ teeM: 10, cap: 10 });
		const buyer = await customer([]);
		await setActive(auth, cap, "Cap", 5, ["OS"], false);
		expect((await call("GET", `/products/${cap}`)).status).toBe(404);
		expect((await call("GET", `/products/${kit}`)).body.availability).toEqual({ ONE: 0 });
		const add = await call("POST", "/cart/items", { auth: buyer.auth, body: { product_id: kit, size: "ONE", quantity: 2 } });
		expect(add.status).toBe(409);
		expect(add.body).toEqual({ error: expect.any(String), code: "OUT_OF_STOCK", details: [{ product_id: kit, size: "ONE", requested: 2, available: 0 }] });
		const set = await call("PUT", `/cart/items/${kit}/ONE`, { auth: buyer.auth, body: { quantity: 1 } });
		expect(set.status).toBe(409);
		expect(set.body.code).toBe("OUT_OF_STOCK");
		expect((await call("GET", "/cart", { auth: buyer.auth })).body.items).toEqual([]);
		const check = await call("POST", "/api/fulfillment/check", { auth: buyer.auth, body: { items: [{ product_id: kit, size: "ONE", quantity: 1 }] } });
		expect(check.body).toMatchObject({ available: false, shortages: [{ product_id: kit, size: "ONE", requested: 1, available: 0 }] });

		await setActive(auth, cap, "Cap", 5, ["OS"], true);
		expect((await call("GET", `/products/${kit}`)).body.availability).toEqual({ ONE: 5 });
		expect((await call("POST", "/cart/items", { auth: buyer.auth, body: { product_id: kit, size: "ONE", quantity: 2 } })).status).toBe(200);
		const placed = await placeOrder(buyer.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
	});

	it("in a cart already, it is refused at place-order as 409 OUT_OF_STOCK for its line, nothing held; the cart places once the component is active", async () => {
		const { auth, kit, tee, cap, warehouses } = await kitShop({ teeM: 10, cap: 10 });
		const buyer = await customer([
			{ product_id: kit, size: "ONE", quantity: 2 },
			{ product_id: tee, size: "M", quantity: 1 },
		]);
		await setActive(auth, tee, "Tee", 10, ["S", "M"], false);
		const refused = await placeOrder(buyer.auth);
		expect(refused.status).toBe(409);
		expect(refused.body.code).toBe("OUT_OF_STOCK");
		// The kit line and the plain line of the inactive product, each as asked.
		expect(refused.body.details).toEqual([
			{ product_id: kit, size: "ONE", requested: 2, available: 0 },
			{ product_id: tee, size: "M", requested: 1, available: 0 },
		]);
		const summary = await call("GET", "/cart/summary", { auth: buyer.auth });
		expect(summary.body.available).toBe(false);
		expect(await onHand(warehouses[0]!, tee, "M")).toEqual({ on_hand: 10, reserved: 0 });
		expect(await onHand(warehouses[0]!, cap, "OS")).toEqual({ on_hand: 10, reserved: 0 });
		expect((await call("GET", "/cart", { auth: buyer.auth })).body.status).toBe("active");

		await setActive(auth, tee, "Tee", 10, ["S", "M"], true);
		const placed = await placeOrder(buyer.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		await expectInvariants(warehouses);
	});
});

describe("making a product a kit", () => {
	it("409 CONFLICT naming every warehouse that has its stock or open holds, active or not; the product stays as it was", async () => {
		const { auth, tee, cap, warehouses } = await kitShop({ teeM: 0, cap: 0 }, 3);
		// b has no stock of it and is not named.
		const [a, , c] = warehouses as [string, string, string];
		const bag = uid("bag");
		expect((await call("PUT", `/admin/products/${bag}`, { auth, body: { name: "Bag", price: 8, sizes: ["S", "L"] } })).status).toBe(200);
		expect((await call("PUT", `/admin/warehouses/${a}/stock`, { auth, body: { items: [{ product_id: bag, size: "S", on_hand: 2 }, { product_id: bag, size: "L", on_hand: 1 }] } })).status).toBe(200);
		expect((await call("PUT", `/admin/warehouses/${c}/stock`, { auth, body: { items: [{ product_id: bag, size: "L", on_hand: 4 }] } })).status).toBe(200);
		// An open hold at c (a reservation that is not committed yet), and c taken out of service.
		const held = await env.WAREHOUSE.getByName(c).reserve(uid("hold"), [{ product_id: bag, size: "L", quantity: 1 }], 60_000);
		expect(held.ok).toBe(true);
		expect((await call("PUT", `/admin/warehouses/${c}`, { auth, body: { name: c, postal_code: "10001", region: "NY", country: "US", active: false } })).status).toBe(200);

		const asKit = { name: "Bag kit", price: 20, sizes: ["S"], components: [{ product_id: tee, size: "M", quantity: 1 }, { product_id: cap, size: "OS", quantity: 1 }] };
		const r = await call("PUT", `/admin/products/${bag}`, { auth, body: asKit });
		expect(r.status).toBe(409);
		expect(r.body).toEqual({
			error: expect.any(String),
			code: "CONFLICT",
			details: [
				{ warehouse_id: a, on_hand: 3, reserved: 0, incoming: 0 },
				{ warehouse_id: c, on_hand: 4, reserved: 1, incoming: 0 },
			].sort((x, y) => x.warehouse_id.localeCompare(y.warehouse_id)),
		});
		expect(r.body.error).toContain(a);
		expect((await call("GET", `/products/${bag}`)).body.components).toBeNull();
	});

	it("a product whose stock is gone everywhere can become a kit; a kit's components can be changed", async () => {
		const { auth, tee, cap, kit, warehouses } = await kitShop({ teeM: 5, cap: 5 });
		const bag = uid("bag");
		expect((await call("PUT", `/admin/products/${bag}`, { auth, body: { name: "Bag", price: 8, sizes: ["S"] } })).status).toBe(200);
		expect((await call("PUT", `/admin/warehouses/${warehouses[0]}/stock`, { auth, body: { items: [{ product_id: bag, size: "S", on_hand: 2 }] } })).status).toBe(200);
		expect((await call("PUT", `/admin/warehouses/${warehouses[0]}/stock`, { auth, body: { items: [{ product_id: bag, size: "S", on_hand: 0 }] } })).status).toBe(200);
		const r = await call("PUT", `/admin/products/${bag}`, { auth, body: { name: "Bag kit", price: 20, sizes: ["S"], components: [{ product_id: tee, size: "M", quantity: 1 }] } });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.components).toEqual([{ product_id: tee, size: "M", quantity: 1 }]);
		const changed = await call("PUT", `/admin/products/${kit}`, { auth, body: { name: "Starter kit", price: 22, sizes: ["ONE"], components: [{ product_id: cap, size: "OS", quantity: 3 }] } });
		expect(changed.status, JSON.stringify(changed.body)).toBe(200);
	});
});
