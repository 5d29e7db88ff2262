/**
 * Purchase limits (max_per_customer) over HTTP and at the checkout decision:
 * cart adds and sets past the limit, live orders counting, place-order's 409
 * with nothing held, concurrent checkouts of one customer, and cancellations
 * giving units back.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placeOrder } from "../../src/checkout/placeOrder";
import { toApiError } from "../../src/http/failures";
import { orderStore, warehousePort } from "../../src/checkout/ports";
import { checkoutDeps, checkoutInput, faultyStore, faultyWarehouses, quickCustomer } from "../helpers/faults";
import { admin, call } from "../helpers/http";
import { orderAgain, tokenWithEmail } from "../helpers/orders";
import { customer, expectInvariants, makeShop, onHand } from "../helpers/shop";
import { ledgerOf } from "../helpers/stock";
import { uid } from "../helpers/http";
import { dbOfCustomer } from "../helpers/shards";

/** One product in sizes S and M, `stock` of each at one warehouse, limited to `limit` per customer. */
async function limitedShop(limit: number | null, stock = 20) {
	const shop = await makeShop({ sizes: ["S", "M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/S": stock, "0/M": stock } }] });
	const product = shop.products[0]!;
	await setLimit(product, limit);
	return { product, warehouse: shop.warehouses[0]!, all: shop.warehouses };
}

