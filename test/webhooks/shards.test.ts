/**
 * Events and webhook deliveries over the order shards (N = 4 in the tests):
 * an order's events are consumed, stored and attempted in its own shard; the
 * claim is fair across endpoints and keeps each order's sequence, per
 * database; the shop-wide writes of a batch do not grow with its events; the
 * endpoints are read through a copy at most seconds old.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type { Env } from "../../src/env";
import type { StockgateEvent } from "../../src/events/types";
import { prune } from "../../src/ops/prune";
import { newOrderId } from "../../src/orders/shards";
import { countedD1, d1Queries } from "../../src/shared/d1Count";
import { DUE_CAPS, deliverDue } from "../../src/webhooks/delivery";
import { activeEndpoints, ENDPOINT_CACHE_MS, forgetEndpoints } from "../../src/webhooks/endpoints";
import { admin, call, uid } from "../helpers/http";
import { deliverBatch, orderStatusEvents } from "../helpers/queue";
import { allShards, dbOfOrder } from "../helpers/shards";
import { messagesOf, register, scriptedReceiver, transferEvent } from "../helpers/webhooks";

const base = inject("webhookReceiver");
const iso = (ms: number) => new Date(ms).toISOString();

interface Received {
	body: string;
	verified: boolean;
}

/** An inbox at the Node-side receiver (test/webhooks/receiver.mts), registered for `events`. */
async function inbox(events: string[]) {
	const name = uid("in");
	const ep = await register(`${base}/hook/${name}`, events);
	const r = await fetch(`${base}/_inbox/${name}`, { method: "PUT", body: JSON.stringify({ secret: ep.secret, script: ["ok"] }) });
	expect(r.status).toBe(204);
	return {
		ep,
		received: async (): Promise<Received[]> => ((await (await fetch(`${base}/_inbox/${name}`)).json()) as { received: Received[] }).received,
	};
}

async function count(db: D1Database, sql: string, ...params: unknown[]): Promise<number> {
	return (await db.prepare(sql).bind(...params).first<{ c: number }>())!.c;
}

describe("an order's events live in its shard", () => {
	it("events of orders on every shard reach one endpoint, each order's in its sequence, though the queue hands them over shuffled", async () => {
		const { ep, received } = await inbox(["order.placed", "order.paid", "order.shipped"]);
		const orders = allShards().map((_, shard) => orderStatusEvents(["paid", "processing", "shipped"], { shard: shard, email: null }));
		// Later events first, and every order's events split over two batches: the consumer parks what comes early.
		await deliverBatch(orders.flatMap((o) => [o[3]!, o[1]!]));
		await deliverBatch(orders.flatMap((o) => [o[2]!, o[0]!]));

		const got = (await received()).map((r) => {
			expect(r.verified).toBe(true);
			return JSON.parse(r.body) as { type: string; data: { order_id: string; sequence: number } };
		});
		for (const events of orders) {
			const orderId = events[0]!.order_id;
			// processing is not a webhook event: sequence 3 is skipped.
			expect(got.filter((g) => g.data.order_id === orderId).map((g) => [g.type, g.data.sequence])).toEqual([
				["order.placed", 1],
				["order.paid", 2],
				["order.shipped", 4],
			]);
			// Its records are in its shard, none in DB.
			const db = dbOfOrder(orderId);
			expect(await count(db, `SELECT delivered_seq AS c FROM order_event_cursor WHERE order_id = ?`, orderId)).toBe(4);
			expect(await count(db, `SELECT COUNT(*) AS c FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))`, JSON.stringify(events.map((e) => e.event_id)))).toBe(4);
			expect(await count(db, `SELECT COUNT(*) AS c FROM webhook_messages WHERE order_id = ? AND state = 'delivered'`, orderId)).toBe(3);
			expect(await count(db, `SELECT COUNT(*) AS c FROM webhook_deliveries WHERE webhook_id = ?`, ep.webhook_id)).toBeGreaterThanOrEqual(3);
			expect(await count(env.DB, `SELECT COUNT(*) AS c FROM webhook_messages WHERE order_id = ?`, orderId)).toBe(0);
			expect(await count(env.DB, `SELECT COUNT(*) AS c FROM order_event_cursor WHERE order_id = ?`, orderId)).toBe(0);
		}
	});
});

