/**
 * The upgrade from the single-database layout, end to end through the API: a
 * shop runs on one database (no order shard bound), is upgraded (its database
 * bound as ORDERS_0, new shards as ORDERS_1.., ORDER_SHARDS_MOVING_FROM=1),
 * and its customers carry on: orders placed before resolve by id (ids of the
 * old form `ord_<32 hex>` too), purchase limits count what was bought before
 * (and no longer count an order from before once it is cancelled), carts and
 * idempotency keys survive, and customers who never come back are moved by
 * the cron.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { orderShards, shardOfOrderId } from "../../src/orders/shards";
import { token } from "../helpers/auth";
import { admin } from "../helpers/http";
import { callWith, singleDatabaseEnv, subInShard, upgradedEnv } from "../helpers/layouts";
import { eventually } from "../helpers/time";
import { ADDRESS, makeShop, NY } from "../helpers/shop";

const single = singleDatabaseEnv();
const upgraded = upgradedEnv();
const N = orderShards(upgraded).length;

/** An order id of the single-database layout's form (ord_<32 hex>), given to an order placed on one database. */
async function asOldId(orderId: string): Promise<string> {
	const old = orderId.replace(/^ord_(0_)?/, "ord_");
	expect(old).toMatch(/^ord_[0-9a-f]{32}$/);
	// The history row refers to the order: the check waits for the end of the batch.
	await env.DB.batch([
		env.DB.prepare(`PRAGMA defer_foreign_keys = ON`),
		env.DB.prepare(`UPDATE orders SET order_id = ? WHERE order_id = ?`).bind(old, orderId),
		env.DB.prepare(`UPDATE order_status_history SET order_id = ? WHERE order_id = ?`).bind(old, orderId),
		env.DB.prepare(`UPDATE idempotency_keys SET order_id = ?1, response_body = REPLACE(response_body, ?2, ?1) WHERE order_id = ?2`).bind(old, orderId),
	]);
	return old;
}

async function cartOf(workerEnv: Env, auth: string) {
	const r = await callWith(workerEnv, "GET", "/cart", { auth });
	expect(r.status).toBe(200);
	return (r.body.items as Array<{ product_id: string; quantity: number }>).map((i) => [i.product_id, i.quantity]);
}