async function setLimit(product: string, limit: number | null) {
	const r = await call("PUT", `/admin/products/${product}`, { auth: await admin(), body: { name: "Limited", price: 10, sizes: ["S", "M"], max_per_customer: limit } });
	expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function counter(userId: string, product: string): Promise<number | null> {
	const row = await dbOfCustomer(userId).prepare(`SELECT units FROM customer_product_units WHERE user_id = ? AND product_id = ?`).bind(userId, product).first<{ units: number }>();
	return row ? row.units : null;
}

async function cartItems(auth: string) {
	return ((await call("GET", "/cart", { auth })).body.items as Array<{ size: string; quantity: number }>).map((i) => [i.size, i.quantity]);
}

describe("cart changes past a purchase limit", () => {
	it("an add past the limit (sizes counted together) is 409 PURCHASE_LIMIT with details, and the cart is unchanged", async () => {
		const s = await limitedShop(3);
		const c = await customer([{ product_id: s.product, size: "S", quantity: 2 }]);
		const r = await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "M", quantity: 2 } });
		expect(r.status).toBe(409);
		expect(r.body).toEqual({ error: expect.any(String), code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 3, already: 2, requested: 2 }] });
		expect(await cartItems(c.auth)).toEqual([["S", 2]]);
		// Up to the limit exactly is fine.
		expect((await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "M", quantity: 1 } })).status).toBe(200);
		const more = await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "S", quantity: 1 } });
		expect(more.status).toBe(409);
		expect(more.body.details).toEqual([{ product_id: s.product, limit: 3, already: 3, requested: 1 }]);
		expect(await cartItems(c.auth)).toEqual([["S", 2], ["M", 1]]);
	});

	it("a set replaces its own line's units: past the limit with the other sizes is 409, within it is 200", async () => {
		const s = await limitedShop(4);
		const c = await customer([
			{ product_id: s.product, size: "S", quantity: 1 },
			{ product_id: s.product, size: "M", quantity: 2 },
		]);
		const over = await call("PUT", `/cart/items/${s.product}/M`, { auth: c.auth, body: { quantity: 4 } });
		expect(over.status).toBe(409);
		expect(over.body).toMatchObject({ code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 4, already: 1, requested: 4 }] });
		expect(await cartItems(c.auth)).toEqual([["S", 1], ["M", 2]]);
		expect((await call("PUT", `/cart/items/${s.product}/M`, { auth: c.auth, body: { quantity: 3 } })).status).toBe(200);
		// A new line by PUT counts the same way; removing a line is never limited.
		const newLine = await call("PUT", `/cart/items/${s.product}/S`, { auth: c.auth, body: { quantity: 2 } });
		expect(newLine.status).toBe(409);
		expect((await call("PUT", `/cart/items/${s.product}/S`, { auth: c.auth, body: { quantity: 0 } })).status).toBe(200);
		expect(await cartItems(c.auth)).toEqual([["M", 3]]);
	});

	it("a cart over a limit lowered since can always be lowered, but not raised or kept over", async () => {
		const s = await limitedShop(null);
		const c = await customer([
			{ product_id: s.product, size: "S", quantity: 3 },
			{ product_id: s.product, size: "M", quantity: 3 },
		]);
		await setLimit(s.product, 2);
		const down = await call("PUT", `/cart/items/${s.product}/M`, { auth: c.auth, body: { quantity: 2 } });
		expect(down.status, JSON.stringify(down.body)).toBe(200);
		const up = await call("PUT", `/cart/items/${s.product}/M`, { auth: c.auth, body: { quantity: 3 } });
		expect(up.status).toBe(409);
		expect(up.body.details).toEqual([{ product_id: s.product, limit: 2, already: 3, requested: 3 }]);
		expect((await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "S", quantity: 1 } })).status).toBe(409);
		expect(await cartItems(c.auth)).toEqual([["S", 3], ["M", 2]]);
		// Still over in total: place-order refuses it until the cart is within the limit.
		expect((await call("POST", "/cart/place-order", { auth: c.auth, body: {} })).body.code).toBe("PURCHASE_LIMIT");
		expect((await call("PUT", `/cart/items/${s.product}/S`, { auth: c.auth, body: { quantity: 0 } })).status).toBe(200);
		expect((await call("POST", "/cart/place-order", { auth: c.auth, body: {} })).status).toBe(201);
	});

	it("concurrent adds never take the cart past the limit", async () => {
		const s = await limitedShop(5);
		const c = await customer([]);
		const answers = await Promise.all(
			Array.from({ length: 8 }, (_, i) => call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: i % 2 ? "S" : "M", quantity: 1 } })),
		);
		expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 409, 409, 409]);
		expect((await cartItems(c.auth)).reduce((n, [, q]) => n + (q as number), 0)).toBe(5);
	});

	it("units in live orders count; a cancelled order gives them back", async () => {
		const s = await limitedShop(3);
		const sub = uid("user");
		const auth = await tokenWithEmail(sub);
		const first = await orderAgain(auth, [{ product_id: s.product, size: "M", quantity: 2 }]);
		expect(first.status, JSON.stringify(first.body)).toBe(201);
		expect(await counter(sub, s.product)).toBe(2);

		const over = await call("POST", "/cart/items", { auth, body: { product_id: s.product, size: "S", quantity: 2 } });
		expect(over.status).toBe(409);
		expect(over.body.details).toEqual([{ product_id: s.product, limit: 3, already: 2, requested: 2 }]);
		expect((await call("POST", "/cart/items", { auth, body: { product_id: s.product, size: "S", quantity: 1 } })).status).toBe(200);

		const cancel = await call("POST", `/orders/${first.body.order_id}/cancel`, { auth, body: {} });
		expect(cancel.status).toBe(200);
		expect(await counter(sub, s.product)).toBe(0);
		// Cancelling again gives nothing back twice (the counter cannot go below what is live).
		expect((await call("POST", `/orders/${first.body.order_id}/cancel`, { auth, body: {} })).status).toBe(200);
		expect(await counter(sub, s.product)).toBe(0);
		expect((await call("POST", "/cart/items", { auth, body: { product_id: s.product, size: "S", quantity: 2 } })).status).toBe(200);
		expect(await cartItems(auth)).toEqual([["S", 3]]);
	});

	it("other customers and unlimited products are not affected", async () => {
		const s = await limitedShop(1);
		const a = await customer([{ product_id: s.product, size: "S", quantity: 1 }]);
		const b = await customer([{ product_id: s.product, size: "S", quantity: 1 }]);
		expect((await call("POST", "/cart/items", { auth: a.auth, body: { product_id: s.product, size: "M", quantity: 1 } })).status).toBe(409);
		await setLimit(s.product, null);
		expect((await call("POST", "/cart/items", { auth: b.auth, body: { product_id: s.product, size: "M", quantity: 50 } })).status).toBe(200);
	});
});