describe("the reconciler's claim, per database", () => {
	const receiver = scriptedReceiver();
	const send = receiver.send;

	/** Pending order-event messages written straight into the order's shard: one per [sequence, due time]. */
	async function orderLane(webhookId: string, orderId: string, lane: Array<[number, number]>, attempts = 1) {
		const db = dbOfOrder(orderId);
		for (const [sequence, dueAt] of lane) {
			const eventId = `evt_${orderId}_${sequence}`;
			const payload = JSON.stringify({ id: eventId, type: "order.paid", occurred_at: iso(dueAt), data: { order_id: orderId, sequence } });
			await db
				.prepare(
					`INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at, order_id, sequence)
					 VALUES (?, ?, ?, 'order.paid', ?, 'pending', ?, ?, ?, ?, ?)`,
				)
				.bind(`msg_${webhookId}_${orderId}_${sequence}`, webhookId, eventId, payload, attempts, iso(dueAt - 60_000), iso(dueAt), orderId, sequence)
				.run();
		}
	}

	/** `count` due transfer-style messages of another endpoint, older than anything else, in the same shard (one statement). */
	async function backlog(db: D1Database, webhookId: string, count: number, dueAt: number) {
		await db
			.prepare(
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				 INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at)
				 SELECT 'msg_' || ? || '_' || i, ?, 'evt_' || ? || '_' || i, 'order.paid', '{"id":"evt","type":"order.paid","occurred_at":"","data":{}}', 'pending', 1, ?, ? FROM n`,
			)
			.bind(count, webhookId, webhookId, webhookId, iso(dueAt - 60_000), iso(dueAt))
			.run();
	}

	async function endpoint(script: Parameters<typeof receiver.listen>[2]) {
		const url = `https://hooks.shop.example/${uid("in")}`;
		const ep = await register(url, ["order.paid"]);
		receiver.listen(url, ep.secret, script);
		return ep;
	}

	const sequencesAt = (url: string) => receiver.seen(url).map((s) => (JSON.parse(s.body) as { data: { order_id: string; sequence: number } }).data);

	it("takes every endpoint's turn before a backlog's next, and never an order's later event while an earlier one is pending there", async () => {
		const now = Date.now() + 3600_000;
		const flooded = await endpoint(["ok"]);
		const shop = await endpoint(["ok"]);
		const shard = 2;
		const waiting = newOrderId(shard);
		const ready = newOrderId(shard);
		// The other endpoint's 500 messages are older, so due first by time alone.
		await backlog(allShards()[shard]!, flooded.webhook_id, 500, now - 30 * 60_000);
		// One order's first event waits for its retry in 10 minutes; its 2 and 3 are due now but must wait behind it.
		await orderLane(shop.webhook_id, waiting, [
			[1, now + 10 * 60_000],
			[2, now - 1000],
			[3, now - 1000],
		]);
		// Another order's events are due now, in sequence.
		await orderLane(shop.webhook_id, ready, [
			[1, now - 2000],
			[2, now - 1000],
		]);

		await deliverDue(env, now, { send });
		// Fair: the flooded endpoint took its share, the shop's due order went in the same run, in sequence.
		expect(receiver.seen(flooded.url)).toHaveLength(DUE_CAPS.perEndpoint);
		expect(sequencesAt(shop.url)).toEqual([
			{ order_id: ready, sequence: 1 },
			{ order_id: ready, sequence: 2 },
		]);
		// In order: nothing of the waiting order went, though 2 and 3 were due.
		const states = async (orderId: string) =>
			(await messagesOf(shop.webhook_id))
				.filter((m) => m.order_id === orderId)
				.sort((a, b) => a.sequence! - b.sequence!)
				.map((m) => [m.sequence, m.state]);
		expect(await states(waiting)).toEqual([
			[1, "pending"],
			[2, "pending"],
			[3, "pending"],
		]);

		// At its retry time the first goes, and the two behind it right after, in sequence.
		await deliverDue(env, now + 10 * 60_000, { send });
		expect(sequencesAt(shop.url).filter((d) => d.order_id === waiting).map((d) => d.sequence)).toEqual([1, 2, 3]);
		expect(await states(waiting)).toEqual([
			[1, "delivered"],
			[2, "delivered"],
			[3, "delivered"],
		]);
		expect(receiver.seen(flooded.url)).toHaveLength(2 * DUE_CAPS.perEndpoint);
	});
});

