import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../../src/env";
import { distinctDatabases } from "../../src/ops/databases";
import { flushOutbox } from "../../src/events/outbox";
import { newOrderId, orderShards } from "../../src/orders/shards";
import { recordEvents } from "../helpers/orders";
import { orderStatusEvents } from "../helpers/queue";

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

/** A shard binding that can be taken down: while down, every statement it is asked for throws, as an unreachable database does. */
function breakable(db: D1Database) {
	const state = { down: true, identityReads: 0 };
	const handle = new Proxy(db, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			if (prop === "prepare")
				return (sql: string) => {
					if (state.down) throw new Error("D1_ERROR: database unreachable");
					if (sql.includes("database_identity")) state.identityReads++;
					return target.prepare(sql);
				};
			if (prop === "batch") return (stmts: D1PreparedStatement[]) => (state.down ? Promise.reject(new Error("D1_ERROR: database unreachable")) : target.batch(stmts));
			return value.bind(target);
		},
	});
	return { handle, state };
}

it("one unreachable shard does not stop the others: it is listed on its own, the outbox of the rest is flushed, and the list is read again once it is back", async () => {
	const shards = orderShards(env);
	const broken = breakable(shards[1]!);
	const e = { ...env, ORDERS_1: broken.handle } as unknown as Env;

	const dbs = await distinctDatabases(e);
	expect(dbs).toEqual([env.DB, shards[0], broken.handle, shards[2], shards[3]]);

	// A leftover event in a healthy shard's outbox still goes out.
	const sent = recordEvents();
	const orderId = newOrderId(3);
	const [placed] = orderStatusEvents([], { shard: 3 });
	const event = { ...placed!, order_id: orderId, event_id: `evt_placed_${orderId}` };
	const at = new Date(Date.now() - 60_000).toISOString();
	await shards[3]!.prepare(`INSERT INTO event_outbox (event_id, payload, created_at) VALUES (?, ?, ?)`).bind(event.event_id, JSON.stringify(event), at).run();
	await flushOutbox(e, new Date().toISOString());
	expect(sent.all().map((x) => x.event_id)).toContain(event.event_id);
	expect((await shards[3]!.prepare(`SELECT COUNT(*) AS c FROM event_outbox WHERE event_id = ?`).bind(event.event_id).first<{ c: number }>())!.c).toBe(0);

	// The list was not kept while a read failed: once the shard answers, it is read again, then kept.
	broken.state.down = false;
	expect(await distinctDatabases(e)).toEqual([env.DB, shards[0], broken.handle, shards[2], shards[3]]);
	expect(broken.state.identityReads).toBe(1);
	await distinctDatabases(e);
	expect(broken.state.identityReads).toBe(1);
});