describe("place-order and purchase limits", () => {
	it("a limit lowered after the cart was filled: 409 PURCHASE_LIMIT, nothing held, the cart still active", async () => {
		const s = await limitedShop(null);
		const c = await customer([
			{ product_id: s.product, size: "S", quantity: 2 },
			{ product_id: s.product, size: "M", quantity: 2 },
		]);
		await setLimit(s.product, 3);
		const r = await call("POST", "/cart/place-order", { auth: c.auth, body: {} });
		expect(r.status).toBe(409);
		expect(r.body).toEqual({ error: expect.any(String), code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 3, already: 0, requested: 4 }] });
		expect(await onHand(s.warehouse, s.product, "S")).toEqual({ on_hand: 20, reserved: 0 });
		expect(await onHand(s.warehouse, s.product, "M")).toEqual({ on_hand: 20, reserved: 0 });
		const cart = await call("GET", "/cart", { auth: c.auth });
		expect(cart.body.status).toBe("active");
		expect(cart.body.items).toHaveLength(2);
		expect(await counter(c.sub, s.product)).toBeNull();
		// Down to the limit, the same cart places.
		expect((await call("PUT", `/cart/items/${s.product}/S`, { auth: c.auth, body: { quantity: 1 } })).status).toBe(200);
		const ok = await call("POST", "/cart/place-order", { auth: c.auth, body: {} });
		expect(ok.status, JSON.stringify(ok.body)).toBe(201);
		expect(await counter(c.sub, s.product)).toBe(3);
		await expectInvariants(s.all, { settled: true });
	});

	it("the decision batch enforces the limit: two checkouts of one customer at once, only one fits, the other holds nothing", async () => {
		const s = await limitedShop(3);
		const userId = await quickCustomer([{ product_id: s.product, size: "M", quantity: 2 }]);
		const input = await checkoutInput(userId);
		// A second order of the same customer in flight at the same moment (its own cart id).
		const twin = { ...input, cartId: `cart_${crypto.randomUUID()}` };
		const [a, b] = await Promise.all([placeOrder(input, checkoutDeps()), placeOrder(twin, checkoutDeps())]);
		const results = [a, b];
		const placed = results.filter((r) => r.ok);
		const refused = results.filter((r) => !r.ok);
		expect(placed).toHaveLength(1);
		expect(refused).toHaveLength(1);
		const failure = refused[0]!;
		if (failure.ok || failure.reason !== "purchase_limit") throw new Error(`expected purchase_limit, got ${JSON.stringify(failure)}`);
		expect(failure.excesses).toEqual([{ product_id: s.product, limit: 3, already: 2, requested: 2 }]);
		const err = toApiError(failure);
		expect([err.status, err.code]).toEqual([409, "PURCHASE_LIMIT"]);

		expect(await counter(userId, s.product)).toBe(2);
		expect(await onHand(s.warehouse, s.product, "M")).toEqual({ on_hand: 18, reserved: 0 });
		const { results: orders } = await dbOfCustomer(userId).prepare(`SELECT order_id FROM orders WHERE user_id = ?`).bind(userId).all<{ order_id: string }>();
		expect(orders).toHaveLength(1);
		await expectInvariants(s.all, { settled: true });
	});

	it("an order decided while another one of the customer's was between its pre-check and its decision: that one is refused by the batch and releases its hold", async () => {
		const s = await limitedShop(3);
		const userId = await quickCustomer([{ product_id: s.product, size: "M", quantity: 2 }]);
		const input = await checkoutInput(userId);
		let second: Promise<unknown> | undefined;
		// The first checkout has passed its pre-check and holds its units; before it decides, a second order of 2 is placed.
		const store = faultyStore(orderStore(env), {
			beforeDecide: async () => {
				second ??= placeOrder({ ...input, cartId: `cart_${crypto.randomUUID()}` }, checkoutDeps());
				expect(await second).toMatchObject({ ok: true });
			},
		});
		const port = faultyWarehouses(warehousePort(env));
		const first = await placeOrder(input, checkoutDeps({ store, warehouses: port }));
		expect(first).toEqual({ ok: false, reason: "purchase_limit", excesses: [{ product_id: s.product, limit: 3, already: 2, requested: 2 }] });
		// It did reserve (the pre-check passed), then released on the batch's refusal.
		const [refused] = port.refs("reserve");
		expect(port.refs("release")).toContain(refused);
		expect((await ledgerOf(s.warehouse, refused!)).map((e) => [e.reason, e.reserved_delta])).toEqual([
			["reserve", 2],
			["release", -2],
		]);
		expect(store.decided).toEqual([]);
		expect(await counter(userId, s.product)).toBe(2);
		expect(await onHand(s.warehouse, s.product, "M")).toEqual({ on_hand: 18, reserved: 0 });
		await expectInvariants(s.all, { settled: true });
	});

	it("many checkouts of one customer at once never pass the limit in total", async () => {
		const s = await limitedShop(3);
		const userId = await quickCustomer([{ product_id: s.product, size: "S", quantity: 1 }]);
		const input = await checkoutInput(userId);
		const results = await Promise.all(Array.from({ length: 6 }, () => placeOrder({ ...input, cartId: `cart_${crypto.randomUUID()}` }, checkoutDeps())));
		expect(results.filter((r) => r.ok)).toHaveLength(3);
		expect(results.filter((r) => !r.ok).map((r) => (r.ok ? "" : r.reason))).toEqual(["purchase_limit", "purchase_limit", "purchase_limit"]);
		expect(await counter(userId, s.product)).toBe(3);
		expect(await onHand(s.warehouse, s.product, "S")).toEqual({ on_hand: 17, reserved: 0 });
		await expectInvariants(s.all, { settled: true });
	});

	it("an add racing the checkout of a full cart is refused whichever lands first (the cart, then the order, count)", async () => {
		const s = await limitedShop(2);
		const c = await customer([{ product_id: s.product, size: "M", quantity: 2 }]);
		const [placed, added] = await Promise.all([
			call("POST", "/cart/place-order", { auth: c.auth, body: {} }),
			call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "S", quantity: 1 } }),
		]);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		expect(added.status).toBe(409);
		expect(added.body).toMatchObject({ code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 2, already: 2, requested: 1 }] });
		expect(await counter(c.sub, s.product)).toBe(2);
		expect(await cartItems(c.auth)).toEqual([]);
		await expectInvariants(s.all, { settled: true });
	});
});