describe("an endpoint disabled for failing", () => {
	const receiver = scriptedReceiver();

	it("has its pending messages given up in every shard", async () => {
		const now = Date.now() + 5 * 86_400_000;
		const url = `https://hooks.shop.example/${uid("in")}`;
		const ep = await register(url, ["order.paid"]);
		receiver.listen(url, ep.secret, ["fail"]);
		await env.DB.prepare(`UPDATE webhook_endpoints SET failing_since = ? WHERE webhook_id = ?`).bind(iso(now - 25 * 3600_000), ep.webhook_id).run();
		forgetEndpoints();
		// Due now in shards 1 and 2; in shard 3, waiting for a retry hours away.
		const orders: Array<[string, number]> = [
			[newOrderId(1), now - 1000],
			[newOrderId(2), now - 1000],
			[newOrderId(3), now + 3 * 3600_000],
		];
		for (const [orderId, dueAt] of orders) {
			await dbOfOrder(orderId)
				.prepare(
					`INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at, order_id, sequence)
					 VALUES (?, ?, ?, 'order.paid', '{"id":"e","type":"order.paid","occurred_at":"","data":{}}', 'pending', 3, ?, ?, ?, 2)`,
				)
				.bind(`msg_${orderId}`, ep.webhook_id, `evt_${orderId}`, iso(now - 3600_000), iso(dueAt), orderId)
				.run();
		}
		await deliverDue(env, now, { send: receiver.send });
		// One probe per database failed past 24 hours of failures: the endpoint is off and nothing of it waits anywhere.
		expect(receiver.seen(url).length).toBeGreaterThanOrEqual(1);
		expect((await messagesOf(ep.webhook_id)).map((m) => m.state)).toEqual(["failed", "failed", "failed"]);
		expect((await activeEndpoints(env)).map((e) => e.webhook_id)).not.toContain(ep.webhook_id);
	});
});

