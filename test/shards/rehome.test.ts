/**
 * Moving customers out of shard 0 after an upgrade from the single-database
 * layout, row by row: the data is made by the Worker on one database, then
 * moved with the upgraded bindings (ORDERS_0 is DB's database).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { orderShards } from "../../src/orders/shards";
import type { Env } from "../../src/env";
import { completeCartStmt } from "../../src/orders/placement";
import { homeCustomer, MOVES_PER_RUN, recountCustomer, rehomePass } from "../../src/ops/rehome";
import { token } from "../helpers/auth";
import { admin } from "../helpers/http";
import { callWith, singleDatabaseEnv, subInShard, upgradedEnv } from "../helpers/layouts";
import { ADDRESS, makeShop, NY } from "../helpers/shop";

const single = singleDatabaseEnv();
const upgraded = upgradedEnv();
const N = orderShards(upgraded).length;

async function limitedShop() {
	const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: { "0/M": 50, "1/M": 50 } }] });
	const [p, q] = shop.products as [string, string];
	const r = await callWith(single, "PUT", `/admin/products/${p}`, { auth: await admin(), body: { name: "Limited", price: 10, sizes: ["S", "M", "L"], max_per_customer: 5 } });
	expect(r.status).toBe(200);
	return { p, q };
}

/** A customer of the single-database shop: one order of `ordered` units of p (with an idempotency key), then a cart of `inCart` lines. */
async function legacyCustomer(sub: string, p: string, q: string, ordered: number) {
	const auth = await token(sub);
	expect((await callWith(single, "POST", "/cart/items", { auth, body: { product_id: p, size: "M", quantity: ordered } })).status).toBe(200);
	expect((await callWith(single, "PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
	const placed = await callWith(single, "POST", "/cart/place-order", { auth, body: {}, headers: { "Idempotency-Key": `key-${sub}` } });
	expect(placed.status, JSON.stringify(placed.body)).toBe(201);
	expect((await callWith(single, "POST", "/cart/items", { auth, body: { product_id: p, size: "M", quantity: 1 } })).status).toBe(200);
	expect((await callWith(single, "POST", "/cart/items", { auth, body: { product_id: q, size: "M", quantity: 2 } })).status).toBe(200);
	return { auth, orderId: placed.body.order_id as string };
}

async function rowsOf(db: D1Database, sub: string) {
	const [carts, items, keys, counters, orders] = await db.batch<Record<string, unknown>>([
		db.prepare(`SELECT cart_id, status FROM carts WHERE user_id = ? AND status = 'active'`).bind(sub),
		db.prepare(`SELECT i.product_id, i.size, i.quantity FROM cart_items i JOIN carts c ON c.cart_id = i.cart_id WHERE c.user_id = ? AND c.status = 'active' ORDER BY i.product_id`).bind(sub),
		db.prepare(`SELECT idem_key, order_id FROM idempotency_keys WHERE user_id = ?`).bind(sub),
		db.prepare(`SELECT product_id, units FROM customer_product_units WHERE user_id = ? ORDER BY product_id`).bind(sub),
		db.prepare(`SELECT order_id FROM orders WHERE user_id = ?`).bind(sub),
	]);
	return { carts: carts!.results, items: items!.results, keys: keys!.results, counters: counters!.results, orders: orders!.results };
}

describe("moving a customer out of shard 0", () => {
	it("moves the active cart, the recent idempotency keys and the purchase counters once, and leaves the orders in shard 0", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("mover", 2, N);
		const { orderId } = await legacyCustomer(sub, p, q, 2);
		const before = await rowsOf(env.DB, sub);
		expect(before.carts).toHaveLength(1);

		const out = await homeCustomer(upgraded, sub, Date.now());
		expect(out).toEqual({ kind: "moved", cart: true, keys: 1, counters: 1, to: 2 });

		const left = await rowsOf(env.DB, sub);
		expect({ carts: left.carts, items: left.items, keys: left.keys, counters: left.counters }).toEqual({ carts: [], items: [], keys: [], counters: [] });
		expect(left.orders).toEqual([{ order_id: orderId }]);
		const moved = await rowsOf(orderShards(upgraded)[2]!, sub);
		expect(moved.carts).toEqual(before.carts);
		expect(moved.items).toEqual(before.items);
		expect(moved.keys).toEqual([{ idem_key: `key-${sub}`, order_id: orderId }]);
		expect(moved.counters).toEqual([{ product_id: p, units: 2 }]);
		expect(moved.orders).toEqual([]);

		// Once: a second move finds nothing, and counts nothing twice.
		expect(await homeCustomer(upgraded, sub, Date.now())).toEqual({ kind: "nothing_left" });
		expect((await rowsOf(orderShards(upgraded)[2]!, sub)).counters).toEqual([{ product_id: p, units: 2 }]);

		// A cart written in shard 0 later (by the previous version, during a deploy) is merged into hers; the
		// counters, recounted when they moved, stay as they are.
		await env.DB.batch([
			env.DB.prepare(`INSERT INTO carts (cart_id, user_id, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?)`).bind(`late-${sub}`, sub, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
			env.DB.prepare(`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at) VALUES (?, ?, 'L', 1, ?)`).bind(`late-${sub}`, q, "2026-01-01T00:00:00.000Z"),
		]);
		expect(await homeCustomer(upgraded, sub, Date.now())).toMatchObject({ kind: "moved", cart: true, counters: 0 });
		const merged = await rowsOf(orderShards(upgraded)[2]!, sub);
		expect(merged.carts).toEqual(before.carts);
		expect(merged.items).toHaveLength(before.items.length + 1);
		expect(merged.counters).toEqual([{ product_id: p, units: 2 }]);
		expect((await rowsOf(env.DB, sub)).carts).toEqual([]);
	});

	it("a customer shard 0 keeps stays, rows and all", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("stayer", 0, N);
		await legacyCustomer(sub, p, q, 1);
		const before = await rowsOf(env.DB, sub);
		expect(await homeCustomer(upgraded, sub, Date.now())).toEqual({ kind: "stays" });
		expect(await rowsOf(env.DB, sub)).toEqual(before);
	});

	it("counts the units of orders in both shards when the customer already ordered in the new one", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("both", 1, N);
		const { orderId } = await legacyCustomer(sub, p, q, 2);
		// An order of 3 more already in shard 1 (as a rollout's new version would have placed it), with its counter.
		const target = orderShards(upgraded)[1]!;
		const row = await env.DB.prepare(`SELECT * FROM orders WHERE order_id = ?`).bind(orderId).first<Record<string, unknown>>();
		const products = (JSON.parse(String(row!.products)) as Array<Record<string, unknown>>).map((l) => ({ ...l, quantity: 3 }));
		const copy = { ...row!, order_id: `ord_1_${"a".repeat(32)}`, cart_id: `cart-${sub}-new`, products: JSON.stringify(products) };
		const cols = Object.keys(copy);
		await target.batch([
			target.prepare(`INSERT INTO orders (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(...cols.map((c) => (copy as Record<string, unknown>)[c] ?? null)),
			target.prepare(`INSERT INTO customer_product_units (user_id, product_id, units, cap) VALUES (?, ?, 3, 5)`).bind(sub, p),
		]);

		await homeCustomer(upgraded, sub, Date.now());
		expect((await rowsOf(target, sub)).counters).toEqual([{ product_id: p, units: 5 }]);
		// A cancelled order in either shard counts for nothing.
		await env.DB.prepare(`UPDATE orders SET status = 'cancelled' WHERE order_id = ?`).bind(orderId).run();
		await legacyCounter(sub, p);
		await homeCustomer(upgraded, sub, Date.now());
		expect((await rowsOf(target, sub)).counters).toEqual([{ product_id: p, units: 3 }]);
	});

	it("recounts a moved customer whose order from before the move is cancelled: its units no longer count", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("undo", 3, N);
		const { orderId } = await legacyCustomer(sub, p, q, 2);
		await homeCustomer(upgraded, sub, Date.now());
		const target = orderShards(upgraded)[3]!;
		expect((await rowsOf(target, sub)).counters).toEqual([{ product_id: p, units: 2 }]);
		// Cancelled in shard 0, where its counters no longer are.
		await env.DB.prepare(`UPDATE orders SET status = 'cancelled' WHERE order_id = ?`).bind(orderId).run();
		await recountCustomer(upgraded, sub);
		expect((await rowsOf(target, sub)).counters).toEqual([{ product_id: p, units: 0 }]);
		await recountCustomer(upgraded, sub);
		expect((await rowsOf(target, sub)).counters).toEqual([{ product_id: p, units: 0 }]);
	});
});

/**
 * The upgraded bindings with shard `index` running `beforeWrite` before the
 * first batch written to it: what happens between the move's read in shard 0
 * and its write in the customer's new shard.
 */
function pausedBeforeWrite(index: number, beforeWrite: () => Promise<void>): Env {
	const db = orderShards(upgraded)[index]!;
	let paused = false;
	const batch = async (stmts: D1PreparedStatement[]) => {
		if (!paused) {
			paused = true;
			await beforeWrite();
		}
		return db.batch(stmts);
	};
	const shard = new Proxy(db, { get: (target, prop) => (prop === "batch" ? batch : Reflect.get(target, prop, target)) });
	return { ...upgraded, [`ORDERS_${index}`]: shard } as Env;
}

/** A customer's live orders in every shard. */
async function liveOrders(sub: string) {
	const all = await Promise.all(
		orderShards(upgraded).map(async (db) => (await db.prepare(`SELECT order_id, cart_id FROM orders WHERE user_id = ? AND status <> 'cancelled'`).bind(sub).all()).results),
	);
	return all.flat();
}

describe("a move racing a checkout of the previous version", () => {
	it("a cart being moved cannot also be checked out in shard 0: the customer orders it once, in the new shard", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("racer", 1, N);
		const { auth, orderId } = await legacyCustomer(sub, p, q, 1);
		expect((await callWith(single, "PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
		const cart = (await env.DB.prepare(`SELECT cart_id, version FROM carts WHERE user_id = ? AND status = 'active'`).bind(sub).first<{ cart_id: string; version: number }>())!;
		let decision: unknown;
		let oldCheckout: Record<string, unknown> = {};
		const racing = pausedBeforeWrite(1, async () => {
			// The previous version checks the cart out; and its decision for a checkout that read the cart before the move.
			const r = await callWith(single, "POST", "/cart/place-order", { auth, body: {} });
			oldCheckout = { status: r.status, code: r.body.code };
			decision = await completeCartStmt(env.DB, cart.cart_id, cart.version, new Date().toISOString())
				.run()
				.catch((err: unknown) => err);
		});

		await homeCustomer(racing, sub, Date.now());
		const placed = await callWith(upgraded, "POST", "/cart/place-order", { auth, body: {} });
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		const again = await callWith(upgraded, "POST", "/cart/place-order", { auth, body: {} });
		expect(again.status).not.toBe(201);

		const orders = await liveOrders(sub);
		expect(orders).toHaveLength(2);
		expect(orders.map((o) => o.order_id)).toContain(orderId);
		expect(new Set(orders.map((o) => o.cart_id)).size).toBe(2);
		expect(oldCheckout.status).not.toBe(201);
		expect(String(decision)).toContain("CART_TAKEN");
		expect(await rowsOf(env.DB, sub)).toMatchObject({ carts: [], items: [] });
		expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM carts WHERE user_id = ? AND status = 'moved'`).bind(sub).first("n")).toBe(0);
	});

	it("a move that stops after claiming the cart is finished by the next one", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("halted", 3, N);
		const { auth } = await legacyCustomer(sub, p, q, 1);
		expect((await callWith(single, "PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
		const before = await rowsOf(env.DB, sub);
		const failing = pausedBeforeWrite(3, async () => {
			throw new Error("the new shard is unreachable");
		});
		await expect(homeCustomer(failing, sub, Date.now())).rejects.toThrow("unreachable");
		// Claimed in shard 0: the previous version can neither show it nor order it.
		expect((await callWith(single, "POST", "/cart/place-order", { auth, body: {} })).status).not.toBe(201);

		expect(await homeCustomer(upgraded, sub, Date.now())).toMatchObject({ kind: "moved", cart: true });
		const moved = await rowsOf(orderShards(upgraded)[3]!, sub);
		expect(moved.carts).toEqual(before.carts);
		expect(moved.items).toEqual(before.items);
		expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM carts WHERE user_id = ? AND status <> 'completed'`).bind(sub).first("n")).toBe(0);
	});
});

describe("an idempotency key in flight while its customer moves", () => {
	it("a key copied while its checkout was running learns the answer at the next move, and a retry replays the 201", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("inflight", 2, N);
		const { auth, orderId } = await legacyCustomer(sub, p, q, 1);
		const key = `key-${sub}`;
		const done = (await env.DB.prepare(`SELECT * FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`).bind(sub, key).first<Record<string, unknown>>())!;
		// As it was while the previous version's checkout ran: claimed, no answer yet.
		await env.DB.prepare(`UPDATE idempotency_keys SET state = 'running', status_code = NULL, response_body = NULL WHERE user_id = ? AND idem_key = ?`).bind(sub, key).run();
		const finishing = pausedBeforeWrite(2, async () => {
			await env.DB.prepare(`UPDATE idempotency_keys SET state = 'done', status_code = ?, response_body = ?, updated_at = ? WHERE user_id = ? AND idem_key = ?`)
				.bind(done.status_code, done.response_body, done.updated_at, sub, key)
				.run();
		});
		const target = orderShards(upgraded)[2]!;
		const stateIn = async (db: D1Database) => db.prepare(`SELECT state, status_code, response_body FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`).bind(sub, key).first();

		await homeCustomer(finishing, sub, Date.now());
		expect(await stateIn(target)).toMatchObject({ state: "running" });
		expect(await stateIn(env.DB)).toMatchObject({ state: "done" });

		expect(await homeCustomer(upgraded, sub, Date.now())).toMatchObject({ kind: "moved", keys: 1 });
		expect(await stateIn(target)).toEqual({ state: "done", status_code: done.status_code, response_body: done.response_body });
		expect(await stateIn(env.DB)).toBeNull();
		const retry = await callWith(upgraded, "POST", "/cart/place-order", { auth, body: {}, headers: { "Idempotency-Key": key } });
		expect(retry.status, JSON.stringify(retry.body)).toBe(201);
		expect(retry.body.order_id).toBe(orderId);
	});

	it("a key the new shard claimed itself is not overwritten by the old shard's answer", async () => {
		const { p, q } = await limitedShop();
		const sub = subInShard("ownkey", 1, N);
		await legacyCustomer(sub, p, q, 1);
		const key = `key-${sub}`;
		const target = orderShards(upgraded)[1]!;
		// The same key claimed in the new shard by a request of its own (a later claim), still running: its request writes its answer.
		const row = (await env.DB.prepare(`SELECT * FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`).bind(sub, key).first<Record<string, unknown>>())!;
		const later = new Date(Date.parse(String(row.created_at)) + 1000).toISOString();
		const own = { ...row, state: "running", status_code: null, response_body: null, order_id: null, created_at: later, updated_at: later };
		const cols = Object.keys(own);
		await target.prepare(`INSERT INTO idempotency_keys (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(...cols.map((c) => (own as Record<string, unknown>)[c] ?? null)).run();

		await homeCustomer(upgraded, sub, Date.now());
		expect(await target.prepare(`SELECT state, response_body FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`).bind(sub, key).first()).toEqual({ state: "running", response_body: null });
	});
});

/** A counter row left in shard 0 (what a request of the previous version, still serving during a deploy, would write). */
async function legacyCounter(sub: string, p: string) {
	await env.DB.prepare(`INSERT INTO customer_product_units (user_id, product_id, units) VALUES (?, ?, 1)`).bind(sub, p).run();
}

describe("the reconciler's pass", () => {
	it("moves the customers who do not come back, at most MOVES_PER_RUN a run, and marks shard 0 done after a round that found none", async () => {
		const { p, q } = await limitedShop();
		const movers = [1, 2, 3].map((i) => subInShard(`away${i}`, i, N));
		const stayer = subInShard("home", 0, N);
		for (const sub of [...movers, stayer]) await legacyCustomer(sub, p, q, 1);

		let done = false;
		for (let run = 0; run < 50 && !done; run++) {
			const report = await rehomePass(upgraded, Date.now());
			expect(report!.moved).toBeLessThanOrEqual(MOVES_PER_RUN);
			expect(report!.failures).toBe(0);
			done = report!.shards_done === 1;
		}
		expect(done).toBe(true);
		for (const [i, sub] of movers.entries()) {
			expect((await rowsOf(env.DB, sub)).carts).toEqual([]);
			expect((await rowsOf(orderShards(upgraded)[i + 1]!, sub)).carts).toHaveLength(1);
		}
		expect((await rowsOf(env.DB, stayer)).carts).toHaveLength(1);
		const progress = await env.DB.prepare(`SELECT done_at, moved_total FROM rehome_progress WHERE shards = ?`).bind(N).first<{ done_at: string | null; moved_total: number }>();
		expect(progress!.done_at).not.toBeNull();
		expect(progress!.moved_total).toBeGreaterThanOrEqual(3);
		// Done: later runs look at nothing.
		expect(await rehomePass(upgraded, Date.now())).toMatchObject({ moved: 0, shards_done: 1 });
	});

	it("does nothing when no move is under way", async () => {
		expect(await rehomePass(env, Date.now())).toBeUndefined();
		expect(await rehomePass(single, Date.now())).toBeUndefined();
	});
});
