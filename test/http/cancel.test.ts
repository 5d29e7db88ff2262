import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { reconcile } from "../../src/ops/reconcile";
import { changeOrder } from "../../src/orders/service";
import { outboxOf } from "../helpers/commits";
import { call, uid } from "../helpers/http";
import { advance, captureLogs, customerWithOrder, expectHistoryChain, expectSettled, historyOf, orderAgain, setStatus, tokenWithEmail } from "../helpers/orders";
import { makeShop, onHand } from "../helpers/shop";
import { ledgerOf } from "../helpers/stock";

/** A shop with one product (size M) at one warehouse, or split over two. */
async function shopWith(stock: number[]) {
	const shop = await makeShop({ warehouses: stock.map((n) => ({ postal_code: "10001", region: "NY", stock: { "0/M": n } })) });
	return { ...shop, product: shop.products[0]! };
}

async function restocks(warehouseId: string, orderId: string) {
	return (await ledgerOf(warehouseId, orderId)).filter((e) => e.reason === "restock");
}

let logs: ReturnType<typeof captureLogs> | undefined;
afterEach(() => {
	logs?.stop();
	logs = undefined;
});

describe("POST /orders/:order_id/cancel", () => {
	it("cancels a pending order and restores its stock exactly once, however often it is repeated", async () => {
		const shop = await shopWith([5]);
		const [w] = shop.warehouses as [string];
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 2 }]);
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 3, reserved: 0 });

		logs = captureLogs();
		const r = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: { reason: "changed my mind" } });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body).toMatchObject({ order_id: c.order.order_id, status: "cancelled", payment_status: "pending" });
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 5, reserved: 0 });

		for (let i = 0; i < 2; i++) {
			const again = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: {} });
			expect(again.status).toBe(200);
			expect(again.body.status).toBe("cancelled");
		}
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect((await restocks(w, c.order.order_id)).map((e) => e.on_hand_delta)).toEqual([2]);
		// One [stock-restore] log line for the one restock.
		expect(logs.lines("[stock-restore]").map((l) => [l.event, l.order_id, l.warehouse_id])).toEqual([["restocked", c.order.order_id, w]]);

		const history = await historyOf(c.order.order_id);
		expect(history.slice(1)).toEqual([{ old_status: "pending", new_status: "cancelled", changed_by: c.sub, reason: "changed my mind", created_at: expect.any(String) }]);
		expect(await outboxOf(c.order.order_id)).toEqual([]);
		const shown = await call("GET", `/orders/${c.order.order_id}`, { auth: c.auth });
		expect(shown.body.status).toBe("cancelled");
		expect(shown.body.history).toHaveLength(2);
		await expectSettled();
	});

	it("a body is optional", async () => {
		const shop = await shopWith([3]);
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
		const r = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: {} });
		expect(r.status).toBe(200);
		expect((await historyOf(c.order.order_id))[1]!.reason).toBe("cancelled by customer");
	});

	it("restores a split order at every warehouse it used", async () => {
		const shop = await shopWith([2, 2]);
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 3 }]);
		const allocated = c.order.products[0].allocations as Array<{ warehouse_id: string; quantity: number }>;
		expect(allocated.length).toBe(2);
		const r = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: {} });
		expect(r.status).toBe(200);
		for (const w of shop.warehouses) {
			expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 2, reserved: 0 });
			const a = allocated.find((x) => x.warehouse_id === w)!;
			expect((await restocks(w, c.order.order_id)).map((e) => e.on_hand_delta)).toEqual([a.quantity]);
		}
		await expectSettled();
	});

	it("two cancels racing restore the stock once and write one cancellation", async () => {
		const shop = await shopWith([10]);
		const [w] = shop.warehouses as [string];
		const orders = [];
		for (let i = 0; i < 4; i++) orders.push(await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 2 }]));
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 2, reserved: 0 });

		for (const c of orders) {
			const [a, b] = await Promise.all([
				call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: { reason: "first" } }),
				call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: { reason: "second" } }),
			]);
			expect([a.status, b.status]).toEqual([200, 200]);
			expect([a.body.status, b.body.status]).toEqual(["cancelled", "cancelled"]);
			const history = await historyOf(c.order.order_id);
			expect(history.filter((h) => h.new_status === "cancelled")).toHaveLength(1);
			expectHistoryChain(history, "cancelled");
			expect((await restocks(w, c.order.order_id)).map((e) => e.on_hand_delta)).toEqual([2]);
		}
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 10, reserved: 0 });
		await expectSettled();
	});

	it("when the first restock fails, the order is cancelled and the reconciler restores the stock, once", async () => {
		const shop = await shopWith([5]);
		const [w] = shop.warehouses as [string];
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 2 }]);
		const id = c.order.order_id;

		// The warehouse cannot be reached: every call to it fails.
		logs = captureLogs();
		let attempts = 0;
		const broken = {
			...env,
			WAREHOUSE: {
				getByName: () => ({
					cancelHold: async () => {
						attempts++;
						throw new Error("warehouse unreachable");
					},
				}),
			},
		} as unknown as Env;
		const result = await changeOrder(broken, id, { type: "cancel" }, { by: c.sub, reason: "cancelled by customer" }, { ownerId: c.sub, idempotentCancel: true });
		expect(result).toMatchObject({ ok: true, changed: true, order: { status: "cancelled" } });
		expect(attempts).toBe(1);

		// D1 says cancelled, the stock is still taken, the outbox remembers the work.
		expect((await call("GET", `/orders/${id}`, { auth: c.auth })).body.status).toBe("cancelled");
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await outboxOf(id)).toEqual([{ order_id: id, warehouse_id: w, action: "cancel" }]);
		// A repeated cancel answers the cancelled order and restocks nothing twice.
		expect((await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} })).status).toBe(200);

		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.cancels).toBeGreaterThanOrEqual(1);
		expect(await outboxOf(id)).toEqual([]);
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 5, reserved: 0 });

		await reconcile(env, Date.now() + 120_000);
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 5, reserved: 0 });
		expect((await restocks(w, id)).map((e) => e.on_hand_delta)).toEqual([2]);
		expect(logs.lines("[stock-restore]").filter((l) => l.order_id === id).map((l) => l.event).sort()).toEqual(["deferred", "restocked"]);
		await expectSettled();
	});

	it("two reconciler runs racing over a failed restock restore it once", async () => {
		const shop = await shopWith([4]);
		const [w] = shop.warehouses as [string];
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
		const broken = { ...env, WAREHOUSE: { getByName: () => ({ cancelHold: async () => Promise.reject(new Error("down")) }) } } as unknown as Env;
		const result = await changeOrder(broken, c.order.order_id, { type: "cancel" }, { by: c.sub, reason: null });
		expect(result.ok).toBe(true);
		await Promise.all([reconcile(env, Date.now() + 60_000), reconcile(env, Date.now() + 60_000)]);
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 4, reserved: 0 });
		expect(await restocks(w, c.order.order_id)).toHaveLength(1);
		await expectSettled();
	});

	it("paid and processing orders can be cancelled by their customer; a shipped or delivered one cannot (409 INVALID_TRANSITION)", async () => {
		const shop = await shopWith([20]);
		const [w] = shop.warehouses as [string];
		for (const stage of ["paid", "processing"] as const) {
			const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
			await advance(c.order.order_id, stage);
			const r = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: {} });
			expect(r.status, stage).toBe(200);
			expect(r.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		}
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 20, reserved: 0 });

		for (const stage of ["shipped", "delivered"] as const) {
			const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
			await advance(c.order.order_id, stage);
			const before = await onHand(w, shop.product, "M");
			const historyBefore = await historyOf(c.order.order_id);
			const r = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: { reason: "too late" } });
			expect(r.status, stage).toBe(409);
			expect(r.body.code).toBe("INVALID_TRANSITION");
			expect(typeof r.body.error).toBe("string");
			expect((await call("GET", `/orders/${c.order.order_id}`, { auth: c.auth })).body.status).toBe(stage);
			expect(await onHand(w, shop.product, "M")).toEqual(before);
			expect(await historyOf(c.order.order_id)).toEqual(historyBefore);
			expect(await restocks(w, c.order.order_id)).toEqual([]);
		}
		await expectSettled();
	});

	it("another user's order is 404 on GET and on cancel, and stays as it was", async () => {
		const shop = await shopWith([3]);
		const [w] = shop.warehouses as [string];
		const owner = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
		const stranger = await tokenWithEmail(uid("user"));
		const get = await call("GET", `/orders/${owner.order.order_id}`, { auth: stranger });
		expect(get.status).toBe(404);
		expect(get.body.code).toBe("NOT_FOUND");
		const cancel = await call("POST", `/orders/${owner.order.order_id}/cancel`, { auth: stranger, body: {} });
		expect(cancel.status).toBe(404);
		expect(cancel.body.code).toBe("NOT_FOUND");
		expect((await call("GET", `/orders/${owner.order.order_id}`, { auth: owner.auth })).body.status).toBe("pending");
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 2, reserved: 0 });
		expect((await call("POST", `/orders/ord_unknown/cancel`, { auth: stranger, body: {} })).status).toBe(404);
	});

	it("needs a token (401) and a JSON body when one is sent", async () => {
		expect((await call("POST", `/orders/ord_x/cancel`, { body: {} })).status).toBe(401);
		const auth = await tokenWithEmail(uid("user"));
		const r = await call("POST", `/orders/ord_x/cancel`, { auth, raw: "{", headers: { "content-type": "application/json" } });
		expect(r.status).toBe(400);
		expect(r.body.code).toBe("INVALID_JSON");
	});

	it("a new order can use the stock a cancelled one gave back", async () => {
		const shop = await shopWith([1]);
		const first = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 1 }]);
		const other = await tokenWithEmail(uid("user"));
		expect((await orderAgain(other, [{ product_id: shop.product, size: "M", quantity: 1 }])).status).toBe(409);
		expect((await call("POST", `/orders/${first.order.order_id}/cancel`, { auth: first.auth, body: {} })).status).toBe(200);
		const again = await call("POST", "/cart/place-order", { auth: other, body: {} });
		expect(again.status, JSON.stringify(again.body)).toBe(201);
		await expectSettled();
	});
});

describe("admin cancellation", () => {
	it("an admin cancels through POST /admin/orders/:id/status and the stock comes back", async () => {
		const shop = await shopWith([4]);
		const [w] = shop.warehouses as [string];
		const c = await customerWithOrder([{ product_id: shop.product, size: "M", quantity: 3 }]);
		const r = await setStatus(c.order.order_id, "cancelled", { reason: "fraud check" });
		expect(r.status).toBe(200);
		expect(r.body.status).toBe("cancelled");
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 4, reserved: 0 });
		const again = await setStatus(c.order.order_id, "cancelled");
		expect(again.status).toBe(409);
		expect(again.body.code).toBe("INVALID_TRANSITION");
		expect(await onHand(w, shop.product, "M")).toEqual({ on_hand: 4, reserved: 0 });
		expect((await historyOf(c.order.order_id)).slice(1)).toEqual([
			{ old_status: "pending", new_status: "cancelled", changed_by: "admin-1", reason: "fraud check", created_at: expect.any(String) },
		]);
		await expectSettled();
	});
});