describe("shop-wide writes per event", () => {
	it("250 shop-wide events cost DB a fixed number of statements per queue batch (100 events), not one per event; 250 order events cost DB nothing but the endpoints' read", async () => {
		const { ep, received } = await inbox(["transfer.updated", "order.placed"]);
		const counted = { ...env, DB: countedD1(env.DB) } as Env;
		const statementsOf = async (batches: StockgateEvent[][]) => {
			const per: number[] = [];
			for (const b of batches) {
				const before = d1Queries();
				await deliverBatch(b, counted);
				per.push(d1Queries() - before);
			}
			return per;
		};
		const shopWide = Array.from({ length: 250 }, () => transferEvent());
		forgetEndpoints();
		const perBatch = await statementsOf([shopWide.slice(0, 100), shopWide.slice(100, 200), shopWide.slice(200)]);
		expect((await received()).length).toBe(250);
		// Per batch: processed read, endpoints read (once per copy), messages insert, processed insert, attempts and message states (one batch).
		expect(perBatch[0]).toBeLessThanOrEqual(6);
		expect(perBatch.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(16);
		expect(perBatch[1]).toBe(perBatch[2]);
		expect(await count(env.DB, `SELECT COUNT(*) AS c FROM webhook_deliveries WHERE webhook_id = ?`, ep.webhook_id)).toBe(250);

		// Order events, 250 placed events of orders on every shard: DB is not written; the endpoints' copy is read at most once a batch.
		const placed = Array.from({ length: 250 }, (_, i) => orderStatusEvents([], { shard: i % allShards().length, email: null })[0]!);
		forgetEndpoints();
		const onOrders = await statementsOf([placed.slice(0, 100), placed.slice(100, 200), placed.slice(200)]);
		expect(onOrders.every((n) => n <= 1)).toBe(true);
		expect(await count(env.DB, `SELECT COUNT(*) AS c FROM webhook_messages WHERE webhook_id = ? AND event_type = 'order.placed'`, ep.webhook_id)).toBe(0);
		expect((await received()).length).toBe(500);
	});
});

describe("D1 calls per queue batch", () => {
	/** `db` with its calls counted: a batch, or one statement run alone, is one call. */
	function callCounted(db: D1Database) {
		let calls = 0;
		const stmt = (s: D1PreparedStatement): D1PreparedStatement =>
			new Proxy(s, {
				get(target, prop) {
					const value = Reflect.get(target, prop);
					if (typeof value !== "function") return value;
					if (prop === "bind") return (...args: unknown[]) => stmt(target.bind(...args));
					if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") calls++;
					return value.bind(target);
				},
			});
		const raw = new WeakMap<object, D1PreparedStatement>();
		const handle = new Proxy(db, {
			get(target, prop) {
				const value = Reflect.get(target, prop);
				if (typeof value !== "function") return value;
				if (prop === "prepare")
					return (sql: string) => {
						const real = target.prepare(sql);
						const wrapped = stmt(real);
						raw.set(wrapped, real);
						return wrapped;
					};
				if (prop === "batch") {
					return (stmts: D1PreparedStatement[]) => {
						calls++;
						return target.batch(stmts.map((s) => raw.get(s) ?? s));
					};
				}
				return value.bind(target);
			},
		});
		return { handle, calls: () => calls };
	}

	it("a batch of order events costs their shard two calls when none is parked and no endpoint listens: one read before delivering, one write after", async () => {
		await env.DB.prepare(`UPDATE webhook_endpoints SET active = 0`).run();
		forgetEndpoints();
		const shard = allShards()[0]!;
		const counted = callCounted(shard);
		const shardName = Object.keys(env).find((k) => (env as unknown as Record<string, unknown>)[k] === shard)!;
		const e = { ...env, [shardName]: counted.handle } as Env;
		// Placed, then paid, for 30 orders on that shard, in sequence within the batch.
		const events = Array.from({ length: 30 }, () => orderStatusEvents(["paid"], { shard: 0, email: null })).flat();
		await deliverBatch(events, e);
		expect(counted.calls()).toBe(2);
		const cursors = await count(shard, `SELECT COUNT(*) AS c FROM order_event_cursor WHERE order_id IN (SELECT value FROM json_each(?)) AND delivered_seq = 2`, JSON.stringify([...new Set(events.map((x) => x.order_id))]));
		expect(cursors).toBe(30);
		expect(await count(shard, `SELECT COUNT(*) AS c FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))`, JSON.stringify(events.map((x) => x.event_id)))).toBe(60);

		// The same events again are duplicates: one read, nothing written.
		const again = callCounted(shard);
		await deliverBatch(events, { ...env, [shardName]: again.handle } as Env);
		expect(again.calls()).toBe(1);
	});
});

describe("the endpoints' copy", () => {
	it("an endpoint change made elsewhere applies within ENDPOINT_CACHE_MS; one made through this isolate's admin API at once", async () => {
		const t0 = Date.now();
		forgetEndpoints();
		const before = (await activeEndpoints(env, t0)).map((e) => e.webhook_id);
		// Another isolate registers an endpoint: this copy does not know it yet...
		const id = uid("wh");
		await env.DB.prepare(`INSERT INTO webhook_endpoints (webhook_id, url, events, description, secret, active, created_at) VALUES (?, 'https://erp.shop.example/x', '["stock.low"]', NULL, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1, ?)`)
			.bind(id, iso(t0))
			.run();
		expect((await activeEndpoints(env, t0 + ENDPOINT_CACHE_MS - 1)).map((e) => e.webhook_id)).toEqual(before);
		// ...and does within ENDPOINT_CACHE_MS.
		expect((await activeEndpoints(env, t0 + ENDPOINT_CACHE_MS)).map((e) => e.webhook_id)).toContain(id);
		// Deactivated elsewhere: gone from the copy once it is renewed.
		await env.DB.prepare(`UPDATE webhook_endpoints SET active = 0 WHERE webhook_id = ?`).bind(id).run();
		expect((await activeEndpoints(env, t0 + ENDPOINT_CACHE_MS + 1)).map((e) => e.webhook_id)).toContain(id);
		expect((await activeEndpoints(env, t0 + 2 * ENDPOINT_CACHE_MS)).map((e) => e.webhook_id)).not.toContain(id);
		// Registered through this isolate's API: in the copy at once.
		const ep = await register(`https://erp.shop.example/${uid("h")}`, ["stock.low"]);
		expect((await activeEndpoints(env, t0 + 2 * ENDPOINT_CACHE_MS + 1)).map((e) => e.webhook_id)).toContain(ep.webhook_id);
	});
});

describe("an endpoint's deliveries, listed over every database", () => {
	it("come newest first in exact pages behind the cursor: each attempt once, while attempts are recorded in between", async () => {
		const ep = await register(`https://erp.shop.example/${uid("h")}`, ["order.paid", "transfer.updated"]);
		const dbs = [env.DB, ...allShards()];
		const t0 = Date.UTC(2035, 0, 1);
		/** One attempt row at `db`, `at` ms after t0. */
		const attempt = async (db: D1Database, at: number, tag: string) => {
			await db
				.prepare(
					`INSERT INTO webhook_deliveries (webhook_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at)
					 VALUES (?, ?, ?, 'order.paid', 1, 200, NULL, ?, NULL)`,
				)
				.bind(ep.webhook_id, `msg_${tag}`, `evt_${tag}`, iso(t0 + at))
				.run();
			return `evt_${tag}`;
		};
		// 23 attempts spread over the databases, each database's in time order (as recorded), interleaved across them.
		const existing: Array<{ id: string; at: number }> = [];
		for (let i = 0; i < 23; i++) {
			const at = i * 1000;
			existing.push({ id: await attempt(dbs[(i * 3) % dbs.length]!, at, `pg${i}`), at });
		}
		const newestFirst = existing.sort((a, b) => b.at - a.at).map((e) => e.id);

		const seen: string[] = [];
		let cursor: string | null = null;
		for (let page = 0; page < 10; page++) {
			const r = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?limit=5${cursor ? `&cursor=${cursor}` : ""}`, { auth: await admin() });
			expect(r.status, JSON.stringify(r.body)).toBe(200);
			seen.push(...r.body.deliveries.map((d: { event_id: string }) => d.event_id));
			cursor = r.body.next_cursor;
			if (page === 1) {
				// Recorded while the listing is paged: a new attempt in every database, newer than anything listed.
				for (const [i, db] of dbs.entries()) await attempt(db, 100_000 + i, `late${i}`);
			}
			if (!cursor) break;
		}
		expect(seen).toEqual(newestFirst);
		// A fresh listing starts with the attempts recorded since.
		const fresh = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?limit=5`, { auth: await admin() });
		expect(fresh.body.deliveries.map((d: { event_id: string }) => d.event_id)).toEqual(["evt_late4", "evt_late3", "evt_late2", "evt_late1", "evt_late0"]);
	});

	it("a cursor for another number of databases is a 400", async () => {
		const ep = await register(`https://erp.shop.example/${uid("h")}`, ["order.paid"]);
		const r = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?cursor=${btoa("d5.4").replaceAll("=", "")}`, { auth: await admin() });
		expect(r.status).toBe(400);
		expect(r.body.code).toBe("VALIDATION_ERROR");
	});
});

describe("an endpoint deleted", () => {
	it("takes its messages and attempts in every database with it; ones stored after by an isolate's older copy are pruned once old", async () => {
		const ep = await register(`https://erp.shop.example/${uid("h")}`, ["order.paid", "transfer.updated"]);
		const dbs = [env.DB, ...allShards()];
		const put = async (db: D1Database, tag: string, createdAt: number) => {
			await db.batch([
				db
					.prepare(
						`INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at)
						 VALUES (?, ?, ?, 'order.paid', '{}', 'pending', 1, ?, ?)`,
					)
					.bind(`msg_${tag}`, ep.webhook_id, `evt_${tag}`, iso(createdAt), iso(createdAt + 60_000)),
				db
					.prepare(`INSERT INTO webhook_deliveries (webhook_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at) VALUES (?, ?, ?, 'order.paid', 1, 503, 'http_503', ?, ?)`)
					.bind(ep.webhook_id, `msg_${tag}`, `evt_${tag}`, iso(createdAt), iso(createdAt + 60_000)),
			]);
		};
		const t0 = Date.now();
		for (const [i, db] of dbs.entries()) await put(db, `${ep.webhook_id}_${i}`, t0);
		expect(await messagesOf(ep.webhook_id)).toHaveLength(dbs.length);

		const r = await call("DELETE", `/admin/webhooks/${ep.webhook_id}`, { auth: await admin() });
		expect(r.status).toBe(204);
		expect(await messagesOf(ep.webhook_id)).toEqual([]);
		for (const db of dbs) expect(await count(db, `SELECT COUNT(*) AS c FROM webhook_deliveries WHERE webhook_id = ?`, ep.webhook_id)).toBe(0);

		// Another isolate's copy still had it and stored a message in a shard: no claim takes it (the endpoint is not active), the prune removes it once old.
		await put(allShards()[3]!, `${ep.webhook_id}_late`, t0 + 1000);
		await prune(env, t0 + 2000);
		expect(await messagesOf(ep.webhook_id)).toHaveLength(1);
		await prune(env, t0 + 8 * 86_400_000);
		expect(await messagesOf(ep.webhook_id)).toEqual([]);
	});
});