describe("cancellation and the allowance", () => {
	it("the unit ledger restocks once and the counter gives back once when a cancel is repeated at the same moment", async () => {
		const s = await limitedShop(2);
		const sub = uid("user");
		const auth = await tokenWithEmail(sub);
		const placed = await orderAgain(auth, [{ product_id: s.product, size: "M", quantity: 2 }]);
		expect(placed.status).toBe(201);
		const answers = await Promise.all([0, 1, 2].map(() => call("POST", `/orders/${placed.body.order_id}/cancel`, { auth, body: {} })));
		expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
		expect(await counter(sub, s.product)).toBe(0);
		expect((await ledgerOf(s.warehouse, placed.body.order_id)).filter((e) => e.reason === "restock").map((e) => e.on_hand_delta)).toEqual([2]);
		// The allowance is whole again: a new order of 2 places.
		expect((await orderAgain(auth, [{ product_id: s.product, size: "S", quantity: 2 }])).status).toBe(201);
		expect(await counter(sub, s.product)).toBe(2);
	});
});

/**
 * A limited product (sizes S and M, limit `limit`) and a kit holding one M of it
 * plus a cap, with `kitLimit` of its own.
 */
async function kitLimitShop(limit: number | null, kitLimit: number | null = null) {
	const s = await limitedShop(limit);
	const auth = await admin();
	const cap = uid("cap");
	const kit = uid("kit");
	expect((await call("PUT", `/admin/products/${cap}`, { auth, body: { name: "Cap", price: 5, sizes: ["OS"] } })).status).toBe(200);
	expect((await call("PUT", `/admin/warehouses/${s.warehouse}/stock`, { auth, body: { items: [{ product_id: cap, size: "OS", on_hand: 50 }] } })).status).toBe(200);
	const k = await call("PUT", `/admin/products/${kit}`, {
		auth,
		body: { name: "Drop kit", price: 30, sizes: ["ONE"], max_per_customer: kitLimit, components: [{ product_id: s.product, size: "M", quantity: 1 }, { product_id: cap, size: "OS", quantity: 1 }] },
	});
	expect(k.status, JSON.stringify(k.body)).toBe(200);
	return { ...s, kit, cap };
}