it("a shop upgraded from one database keeps its orders, limits, carts and keys", async () => {
	const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: { "0/M": 50, "1/M": 50 } }] });
	const [p, q] = shop.products as [string, string];
	expect((await callWith(single, "PUT", `/admin/products/${p}`, { auth: await admin(), body: { name: "Limited", price: 10, sizes: ["S", "M", "L"], max_per_customer: 3 } })).status).toBe(200);
	const add = (e: Env, auth: string, product_id: string, quantity: number) => callWith(e, "POST", "/cart/items", { auth, body: { product_id, size: "M", quantity } });

	// On one database: Ann (whom 4 shards place in shard 2) buys 2 of the limited product, with an
	// idempotency key, and leaves 1 more and another product in her cart; Bob (shard 0) buys 2.
	const ann = await token(subInShard("ann", 2, N));
	expect((await add(single, ann, p, 2)).status).toBe(200);
	expect((await callWith(single, "PUT", "/cart/address", { auth: ann, body: ADDRESS })).status).toBe(200);
	const placed = await callWith(single, "POST", "/cart/place-order", { auth: ann, body: {}, headers: { "Idempotency-Key": "ann-first" } });
	expect(placed.status, JSON.stringify(placed.body)).toBe(201);
	await eventually(async () => expect((await env.DB.prepare(`SELECT COUNT(*) AS n FROM outbox WHERE order_id = ?`).bind(placed.body.order_id).first<{ n: number }>())!.n).toBe(0));
	const annOld = await asOldId(placed.body.order_id);
	expect((await add(single, ann, p, 1)).status).toBe(200);
	expect((await add(single, ann, q, 2)).status).toBe(200);
	expect((await callWith(single, "PUT", "/cart/address", { auth: ann, body: ADDRESS })).status).toBe(200);

	const bob = await token(subInShard("bob", 0, N));
	expect((await add(single, bob, p, 2)).status).toBe(200);
	expect((await callWith(single, "PUT", "/cart/address", { auth: bob, body: ADDRESS })).status).toBe(200);
	const bobOrder = await callWith(single, "POST", "/cart/place-order", { auth: bob, body: {} });
	expect(bobOrder.status).toBe(201);
	expect((await add(single, bob, q, 1)).status).toBe(200);

	// Dan (shard 1) bought the limit.
	const dan = await token(subInShard("dan", 1, N));
	expect((await add(single, dan, p, 3)).status).toBe(200);
	expect((await callWith(single, "PUT", "/cart/address", { auth: dan, body: ADDRESS })).status).toBe(200);
	const danOrder = await callWith(single, "POST", "/cart/place-order", { auth: dan, body: {} });
	expect(danOrder.status).toBe(201);

	// Carol (shard 3) only filled a cart, and never comes back.
	const carolSub = subInShard("carol", 3, N);
	const carol = await token(carolSub);
	expect((await add(single, carol, q, 4)).status).toBe(200);

	// Upgraded. Orders from before resolve by id, the old form included.
	const mine = await callWith(upgraded, "GET", `/orders/${annOld}`, { auth: ann });
	expect(mine.status).toBe(200);
	expect(mine.body).toMatchObject({ order_id: annOld, products: [{ product_id: p, quantity: 2 }] });
	expect((await callWith(upgraded, "GET", `/orders/${bobOrder.body.order_id}`, { auth: bob })).status).toBe(200);

	// Ann's cart came with her (lines and address); the limit counts what she bought before (2 ordered + 1 in the cart).
	expect(await cartOf(upgraded, ann)).toEqual([
		[p, 1],
		[q, 2],
	]);
	const over = await add(upgraded, ann, p, 1);
	expect(over.status).toBe(409);
	expect(over.body.code).toBe("PURCHASE_LIMIT");

	// Her key came too: a retry of her first checkout replays it instead of ordering her cart again.
	const retry = await callWith(upgraded, "POST", "/cart/place-order", { auth: ann, body: {}, headers: { "Idempotency-Key": "ann-first" } });
	expect(retry.status).toBe(201);
	expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
	expect(retry.body.order_id).toBe(annOld);

	// Her next order lands in her shard, and the limit still holds across both.
	const next = await callWith(upgraded, "POST", "/cart/place-order", { auth: ann, body: {} });
	expect(next.status, JSON.stringify(next.body)).toBe(201);
	expect(shardOfOrderId(next.body.order_id)).toBe(2);
	const again = await add(upgraded, ann, p, 1);
	expect(again.status).toBe(409);
	expect(again.body.code).toBe("PURCHASE_LIMIT");
	expect(again.body.details).toEqual([expect.objectContaining({ product_id: p, limit: 3, already: 3 })]);

	// Her own list has both, newest first.
	const list = await callWith(upgraded, "GET", "/orders", { auth: ann });
	expect(list.status).toBe(200);
	expect(list.body.orders.map((o: { order_id: string }) => o.order_id)).toEqual([next.body.order_id, annOld]);

	// Bob stays in shard 0 with his cart.
	expect(await cartOf(upgraded, bob)).toEqual([[q, 1]]);

	// Dan's limit holds after the upgrade; cancelling his order from before gives its units back in his shard.
	expect((await add(upgraded, dan, p, 1)).body.code).toBe("PURCHASE_LIMIT");
	const cancelled = await callWith(upgraded, "POST", `/orders/${danOrder.body.order_id}/cancel`, { auth: dan, body: {} });
	expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
	expect((await add(upgraded, dan, p, 3)).status).toBe(200);
	expect((await add(upgraded, dan, p, 1)).body.code).toBe("PURCHASE_LIMIT");

	// The cron moves Carol, who never came back.
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), upgraded, ctx);
	await waitOnExecutionContext(ctx);
	const carolRows = await orderShards(upgraded)[3]!.prepare(`SELECT COUNT(*) AS n FROM carts WHERE user_id = ? AND status = 'active'`).bind(carolSub).first<{ n: number }>();
	expect(carolRows!.n).toBe(1);
	expect(await cartOf(upgraded, carol)).toEqual([[q, 4]]);
});
