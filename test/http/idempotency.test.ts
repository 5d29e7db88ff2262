// Idempotency-Key on POST /cart/place-order: replay of the first answer,
// reuse with a different request, per-user scope, the key's length, concurrent
// duplicates and replay of a 409.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, call, uid } from "../helpers/http";
import { customer, expectInvariants, makeShop, onHand, placeOrder } from "../helpers/shop";
import { dbOfCustomer } from "../helpers/shards";

/** expectInvariants over every warehouse in D1 (storage is shared by the tests of one file). */
async function expectSettled(own: string[]) {
	const { results } = await env.DB.prepare(`SELECT warehouse_id FROM warehouses`).all<{ warehouse_id: string }>();
	await expectInvariants([...new Set([...own, ...results.map((r) => r.warehouse_id)])], { settled: true });
}

async function orderCount(userId: string): Promise<number> {
	const r = await dbOfCustomer(userId).prepare(`SELECT COUNT(*) AS n FROM orders WHERE user_id = ?`).bind(userId).first<{ n: number }>();
	return Number(r!.n);
}

async function oneWarehouseShop(onHandM: number) {
	return makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": onHandM } }] });
}

describe("Idempotency-Key on place-order", () => {
	it("same key and same body twice: same status and body, the second marked Idempotent-Replayed, stock deducted once", async () => {
		const shop = await oneWarehouseShop(5);
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const key = uid("key");
		const first = await placeOrder(auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(first.status, JSON.stringify(first.body)).toBe(201);
		expect(first.headers.get("Idempotent-Replayed")).toBeNull();
		const second = await placeOrder(auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(second.status).toBe(201);
		expect(second.body).toEqual(first.body);
		expect(second.headers.get("Idempotent-Replayed")).toBe("true");
		// A third retry still replays.
		const third = await placeOrder(auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(third.status).toBe(201);
		expect(third.body).toEqual(first.body);
		expect(third.headers.get("Idempotent-Replayed")).toBe("true");
		expect(await orderCount(sub)).toBe(1);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("same key with a different body is 422 IDEMPOTENCY_KEY_REUSED", async () => {
		const shop = await oneWarehouseShop(5);
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const key = uid("key");
		const first = await placeOrder(auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(first.status).toBe(201);
		const reused = await placeOrder(auth, { delivery_mode: "standard" }, { "Idempotency-Key": key });
		expect(reused.status, JSON.stringify(reused.body)).toBe(422);
		expect(reused.body).toEqual(expect.objectContaining({ code: "IDEMPOTENCY_KEY_REUSED", error: expect.any(String) }));
		expect(reused.headers.get("Idempotent-Replayed")).toBeNull();
		// The original request still replays afterwards.
		const again = await placeOrder(auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(again.status).toBe(201);
		expect(again.body).toEqual(first.body);
		expect(await orderCount(sub)).toBe(1);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 4, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("a key is scoped to its user: two users with the same key each get their own order", async () => {
		const shop = await oneWarehouseShop(5);
		const p = shop.products[0]!;
		const a = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const b = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const key = uid("shared-key");
		const ra = await placeOrder(a.auth, {}, { "Idempotency-Key": key });
		const rb = await placeOrder(b.auth, {}, { "Idempotency-Key": key });
		expect(ra.status).toBe(201);
		expect(rb.status).toBe(201);
		expect(rb.headers.get("Idempotent-Replayed")).toBeNull();
		expect(rb.body.order_id).not.toBe(ra.body.order_id);
		expect(ra.body.user_id).toBe(a.sub);
		expect(rb.body.user_id).toBe(b.sub);
		expect(rb.body.products[0].quantity).toBe(2);
		// Each user's retry replays their own answer.
		const rb2 = await placeOrder(b.auth, {}, { "Idempotency-Key": key });
		expect(rb2.headers.get("Idempotent-Replayed")).toBe("true");
		expect(rb2.body).toEqual(rb.body);
		// Even a different body from another user is not a reuse.
		const c = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const rc = await placeOrder(c.auth, { delivery_mode: "express" }, { "Idempotency-Key": key });
		expect(rc.status).toBe(201);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("a key of 256 characters (or an empty one) is 400 VALIDATION_ERROR; 255 is accepted", async () => {
		const shop = await oneWarehouseShop(5);
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const long = await placeOrder(auth, {}, { "Idempotency-Key": "k".repeat(256) });
		expect(long.status, JSON.stringify(long.body)).toBe(400);
		expect(long.body.code).toBe("VALIDATION_ERROR");
		expect(long.body.error).toEqual(expect.any(String));
		const empty = await placeOrder(auth, {}, { "Idempotency-Key": "" });
		expect(empty.status).toBe(400);
		expect(empty.body.code).toBe("VALIDATION_ERROR");
		expect(await orderCount(sub)).toBe(0);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 5, reserved: 0 });
		const ok = await placeOrder(auth, {}, { "Idempotency-Key": "k".repeat(255) });
		expect(ok.status, JSON.stringify(ok.body)).toBe(201);
		expect(await orderCount(sub)).toBe(1);
		await expectSettled(shop.warehouses);
	});

	it("concurrent duplicates with the same key: exactly one order; the others replay it or answer 409 CONFLICT", async () => {
		const shop = await oneWarehouseShop(10);
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const key = uid("key");
		const answers = await Promise.all(Array.from({ length: 6 }, () => placeOrder(auth, {}, { "Idempotency-Key": key })));
		expect(answers.filter((r) => r.status >= 500)).toEqual([]);
		const originals = answers.filter((r) => r.status === 201 && r.headers.get("Idempotent-Replayed") === null);
		expect(originals).toHaveLength(1);
		const order = originals[0]!.body;
		for (const r of answers) {
			if (r === originals[0]) continue;
			if (r.status === 201) {
				expect(r.headers.get("Idempotent-Replayed")).toBe("true");
				expect(r.body).toEqual(order);
			} else {
				expect(r.status, JSON.stringify(r.body)).toBe(409);
				expect(r.body.code).toBe("CONFLICT");
			}
		}
		expect(await orderCount(sub)).toBe(1);
		expect(await onHand(shop.warehouses[0]!, p, "M")).toEqual({ on_hand: 8, reserved: 0 });
		// Once the first has finished, a retry replays it.
		const retry = await placeOrder(auth, {}, { "Idempotency-Key": key });
		expect(retry.status).toBe(201);
		expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
		expect(retry.body).toEqual(order);
		await expectSettled(shop.warehouses);
	});

	it("a 409 OUT_OF_STOCK answer is replayed with the same key, even after a restock", async () => {
		const shop = await oneWarehouseShop(1);
		const p = shop.products[0]!;
		const w = shop.warehouses[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		const key = uid("key");
		const first = await placeOrder(auth, {}, { "Idempotency-Key": key });
		expect(first.status).toBe(409);
		expect(first.body.code).toBe("OUT_OF_STOCK");
		expect(first.body.details).toEqual([{ product_id: p, size: "M", requested: 3, available: 1 }]);
		const second = await placeOrder(auth, {}, { "Idempotency-Key": key });
		expect(second.status).toBe(409);
		expect(second.body).toEqual(first.body);
		expect(second.headers.get("Idempotent-Replayed")).toBe("true");
		// Stock arrives: the same key still answers what it answered first; a new key places the order.
		const set = await call("PUT", `/admin/warehouses/${w}/stock`, { auth: await admin(), body: { items: [{ product_id: p, size: "M", on_hand: 5 }] } });
		expect(set.status).toBe(200);
		const third = await placeOrder(auth, {}, { "Idempotency-Key": key });
		expect(third.status).toBe(409);
		expect(third.body).toEqual(first.body);
		expect(third.headers.get("Idempotent-Replayed")).toBe("true");
		expect(await orderCount(sub)).toBe(0);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 5, reserved: 0 });
		const fresh = await placeOrder(auth, {}, { "Idempotency-Key": uid("key") });
		expect(fresh.status, JSON.stringify(fresh.body)).toBe(201);
		expect(await orderCount(sub)).toBe(1);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		await expectSettled(shop.warehouses);
	});

	it("without a key, a second request after success is not a replay (the cart is now empty)", async () => {
		const shop = await oneWarehouseShop(5);
		const p = shop.products[0]!;
		const { sub, auth } = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		expect((await placeOrder(auth)).status).toBe(201);
		const again = await placeOrder(auth);
		expect(again.status).toBe(400);
		expect(again.body.code).toBe("CART_EMPTY");
		expect(again.headers.get("Idempotent-Replayed")).toBeNull();
		expect(await orderCount(sub)).toBe(1);
		await expectSettled(shop.warehouses);
	});
});
