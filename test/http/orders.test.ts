import { beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "../../src/orders/cursor";
import { insertOrderStmt, placedHistory } from "../../src/orders/placement";
import { getOrder } from "../../src/orders/queries";
import { historyStmt } from "../../src/orders/rows";
import { newOrderId, shardOfOrderId } from "../../src/orders/shards";
import { token } from "../helpers/auth";
import { call, uid } from "../helpers/http";
import { customerWithOrder, orderAgain, setStatus, tokenWithEmail, type Item } from "../helpers/orders";
import { dbOfOrder } from "../helpers/shards";
import { makeShop, type Shop } from "../helpers/shop";

let shop: Shop;
let items: Item[];

beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
	items = [{ product_id: shop.products[0]!, size: "M", quantity: 1 }];
});

/** Follows next_cursor from the first page; `between` runs after each page. */
async function allPages(path: string, auth: string, limit: number, between?: () => Promise<void>) {
	const pages: Array<Array<{ order_id: string; created_at: string }>> = [];
	let cursor: string | null = null;
	for (let n = 0; n < 100; n++) {
		const sep = path.includes("?") ? "&" : "?";
		const r = await call("GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { auth });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.orders.length).toBeLessThanOrEqual(limit);
		pages.push(r.body.orders);
		cursor = r.body.next_cursor;
		if (cursor === null) break;
		expect(r.body.orders.length).toBe(limit);
		if (between) await between();
	}
	return pages;
}

function newestFirst(orders: Array<{ order_id: string; created_at: string }>): boolean {
	for (let i = 1; i < orders.length; i++) {
		const a = orders[i - 1]!;
		const b = orders[i]!;
		if (a.created_at < b.created_at || (a.created_at === b.created_at && a.order_id <= b.order_id)) return false;
	}
	return true;
}

describe("GET /orders", () => {
	it("lists only the user's own orders, newest first, in the Order shape", async () => {
		const c = await customerWithOrder(items);
		const second = await orderAgain(c.auth, items);
		expect(second.status).toBe(201);
		await customerWithOrder(items); // someone else's
		const r = await call("GET", "/orders", { auth: c.auth });
		expect(r.status).toBe(200);
		expect(r.body.next_cursor).toBeNull();
		expect(r.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([second.body.order_id, c.order.order_id]);
		expect(r.body.orders[1]).toEqual(c.order);
		for (const o of r.body.orders) expect(o.user_id).toBe(c.sub);
	});

	it("a user without orders gets an empty page", async () => {
		const r = await call("GET", "/orders", { auth: await token(uid("nobody")) });
		expect(r.status).toBe(200);
		expect(r.body).toEqual({ orders: [], next_cursor: null });
	});

	it("pages with limit and cursor: stable order, no duplicates or gaps while new orders arrive", async () => {
		const c = await customerWithOrder(items);
		const placed = [c.order.order_id];
		for (let i = 0; i < 6; i++) {
			const r = await orderAgain(c.auth, items);
			expect(r.status).toBe(201);
			placed.push(r.body.order_id);
		}
		const before = await call("GET", "/orders?limit=100", { auth: c.auth });
		const expected = before.body.orders.map((o: { order_id: string }) => o.order_id);
		expect(new Set(expected)).toEqual(new Set(placed));
		expect(newestFirst(before.body.orders)).toBe(true);

		const arrived: string[] = [];
		const pages = await allPages("/orders", c.auth, 2, async () => {
			const r = await orderAgain(c.auth, items);
			expect(r.status).toBe(201);
			arrived.push(r.body.order_id);
		});
		const seen = pages.flat().map((o) => o.order_id);
		// Exactly the orders that existed when paging started, in the same order: none repeated, none skipped.
		expect(seen).toEqual(expected);
		expect(pages.length).toBe(4); // 7 orders at 2 a page
		expect(arrived.length).toBe(3);
		// Orders placed meanwhile are newer, so they lead the first page of a fresh listing.
		const fresh = await call("GET", "/orders?limit=100", { auth: c.auth });
		expect(fresh.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([...arrived].reverse().concat(expected));
	});

	it("a limit of one walks every order one by one", async () => {
		const c = await customerWithOrder(items);
		for (let i = 0; i < 2; i++) expect((await orderAgain(c.auth, items)).status).toBe(201);
		const pages = await allPages("/orders", c.auth, 1);
		expect(pages.map((p) => p.length)).toEqual([1, 1, 1]);
		expect(newestFirst(pages.flat())).toBe(true);
	});

	it("a cursor never reaches into another user's orders", async () => {
		const a = await customerWithOrder(items);
		const b = await customerWithOrder(items);
		// A cursor just above b's order, used by a: a's list only.
		const cursor = encodeCursor({ created_at: "9999-12-31T00:00:00.000Z", order_id: "zzz" });
		const r = await call("GET", `/orders?cursor=${cursor}`, { auth: a.auth });
		expect(r.status).toBe(200);
		expect(r.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([a.order.order_id]);
		expect(r.body.orders.map((o: { order_id: string }) => o.order_id)).not.toContain(b.order.order_id);
	});

	it("rejects a bad cursor or limit with 400 VALIDATION_ERROR", async () => {
		const auth = await token(uid("user"));
		for (const q of ["cursor=not-a-cursor", `cursor=${btoa("[1,2]")}`, `cursor=${btoa("{}")}`, "cursor=%25%25", "limit=0", "limit=101", "limit=abc"]) {
			const r = await call("GET", `/orders?${q}`, { auth });
			expect(r.status, q).toBe(400);
			expect(r.body.code, q).toBe("VALIDATION_ERROR");
			expect(typeof r.body.error).toBe("string");
		}
	});

	it("needs a token: 401", async () => {
		const r = await call("GET", "/orders");
		expect(r.status).toBe(401);
		expect(r.body.code).toBe("UNAUTHORIZED");
	});
});

describe("GET /orders/:order_id", () => {
	it("shows the order with its history rows (old_status, new_status, changed_by, reason, created_at)", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		expect((await setStatus(id, "paid", { reason: "paid at the counter" })).status).toBe(200);
		const r = await call("GET", `/orders/${id}`, { auth: c.auth });
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ order_id: id, user_id: c.sub, status: "paid", payment_status: "paid" });
		expect(r.body.history).toEqual([
			{ old_status: null, new_status: "pending", changed_by: c.sub, reason: "order placed", created_at: c.order.created_at },
			{ old_status: "pending", new_status: "paid", changed_by: "admin-1", reason: "paid at the counter", created_at: expect.any(String) },
		]);
		for (const h of r.body.history) expect(Number.isNaN(Date.parse(h.created_at))).toBe(false);
		expect(r.body.history[1].created_at >= r.body.history[0].created_at).toBe(true);
	});

	it("shows one placement row for an order whose placement row is stored, as earlier versions wrote it with the order", async () => {
		const c = await customerWithOrder(items);
		const db = dbOfOrder(c.order.order_id);
		const placed = (await getOrder(db, c.order.order_id))!;
		const order = { ...placed, order_id: newOrderId(shardOfOrderId(placed.order_id)), cart_id: null };
		await db.batch([insertOrderStmt(db, order), historyStmt(db, placedHistory(order))]);
		const placement = { old_status: null, new_status: "pending", changed_by: c.sub, reason: "order placed", created_at: order.created_at };

		const before = await call("GET", `/orders/${order.order_id}`, { auth: c.auth });
		expect(before.status, JSON.stringify(before.body)).toBe(200);
		expect(before.body.history).toEqual([placement]);
		expect((await setStatus(order.order_id, "paid", { reason: "paid at the counter" })).status).toBe(200);
		const after = await call("GET", `/orders/${order.order_id}`, { auth: c.auth });
		expect(after.body.history).toEqual([placement, { old_status: "pending", new_status: "paid", changed_by: "admin-1", reason: "paid at the counter", created_at: expect.any(String) }]);
	});

	it("another user's order is 404 NOT_FOUND, like an unknown one", async () => {
		const owner = await customerWithOrder(items);
		const other = await tokenWithEmail(uid("user"));
		const theirs = await call("GET", `/orders/${owner.order.order_id}`, { auth: other });
		const unknown = await call("GET", `/orders/ord_doesnotexist`, { auth: other });
		expect(theirs.status).toBe(404);
		expect(theirs.body.code).toBe("NOT_FOUND");
		expect(unknown.status).toBe(404);
		expect(theirs.body).toEqual(unknown.body);
	});

	it("rejects an invalid id with 400 and needs a token", async () => {
		const auth = await token(uid("user"));
		expect((await call("GET", `/orders/${"x".repeat(65)}`, { auth })).status).toBe(400);
		expect((await call("GET", `/orders/bad.id`, { auth })).status).toBe(400);
		expect((await call("GET", `/orders/ord_x`)).status).toBe(401);
	});
});
