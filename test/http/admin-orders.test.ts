import { beforeAll, describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { admin, call, uid } from "../helpers/http";
import { advance, customerWithOrder, expectHistoryChain, expectSettled, historyOf, orderAgain, orderState, setStatus, type Item } from "../helpers/orders";
import { makeShop, onHand, type Shop } from "../helpers/shop";
import { allRows } from "../helpers/shards";
import { newerFirst } from "../../src/orders/merge";

let shop: Shop;
let items: Item[];

beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
	items = [{ product_id: shop.products[0]!, size: "M", quantity: 1 }];
});

describe("POST /admin/orders/:order_id/status", () => {
	it("walks pending -> paid -> processing -> shipped (with tracking number) -> delivered, one history row each", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;

		const paid = await setStatus(id, "paid", { reason: "bank transfer received" });
		expect(paid.status, JSON.stringify(paid.body)).toBe(200);
		expect(paid.body).toMatchObject({ order_id: id, status: "paid", payment_status: "paid", tracking_number: null });

		const processing = await setStatus(id, "processing");
		expect(processing.status).toBe(200);
		expect(processing.body).toMatchObject({ status: "processing", payment_status: "paid" });

		const noTracking = await setStatus(id, "shipped");
		expect(noTracking.status).toBe(400);
		expect(noTracking.body.code).toBe("VALIDATION_ERROR");
		expect(JSON.stringify(noTracking.body.details)).toContain("tracking_number");
		const badTracking = await setStatus(id, "shipped", { tracking_number: "<script>" });
		expect(badTracking.status).toBe(400);
		expect((await orderState(id)).status).toBe("processing");

		const shipped = await setStatus(id, "shipped", { tracking_number: "1Z999AA10123456784" });
		expect(shipped.status).toBe(200);
		expect(shipped.body).toMatchObject({ status: "shipped", tracking_number: "1Z999AA10123456784" });

		const delivered = await setStatus(id, "delivered", { tracking_number: "IGNORED-1" });
		expect(delivered.status).toBe(200);
		expect(delivered.body).toMatchObject({ status: "delivered", tracking_number: "1Z999AA10123456784" });

		// The customer sees the tracking number and the full history.
		const seen = await call("GET", `/orders/${id}`, { auth: c.auth });
		expect(seen.status).toBe(200);
		expect(seen.body).toMatchObject({ status: "delivered", payment_status: "paid", tracking_number: "1Z999AA10123456784" });
		expect(seen.body.history.map((h: { old_status: string | null; new_status: string }) => [h.old_status, h.new_status])).toEqual([
			[null, "pending"],
			["pending", "paid"],
			["paid", "processing"],
			["processing", "shipped"],
			["shipped", "delivered"],
		]);
		expect(seen.body.history[1]).toMatchObject({ changed_by: "admin-1", reason: "bank transfer received" });
		expectHistoryChain(seen.body.history, "delivered");
		// The list shows it too.
		const list = await call("GET", "/orders", { auth: c.auth });
		expect(list.body.orders[0]).toMatchObject({ order_id: id, tracking_number: "1Z999AA10123456784" });
		// Stock stays taken.
		await expectSettled();
	});

	it("refuses every transition the state machine does not allow with 409 INVALID_TRANSITION and changes nothing", async () => {
		const refused: Record<string, string[]> = {
			pending: ["pending", "processing", "shipped", "delivered"],
			paid: ["pending", "paid", "shipped", "delivered"],
			processing: ["pending", "paid", "processing", "delivered"],
			shipped: ["pending", "paid", "processing", "shipped", "cancelled"],
			delivered: ["pending", "paid", "processing", "shipped", "delivered", "cancelled"],
			cancelled: ["pending", "paid", "processing", "shipped", "delivered", "cancelled"],
		};
		for (const [from, targets] of Object.entries(refused)) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			if (from === "cancelled") expect((await setStatus(id, "cancelled")).status).toBe(200);
			else if (from !== "pending") await advance(id, from as "paid" | "processing" | "shipped" | "delivered");
			const before = await orderState(id);
			const historyBefore = await historyOf(id);
			for (const to of targets) {
				const r = await setStatus(id, to, to === "shipped" ? { tracking_number: "TRACK-999" } : {});
				expect(r.status, `${from} -> ${to}: ${JSON.stringify(r.body)}`).toBe(409);
				expect(r.body.code).toBe("INVALID_TRANSITION");
				expect(typeof r.body.error).toBe("string");
			}
			expect(await orderState(id)).toEqual(before);
			expect(await historyOf(id)).toEqual(historyBefore);
		}
		await expectSettled();
	});

	it("validates the body: unknown status 400, and 404 for an unknown order", async () => {
		const c = await customerWithOrder(items);
		const bad = await setStatus(c.order.order_id, "lost");
		expect(bad.status).toBe(400);
		expect(bad.body.code).toBe("VALIDATION_ERROR");
		const missing = await call("POST", `/admin/orders/ord_nope/status`, { auth: await admin(), body: { status: "paid" } });
		expect(missing.status).toBe(404);
		expect(missing.body.code).toBe("NOT_FOUND");
		expect((await orderState(c.order.order_id)).status).toBe("pending");
	});

	it("two admins racing the same transition: exactly one wins, one history row", async () => {
		for (let i = 0; i < 3; i++) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			const auth = await admin();
			const [a, b] = await Promise.all([
				call("POST", `/admin/orders/${id}/status`, { auth, body: { status: "paid", reason: "a" } }),
				call("POST", `/admin/orders/${id}/status`, { auth, body: { status: "paid", reason: "b" } }),
			]);
			expect([a.status, b.status].sort()).toEqual([200, 409]);
			const history = await historyOf(id);
			expect(history.filter((h) => h.new_status === "paid")).toHaveLength(1);
			expectHistoryChain(history, "paid");
		}
	});

	it("an admin cancel racing a ship: one wins, the history is one chain, and the stock matches the winner", async () => {
		const [w] = shop.warehouses as [string];
		for (let i = 0; i < 3; i++) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			await advance(id, "processing");
			const before = await onHand(w, shop.products[0]!, "M");
			const [cancel, ship] = await Promise.all([setStatus(id, "cancelled"), setStatus(id, "shipped", { tracking_number: "RACE-1" })]);
			expect([cancel.status, ship.status].sort()).toEqual([200, 409]);
			const final = await orderState(id);
			expect(final.status).toBe(cancel.status === 200 ? "cancelled" : "shipped");
			expectHistoryChain(await historyOf(id), final.status);
			expect((await onHand(w, shop.products[0]!, "M")).on_hand).toBe(before.on_hand + (final.status === "cancelled" ? 1 : 0));
		}
		await expectSettled();
	});

	it("is admin-only: 403 FORBIDDEN for a customer (even on their own order), 401 without a token", async () => {
		const c = await customerWithOrder(items);
		const forbidden = await call("POST", `/admin/orders/${c.order.order_id}/status`, { auth: c.auth, body: { status: "paid" } });
		expect(forbidden.status).toBe(403);
		expect(forbidden.body.code).toBe("FORBIDDEN");
		const anonymous = await call("POST", `/admin/orders/${c.order.order_id}/status`, { body: { status: "paid" } });
		expect(anonymous.status).toBe(401);
		expect(anonymous.body.code).toBe("UNAUTHORIZED");
		const expired = await call("POST", `/admin/orders/${c.order.order_id}/status`, { auth: await token("admin-2", { admin: true, expiresIn: "-1m" }), body: { status: "paid" } });
		expect(expired.status).toBe(401);
		expect((await orderState(c.order.order_id)).status).toBe("pending");
	});
});