describe("kits and purchase limits", () => {
	it("a cart add of kits counts each component's units against that component's limit", async () => {
		const s = await kitLimitShop(2);
		const c = await customer([{ product_id: s.product, size: "S", quantity: 2 }]);
		const kitAdd = await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.kit, size: "ONE", quantity: 1 } });
		expect(kitAdd.status).toBe(409);
		expect(kitAdd.body).toEqual({ error: expect.any(String), code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 2, already: 2, requested: 1 }] });
		expect(await cartItems(c.auth)).toEqual([["S", 2]]);

		// Kits first: 3 kits alone are over, 2 fit, and then no plain unit fits.
		const d = await customer([]);
		const three = await call("POST", "/cart/items", { auth: d.auth, body: { product_id: s.kit, size: "ONE", quantity: 3 } });
		expect(three.status).toBe(409);
		expect(three.body.details).toEqual([{ product_id: s.product, limit: 2, already: 0, requested: 3 }]);
		expect((await call("POST", "/cart/items", { auth: d.auth, body: { product_id: s.kit, size: "ONE", quantity: 2 } })).status).toBe(200);
		const plain = await call("POST", "/cart/items", { auth: d.auth, body: { product_id: s.product, size: "S", quantity: 1 } });
		expect(plain.status).toBe(409);
		expect(plain.body.details).toEqual([{ product_id: s.product, limit: 2, already: 2, requested: 1 }]);
	});

	it("a cart set of a kit line counts the other lines' units of its components, and may always lower the line", async () => {
		const s = await kitLimitShop(3);
		const c = await customer([
			{ product_id: s.product, size: "S", quantity: 1 },
			{ product_id: s.kit, size: "ONE", quantity: 1 },
		]);
		const over = await call("PUT", `/cart/items/${s.kit}/ONE`, { auth: c.auth, body: { quantity: 3 } });
		expect(over.status).toBe(409);
		expect(over.body.details).toEqual([{ product_id: s.product, limit: 3, already: 1, requested: 3 }]);
		expect((await call("PUT", `/cart/items/${s.kit}/ONE`, { auth: c.auth, body: { quantity: 2 } })).status).toBe(200);
		// The plain line's set counts the kit line's units.
		const plain = await call("PUT", `/cart/items/${s.product}/S`, { auth: c.auth, body: { quantity: 2 } });
		expect(plain.status).toBe(409);
		expect(plain.body.details).toEqual([{ product_id: s.product, limit: 3, already: 2, requested: 2 }]);
		await setLimit(s.product, 1);
		// Over a lowered limit: lowering the kit line is allowed, raising it is not.
		expect((await call("PUT", `/cart/items/${s.kit}/ONE`, { auth: c.auth, body: { quantity: 1 } })).status).toBe(200);
		expect((await call("PUT", `/cart/items/${s.kit}/ONE`, { auth: c.auth, body: { quantity: 2 } })).status).toBe(409);
	});

	it("a kit's own limit counts kits", async () => {
		const s = await kitLimitShop(null, 1);
		const c = await customer([{ product_id: s.kit, size: "ONE", quantity: 1 }]);
		const more = await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.kit, size: "ONE", quantity: 1 } });
		expect(more.status).toBe(409);
		expect(more.body.details).toEqual([{ product_id: s.kit, limit: 1, already: 1, requested: 1 }]);
		// Plain units of its unlimited component are not limited by the kit's limit.
		expect((await call("POST", "/cart/items", { auth: c.auth, body: { product_id: s.product, size: "S", quantity: 5 } })).status).toBe(200);
	});

	it("place-order counts kit components: a limit lowered after the cart was filled is 409 naming the component, nothing held", async () => {
		const s = await kitLimitShop(null);
		const c = await customer([
			{ product_id: s.kit, size: "ONE", quantity: 3 },
			{ product_id: s.product, size: "S", quantity: 2 },
		]);
		await setLimit(s.product, 2);
		const r = await call("POST", "/cart/place-order", { auth: c.auth, body: {} });
		expect(r.status).toBe(409);
		expect(r.body).toEqual({ error: expect.any(String), code: "PURCHASE_LIMIT", details: [{ product_id: s.product, limit: 2, already: 0, requested: 5 }] });
		expect(await onHand(s.warehouse, s.product, "M")).toEqual({ on_hand: 20, reserved: 0 });
		expect(await onHand(s.warehouse, s.cap, "OS")).toEqual({ on_hand: 50, reserved: 0 });
		expect((await call("GET", "/cart", { auth: c.auth })).body.status).toBe("active");
		await expectInvariants(s.all, { settled: true });
	});

	it("an order's kit lines add their components' units to the counters; a cancel gives them back", async () => {
		const s = await kitLimitShop(3);
		const sub = uid("user");
		const auth = await tokenWithEmail(sub);
		const placed = await orderAgain(auth, [
			{ product_id: s.kit, size: "ONE", quantity: 2 },
			{ product_id: s.product, size: "S", quantity: 1 },
		]);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		expect(await counter(sub, s.product)).toBe(3);
		expect(await counter(sub, s.kit)).toBe(2);
		expect(await counter(sub, s.cap)).toBe(2);
		const more = await call("POST", "/cart/items", { auth, body: { product_id: s.kit, size: "ONE", quantity: 1 } });
		expect(more.status).toBe(409);
		expect(more.body.details).toEqual([{ product_id: s.product, limit: 3, already: 3, requested: 1 }]);

		expect((await call("POST", `/orders/${placed.body.order_id}/cancel`, { auth, body: {} })).status).toBe(200);
		expect(await counter(sub, s.product)).toBe(0);
		expect(await counter(sub, s.kit)).toBe(0);
		expect(await counter(sub, s.cap)).toBe(0);
		expect((await call("POST", "/cart/items", { auth, body: { product_id: s.kit, size: "ONE", quantity: 3 } })).status).toBe(200);
	});

	it("two checkouts of one customer at once, each with a kit and a plain unit of its component, cannot pass the limit together", async () => {
		const s = await kitLimitShop(3);
		const userId = await quickCustomer([
			{ product_id: s.kit, size: "ONE", quantity: 1 },
			{ product_id: s.product, size: "S", quantity: 1 },
		]);
		const input = await checkoutInput(userId);
		const results = await Promise.all([0, 1].map(() => placeOrder({ ...input, cartId: `cart_${crypto.randomUUID()}` }, checkoutDeps())));
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		const failure = results.find((r) => !r.ok)!;
		if (failure.ok || failure.reason !== "purchase_limit") throw new Error(`expected purchase_limit, got ${JSON.stringify(failure)}`);
		expect(failure.excesses).toEqual([{ product_id: s.product, limit: 3, already: 2, requested: 2 }]);
		expect(await counter(userId, s.product)).toBe(2);
		expect(await counter(userId, s.kit)).toBe(1);
		expect(await onHand(s.warehouse, s.product, "M")).toEqual({ on_hand: 19, reserved: 0 });
		expect(await onHand(s.warehouse, s.product, "S")).toEqual({ on_hand: 19, reserved: 0 });
		await expectInvariants(s.all, { settled: true });
	});
});
