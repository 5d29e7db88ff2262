/**
 * Orders across the order shards (N = 4 from wrangler.toml): a checkout
 * touches its customer's shard, an order id leads straight to one database,
 * and ids from the single-database layout still resolve (to shard 0).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OrderRecord } from "../../src/orders/queries";
import { insertOrderStmt, placedHistory } from "../../src/orders/placement";
import { historyStmt } from "../../src/orders/rows";
import { shardOfOrderId } from "../../src/orders/shards";
import { token } from "../helpers/auth";
import { admin, call, uid } from "../helpers/http";
import { orderRecord, orderState, paymentEvent, refundEvent, refundRows, webhook } from "../helpers/orders";
import { newerFirst } from "../../src/orders/merge";
import { allRows, allShards, dbOfOrder, subOnShard } from "../helpers/shards";
import { ADDRESS, expectInvariants, makeShop, onHand, placeOrder } from "../helpers/shop";

/** A customer in shard `index` with these lines and the default address. */
async function customerOn(index: number, items: Array<{ product_id: string; size: string; quantity: number }>) {
	const sub = subOnShard(index);
	const auth = await token(sub);
	for (const item of items) expect((await call("POST", "/cart/items", { auth, body: item })).status).toBe(200);
	expect((await call("PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
	return { sub, auth };
}

/** In which databases (DB, ORDERS_0 …) a row of `table` with this order id exists. */
async function whereIs(table: string, orderId: string): Promise<string[]> {
	const dbs: Array<[string, D1Database]> = [["DB", env.DB], ...allShards().map((db, i): [string, D1Database] => [`ORDERS_${i}`, db])];
	const found = await Promise.all(dbs.map(async ([name, db]) => ((await db.prepare(`SELECT 1 AS x FROM ${table} WHERE order_id = ?`).bind(orderId).first()) ? name : null)));
	return found.filter((n): n is string => n !== null);
}

describe("checkout across order shards", () => {
	it("runs with at least two shards", () => {
		expect(allShards().length).toBeGreaterThanOrEqual(2);
	});

	it("two customers on different shards buying the last unit: one 201, one 409, the unit sold once", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1 } }] });
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const a = await customerOn(1, [{ product_id: p, size: "M", quantity: 1 }]);
		const b = await customerOn(2, [{ product_id: p, size: "M", quantity: 1 }]);
		const answers = await Promise.all([placeOrder(a.auth), placeOrder(b.auth)]);
		expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
		const won = answers.find((r) => r.status === 201)!;
		const lost = answers.find((r) => r.status === 409)!;
		expect(lost.body.code).toBe("OUT_OF_STOCK");
		// The winner's order is in its customer's shard, and only there.
		const winnerShard = won.body.user_id === a.sub ? 1 : 2;
		expect(shardOfOrderId(won.body.order_id)).toBe(winnerShard);
		expect(await whereIs("orders", won.body.order_id)).toEqual([`ORDERS_${winnerShard}`]);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		await expectInvariants([w], { settled: true });
	});

	it("an order on shard 3 is looked up, paid, cancelled and refunded by its id, every row of it in that shard", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 4 } }] });
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const c = await customerOn(3, [{ product_id: p, size: "M", quantity: 2 }]);
		const placed = await placeOrder(c.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		const order = placed.body as { order_id: string; total: number; currency: string };
		expect(order.order_id).toMatch(/^ord_3_[0-9a-f]{32}$/);

		const mine = await call("GET", `/orders/${order.order_id}`, { auth: c.auth });
		expect(mine.status).toBe(200);
		expect(mine.body.history.map((h: { new_status: string }) => h.new_status)).toEqual(["pending"]);
		const listed = await call("GET", "/orders", { auth: c.auth });
		expect(listed.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([order.order_id]);

		const paid = await webhook(paymentEvent(order));
		expect(paid.status, JSON.stringify(paid.body)).toBe(200);
		expect(await orderState(order.order_id)).toMatchObject({ status: "paid", payment_status: "paid" });

		const cancelled = await call("POST", `/orders/${order.order_id}/cancel`, { auth: c.auth, body: {} });
		expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
		expect(cancelled.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		const [refund] = await refundRows(order.order_id);
		expect(refund).toMatchObject({ state: "requested", provider: "generic" });

		const refunded = await webhook(refundEvent(order));
		expect(refunded.status, JSON.stringify(refunded.body)).toBe(200);
		expect(await orderState(order.order_id)).toMatchObject({ status: "cancelled", payment_status: "refunded" });
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 4, reserved: 0 });

		for (const table of ["orders", "order_status_history", "payment_events", "refunds"]) {
			expect(await whereIs(table, order.order_id), table).toEqual(["ORDERS_3"]);
		}
		const history = await call("GET", `/orders/${order.order_id}`, { auth: await admin() });
		expect(history.body.history.map((h: { new_status: string }) => h.new_status)).toEqual(["pending", "paid", "cancelled", "cancelled"]);
	});

	it("an id naming a shard this Worker lacks is 404 like an unknown order, everywhere an id is taken", async () => {
		const missing = `ord_${allShards().length}_${crypto.randomUUID().replaceAll("-", "")}`;
		const auth = await token(uid("user"));
		expect((await call("GET", `/orders/${missing}`, { auth })).status).toBe(404);
		expect((await call("POST", `/orders/${missing}/cancel`, { auth, body: {} })).status).toBe(404);
		expect((await call("POST", `/admin/orders/${missing}/status`, { auth: await admin(), body: { status: "paid" } })).status).toBe(404);
		const paid = await webhook(paymentEvent({ order_id: missing, total: 10, currency: "USD" }));
		expect(paid.status).toBe(404);
		expect(paid.body.code).toBe("NOT_FOUND");
	});
});