describe("GET /admin/orders", () => {
	it("is admin-only: 403 for a customer, 401 without a token", async () => {
		const r = await call("GET", "/admin/orders", { auth: await token(uid("user")) });
		expect(r.status).toBe(403);
		expect(r.body.code).toBe("FORBIDDEN");
		const anon = await call("GET", "/admin/orders");
		expect(anon.status).toBe(401);
		expect(anon.body.code).toBe("UNAUTHORIZED");
	});

	it("lists every user's orders newest first, filtered by ?status=", async () => {
		const a = await customerWithOrder(items);
		const b = await customerWithOrder(items);
		await advance(b.order.order_id, "paid");
		const auth = await admin();
		const all = await call("GET", "/admin/orders?limit=100", { auth });
		expect(all.status).toBe(200);
		const ids = all.body.orders.map((o: { order_id: string }) => o.order_id);
		expect(ids).toContain(a.order.order_id);
		expect(ids).toContain(b.order.order_id);
		expect(ids.indexOf(b.order.order_id)).toBeLessThan(ids.indexOf(a.order.order_id));
		const paid = await call("GET", "/admin/orders?status=paid&limit=100", { auth });
		expect(paid.status).toBe(200);
		expect(paid.body.orders.every((o: { status: string }) => o.status === "paid")).toBe(true);
		expect(paid.body.orders.map((o: { order_id: string }) => o.order_id)).toContain(b.order.order_id);
		expect(paid.body.orders.map((o: { order_id: string }) => o.order_id)).not.toContain(a.order.order_id);
		const bad = await call("GET", "/admin/orders?status=lost", { auth });
		expect(bad.status).toBe(400);
		expect(bad.body.code).toBe("VALIDATION_ERROR");
	});

	it("pages ?status= with limit and cursor: stable, no duplicates or gaps while new orders arrive", async () => {
		const auth = await admin();
		for (let i = 0; i < 5; i++) await customerWithOrder(items);
		// What was pending when paging started, in the contract's order (newest first, ties by id).
		const expected = (await allRows<{ order_id: string; created_at: string }>(`SELECT order_id, created_at FROM orders WHERE status = 'pending'`)).sort(newerFirst).map((r) => r.order_id);
		expect(expected.length).toBeGreaterThanOrEqual(5);

		const seen: string[] = [];
		const arrived: string[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const r = await call("GET", `/admin/orders?status=pending&limit=3${cursor ? `&cursor=${cursor}` : ""}`, { auth });
			expect(r.status, JSON.stringify(r.body)).toBe(200);
			expect(r.body.orders.length).toBeLessThanOrEqual(3);
			for (const o of r.body.orders) expect(o.status).toBe("pending");
			seen.push(...r.body.orders.map((o: { order_id: string }) => o.order_id));
			cursor = r.body.next_cursor;
			pages++;
			// A new order arrives between page fetches.
			const n = await customerWithOrder(items);
			arrived.push(n.order.order_id);
		} while (cursor !== null && pages < 50);

		expect(seen).toEqual(expected);
		expect(new Set(seen).size).toBe(seen.length);
		for (const id of arrived) expect(seen).not.toContain(id);
		const fresh = await call("GET", `/admin/orders?status=pending&limit=${arrived.length}`, { auth });
		expect(fresh.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([...arrived].reverse());
	});

	it("orders placed at the same moment page in a stable order (ties broken by order id), one by one", async () => {
		const auth = await admin();
		// Concurrent checkouts: created_at values may coincide.
		await Promise.all(Array.from({ length: 6 }, () => customerWithOrder(items)));
		const expected = (await allRows<{ order_id: string; created_at: string }>(`SELECT order_id, created_at FROM orders`)).sort(newerFirst).map((r) => r.order_id);
		const seen: string[] = [];
		let cursor: string | null = null;
		for (let n = 0; n < expected.length + 1; n++) {
			const r = await call("GET", `/admin/orders?limit=1${cursor ? `&cursor=${cursor}` : ""}`, { auth });
			expect(r.status).toBe(200);
			seen.push(...r.body.orders.map((o: { order_id: string }) => o.order_id));
			cursor = r.body.next_cursor;
			if (cursor === null) break;
		}
		expect(seen).toEqual(expected);
	});

	it("rejects a bad cursor with 400 VALIDATION_ERROR", async () => {
		const auth = await admin();
		for (const cursor of ["garbage!", btoa("not json"), btoa('["", ""]'), "x".repeat(600)]) {
			const r = await call("GET", `/admin/orders?cursor=${encodeURIComponent(cursor)}`, { auth });
			expect(r.status, cursor).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
	});

	it("a placed-again customer's orders are all listed for the admin", async () => {
		const c = await customerWithOrder(items);
		const again = await orderAgain(c.auth, items);
		expect(again.status).toBe(201);
		const r = await call("GET", "/admin/orders?limit=2", { auth: await admin() });
		expect(r.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([again.body.order_id, c.order.order_id]);
		expect(typeof r.body.next_cursor).toBe("string");
	});
});
