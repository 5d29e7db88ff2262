/**
 * The reconciler's per-shard sweeps (commit outbox, payment window) run on
 * every order shard in parallel: a shard that fails is counted and the
 * others' work is done in the same run.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placeOrder } from "../../src/checkout/placeOrder";
import { warehousePort } from "../../src/checkout/ports";
import type { Env } from "../../src/env";
import { reconcile } from "../../src/ops/reconcile";
import { cancelUnpaid } from "../../src/ops/unpaid";
import { shardOfOrderId } from "../../src/orders/shards";
import { outboxOf } from "../helpers/commits";
import { checkoutDeps, checkoutInput, faultyWarehouses, orderRow, quickCustomer } from "../helpers/faults";
import { subOnShard } from "../helpers/shards";
import { makeShop } from "../helpers/shop";

/** This env with order shard `broken` failing every query. */
function withBrokenShard(broken: number): Env {
	const failing = new Proxy(env[`ORDERS_${broken}` as keyof typeof env] as D1Database, {
		get(target, prop) {
			if (prop === "prepare" || prop === "batch") {
				return () => {
					throw new Error(`D1_ERROR: shard ${broken} unreachable (injected)`);
				};
			}
			const v = Reflect.get(target, prop);
			return typeof v === "function" ? v.bind(target) : v;
		},
	});
	return { ...env, [`ORDERS_${broken}`]: failing } as Env;
}

/** A customer in shard `index` with one unit in the cart, whose order's commit is left in the outbox. */
async function orderWithCommitLeft(shard: number, product: string, warehouse: string): Promise<string> {
	const sub = await quickCustomer([{ product_id: product, size: "M", quantity: 1 }], undefined, subOnShard(shard));
	const result = await placeOrder(await checkoutInput(sub), checkoutDeps({ warehouses: faultyWarehouses(warehousePort(env), { failCommitAt: warehouse }) }));
	if (!result.ok) throw new Error(JSON.stringify(result));
	expect(shardOfOrderId(result.order.order_id)).toBe(shard);
	return result.order.order_id;
}

describe("sweeps over the order shards", () => {
	it("the commit outbox: a broken shard is counted, every other shard's commits are finished in the same run", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const ids = await Promise.all([0, 1, 2, 3].map((s) => orderWithCommitLeft(s, p, w)));
		for (const id of ids) expect((await outboxOf(id)).map((r) => r.action)).toEqual(["commit"]);

		const report = await reconcile(withBrokenShard(1), Date.now() + 60_000);
		expect(report.failures).toBeGreaterThanOrEqual(1);
		expect(report.commits).toBeGreaterThanOrEqual(3);
		for (const [shard, id] of ids.entries()) expect(await outboxOf(id), `shard ${shard}`).toEqual(shard === 1 ? [{ order_id: id, warehouse_id: w, action: "commit" }] : []);

		// The shard back, the next run finishes it.
		await reconcile(env, Date.now() + 60_000);
		expect(await outboxOf(ids[1]!)).toEqual([]);
	});

	it("the payment window: a broken shard is counted, every other shard's overdue orders are cancelled", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const ids = await Promise.all([0, 1, 2, 3].map((s) => orderWithCommitLeft(s, p, w)));
		await reconcile(env, Date.now() + 60_000); // commits confirmed: the orders are plain unpaid orders now

		const report = await cancelUnpaid(withBrokenShard(2), Date.now() + 60_000, 1_000);
		expect(report.failures).toBeGreaterThanOrEqual(1);
		expect(report.cancelled).toBeGreaterThanOrEqual(3);
		for (const [shard, id] of ids.entries()) expect((await orderRow(id))?.status, `shard ${shard}`).toBe(shard === 2 ? "pending" : "cancelled");
	});
});