describe("the admin order list over the shards", () => {
	it("pages exactly while orders are placed on several shards at once: every order that existed when paging started, once, newest first", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 200 } }] });
		const items = [{ product_id: shop.products[0]!, size: "M", quantity: 1 }];
		const n = allShards().length;
		const orderOn = async (shard: number) => {
			const r = await placeOrder((await customerOn(shard, items)).auth);
			expect(r.status, JSON.stringify(r.body)).toBe(201);
			return r.body.order_id as string;
		};
		await Promise.all(Array.from({ length: 2 * n }, (_, i) => orderOn(i % n)));
		const expected = (await allRows<{ order_id: string; created_at: string }>(`SELECT order_id, created_at FROM orders`)).sort(newerFirst).map((r) => r.order_id);
		expect(new Set(expected.map(shardOfOrderId)).size).toBe(n);

		// Two buyers keep placing orders, on every shard in turn, until the paging is done.
		let paging = true;
		const placedMeanwhile: string[] = [];
		const buyers = [0, 1].map(async (k) => {
			for (let i = k; paging; i += 2) placedMeanwhile.push(await orderOn(i % n));
		});
		const seen: string[] = [];
		const auth = await admin();
		let cursor: string | null = null;
		try {
			for (let pages = 0; pages < 100; pages++) {
				const r = await call("GET", `/admin/orders?limit=3${cursor ? `&cursor=${cursor}` : ""}`, { auth });
				expect(r.status, JSON.stringify(r.body)).toBe(200);
				seen.push(...r.body.orders.map((o: { order_id: string }) => o.order_id));
				cursor = r.body.next_cursor;
				if (cursor === null) break;
			}
		} finally {
			paging = false;
			await Promise.all(buyers);
		}
		expect(cursor).toBeNull();
		expect(placedMeanwhile.length).toBeGreaterThan(0);
		expect(new Set(seen).size).toBe(seen.length);
		const before = new Set(expected);
		expect(seen.filter((id) => before.has(id))).toEqual(expected);
	});
});

describe("orders from the single-database layout", () => {
	/**
	 * An order written before the customer's shard changed: by default as the old
	 * layout wrote it (id without a shard number, in ORDERS_0, as the upgrade keeps
	 * it), or in another shard, with an id naming it (placed before N grew).
	 */
	async function oldOrder(userId: string, productId: string, shard?: number): Promise<OrderRecord> {
		const at = new Date(Date.now() - 60_000).toISOString();
		const hex = crypto.randomUUID().replaceAll("-", "");
		const order = orderRecord({
			order_id: shard === undefined ? `ord_${hex}` : `ord_${shard}_${hex}`,
			user_id: userId,
			products: [{ product_id: productId, size: "M", name: "Old", quantity: 1, unit_price_cents: 1000, allocations: [] }],
			created_at: at,
		});
		const db = allShards()[shard ?? 0]!;
		await db.batch([insertOrderStmt(db, order), historyStmt(db, placedHistory(order))]);
		return order;
	}

	it("a customer's own list also finds orders in a shard they hashed to before N grew", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [] });
		const sub = subOnShard(2);
		const before = await oldOrder(sub, shop.products[0]!, 1);
		const older = await oldOrder(sub, shop.products[0]!);
		const own = await call("GET", "/orders", { auth: await token(sub) });
		expect(own.status, JSON.stringify(own.body)).toBe(200);
		expect(own.body.orders.map((o: { order_id: string }) => o.order_id).sort()).toEqual([before.order_id, older.order_id].sort());
	});

	it("still resolve from ORDERS_0: read and listed by their owner (whose shard is another), listed for admins, paid by the webhook", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [] });
		const sub = subOnShard(2);
		const old = await oldOrder(sub, shop.products[0]!);
		expect(dbOfOrder(old.order_id)).toBe(allShards()[0]);

		const owner = await token(sub);
		const read = await call("GET", `/orders/${old.order_id}`, { auth: owner });
		expect(read.status, JSON.stringify(read.body)).toBe(200);
		expect(read.body).toMatchObject({ order_id: old.order_id, status: "pending", total: 16 });
		const own = await call("GET", "/orders", { auth: owner });
		expect(own.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([old.order_id]);

		const listed = await call("GET", `/admin/orders?status=pending&limit=100`, { auth: await admin() });
		expect(listed.body.orders.map((o: { order_id: string }) => o.order_id)).toContain(old.order_id);

		const paid = await webhook(paymentEvent({ order_id: old.order_id, total: 16, currency: "USD" }));
		expect(paid.status, JSON.stringify(paid.body)).toBe(200);
		expect(await orderState(old.order_id)).toMatchObject({ status: "paid", payment_status: "paid" });
	});
});
