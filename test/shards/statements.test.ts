/**
 * D1 statements per database per order, counted in the Workers runtime: the
 * same orders (a cart line, an address, a checkout, each by its own customer)
 * on one database (no order shard bound) and over four shards. Counted: the
 * requests and the work they leave running (the gathered commit after the
 * answer); not counted: the queue consumer and the cron. Customers are spread
 * evenly over the shards, as hashing spreads a shop's many customers.
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../../src/env";
import { orderShards } from "../../src/orders/shards";
import { token } from "../helpers/auth";
import { callWith, countingStatements, singleDatabaseEnv, subInShard, type StatementCounts } from "../helpers/layouts";
import { ADDRESS, makeShop, NY } from "../helpers/shop";

const ORDERS = 24;

async function placeAll(workerEnv: Env, n: number, product: string, prefix: string): Promise<StatementCounts> {
	const counted = countingStatements(workerEnv);
	for (let i = 0; i < ORDERS; i++) {
		const auth = await token(subInShard(`${prefix}${i}`, i % n, n));
		expect((await callWith(counted.env, "POST", "/cart/items", { auth, body: { product_id: product, size: "M", quantity: 1 } })).status).toBe(200);
		expect((await callWith(counted.env, "PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
		const r = await callWith(counted.env, "POST", "/cart/place-order", { auth, body: {} });
		expect(r.status, JSON.stringify(r.body)).toBe(201);
	}
	return counted.counts;
}

const perOrder = (counts: StatementCounts) => Object.fromEntries([...counts].sort().map(([k, v]) => [k, Math.round((v / ORDERS) * 100) / 100]));

it("over four shards, the busiest database runs at most 0.35 of the statements per order one database runs", async () => {
	const shop = await makeShop({ products: 1, warehouses: [{ ...NY, stock: { "0/M": 500 } }] });
	const product = shop.products[0]!;
	// Four shards first: the catalog's caches are warm for one database, which only lowers its figure.
	const n = orderShards(env).length;
	expect(n).toBe(4);
	const four = await placeAll(env, n, product, "four");
	const one = await placeAll(singleDatabaseEnv(), 1, product, "one");

	const single = one.get("DB") ?? 0;
	const busiest = Math.max(...four.values());
	const share = busiest / single;
	console.log(`[statements] per order, N = 1: ${JSON.stringify(perOrder(one))}; N = 4: ${JSON.stringify(perOrder(four))}; busiest share ${share.toFixed(3)}`);
	expect([...one.keys()]).toEqual(["DB"]);
	expect(single / ORDERS).toBeGreaterThan(3);
	expect(share).toBeLessThanOrEqual(0.35);
});
