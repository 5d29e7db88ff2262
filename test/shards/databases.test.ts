import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../../src/env";
import { distinctDatabases } from "../../src/ops/databases";
import { orderShards } from "../../src/orders/shards";

/** Another binding object for the same database, as a second binding of one database_id is in production. */
function secondBinding(db: D1Database): D1Database {
	return new Proxy(db, {
		get(target, prop) {
			const v = Reflect.get(target, prop);
			return typeof v === "function" ? v.bind(target) : v;
		},
	});
}

it("goes over each database once: DB and every shard, distinct", async () => {
	const dbs = await distinctDatabases(env);
	expect(dbs).toEqual([env.DB, ...orderShards(env)]);
});

it("an upgraded shop's DB and ORDERS_0, two bindings of one database, are visited once", async () => {
	const shards = orderShards(env);
	const upgraded = { ...env, ORDERS_0: secondBinding(env.DB), ORDERS_1: shards[1], ORDERS_2: shards[2], ORDERS_3: shards[3] } as unknown as Env;
	const dbs = await distinctDatabases(upgraded);
	expect(dbs).toHaveLength(4);
	expect(dbs[0]).toBe(env.DB);
	expect(dbs.slice(1)).toEqual(shards.slice(1));
});
