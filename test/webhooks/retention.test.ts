/**
 * Tables that stop growing: finished webhook messages and their attempts are
 * deleted WEBHOOK_RETENTION_DAYS after they were created, and the queue
 * consumer's processed_events once no copy of an event can still arrive.
 * Rows are written straight into an order shard in bulk (order events' records
 * live there); the prune runs with an injected `now`, a bounded amount per
 * run and per database.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PROCESSED_EVENTS_KEEP_MS } from "../../src/events/processed";
import { PRUNE_LIMITS, prune, retentionCutoffs } from "../../src/ops/prune";
import { reconcile } from "../../src/ops/reconcile";
import { TOLERANCE_S } from "../../src/payments/signature";
import { uid } from "../helpers/http";
import { allShards } from "../helpers/shards";
import { eventDatabases, messagesOf, register } from "../helpers/webhooks";

const DAY = 86_400_000;
/** Order events' records live in their order's shard: the traffic is written to one. */
const orderShard = allShards()[1]!;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `count` events spread evenly over [from, to): each a processed_events row,
 * and for `webhookId` a message in `state` with two attempts (one statement each).
 */
async function traffic(webhookId: string, tag: string, count: number, from: number, to: number, state: "delivered" | "failed" | "pending" = "delivered") {
	const step = (to - from) / count;
	const n = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)`;
	const at = `strftime('%Y-%m-%dT%H:%M:%fZ', (? + i * ?) / 1000.0, 'unixepoch')`;
	const db = orderShard;
	await db.batch([
		db.prepare(`${n} INSERT INTO processed_events (event_id, type, processed_at) SELECT 'evt_' || ? || '_' || i, 'order.status_changed', ${at} FROM n`).bind(count, tag, from, step),
		db.prepare(
			`${n} INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at)
			 SELECT 'msg_' || ? || '_' || i, ?, 'evt_' || ? || '_' || i, 'order.placed', '{}', ?, 2, ${at}, CASE WHEN ? = 'pending' THEN ${at} END FROM n`,
		).bind(count, tag, webhookId, tag, state, from, step, state, from, step),
		db.prepare(
			`${n}, a(k) AS (SELECT 1 UNION ALL SELECT 2)
			 INSERT INTO webhook_deliveries (webhook_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at)
			 SELECT ?, 'msg_' || ? || '_' || i, 'evt_' || ? || '_' || i, 'order.placed', k, CASE k WHEN 1 THEN 503 ELSE 200 END, CASE k WHEN 1 THEN 'http_503' END, ${at}, NULL FROM n, a`,
		).bind(count, webhookId, tag, tag, from, step),
	]);
}

async function counts(tag: string) {
	const one = async (sql: string) => {
		const each = await Promise.all(eventDatabases().map(async (db) => (await db.prepare(sql).bind(`%\\_${tag}%`).first<{ c: number }>())!.c));
		return each.reduce((a, b) => a + b, 0);
	};
	return {
		processed: await one(`SELECT COUNT(*) AS c FROM processed_events WHERE event_id LIKE ? ESCAPE '\\'`),
		messages: await one(`SELECT COUNT(*) AS c FROM webhook_messages WHERE message_id LIKE ? ESCAPE '\\'`),
		deliveries: await one(`SELECT COUNT(*) AS c FROM webhook_deliveries WHERE message_id LIKE ? ESCAPE '\\'`),
	};
}

/** Prunes at `now` until a run finds nothing more; every run stays within its bounds. */
async function pruneAll(now: number) {
	for (let run = 0; run < 100; run++) {
		const r = await prune(env, now);
		// The limits hold per database.
		expect(r.webhook_messages).toBeLessThanOrEqual(PRUNE_LIMITS.webhookMessages * eventDatabases().length);
		expect(r.processed_events).toBeLessThanOrEqual(PRUNE_LIMITS.processedEvents * eventDatabases().length);
		if (r.webhook_messages === 0 && r.processed_events === 0) return run;
	}
	throw new Error("pruning did not finish in 100 runs");
}

describe("retention cut-offs", () => {
	it("keep finished webhook messages WEBHOOK_RETENTION_DAYS (default 7), and processed events a day: past the 300 s signature tolerance with a wide margin", () => {
		const now = Date.UTC(2030, 0, 10, 12);
		expect(retentionCutoffs(now, 7 * DAY)).toEqual({ webhookMessagesBefore: iso(now - 7 * DAY), processedEventsBefore: iso(now - DAY), orderCursorsBefore: iso(now - DAY) });
		expect(retentionCutoffs(now, 1 * DAY).webhookMessagesBefore).toBe(iso(now - DAY));
		expect(PROCESSED_EVENTS_KEEP_MS).toBe(DAY);
		expect(PROCESSED_EVENTS_KEEP_MS).toBeGreaterThan(TOLERANCE_S * 1000 * 100);
	});
});

describe("10,000 events over 20 days", () => {
	it("leave row counts bounded by the retention window, pruned a bounded amount per run, with pending messages and recent rows kept", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["order.placed"]);
		const tag = uid("ret").replaceAll("-", "");
		const start = Date.UTC(2030, 1, 1);
		const perDay = 500;
		let peak = { processed: 0, messages: 0, deliveries: 0 };
		for (let day = 0; day < 20; day++) {
			await traffic(ep.webhook_id, `${tag}d${day}`, perDay, start + day * DAY, start + (day + 1) * DAY);
			// The reconciler runs all day; pruning at the day's end catches up.
			await pruneAll(start + (day + 1) * DAY);
			const c = await counts(tag);
			peak = { processed: Math.max(peak.processed, c.processed), messages: Math.max(peak.messages, c.messages), deliveries: Math.max(peak.deliveries, c.deliveries) };
		}
		// 10,000 events went through; at most a retention window of them (7 days) is kept, and a day of processed events.
		expect(peak.messages).toBeLessThanOrEqual(7 * perDay);
		expect(peak.deliveries).toBeLessThanOrEqual(7 * perDay * 2);
		expect(peak.processed).toBeLessThanOrEqual(perDay);
		const end = start + 20 * DAY;
		expect(await counts(tag)).toEqual({ processed: perDay, messages: 7 * perDay, deliveries: 7 * perDay * 2 });
		// What is left is the newest.
		const oldest = (await messagesOf(ep.webhook_id))[0]!;
		const created = await orderShard.prepare(`SELECT created_at FROM webhook_messages WHERE message_id = ?`).bind(oldest.message_id).first<{ created_at: string }>();
		expect(Date.parse(created!.created_at)).toBeGreaterThanOrEqual(end - 7 * DAY);
	});

	it("given-up messages go too; pending ones stay, however old, until they finish", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["order.placed"]);
		const tag = uid("ret").replaceAll("-", "");
		const start = Date.UTC(2031, 0, 1);
		await traffic(ep.webhook_id, `${tag}f`, 300, start, start + DAY, "failed");
		await traffic(ep.webhook_id, `${tag}p`, 200, start, start + DAY, "pending");
		await pruneAll(start + 30 * DAY);
		expect(await counts(`${tag}f`)).toEqual({ processed: 0, messages: 0, deliveries: 0 });
		expect(await counts(`${tag}p`)).toEqual({ processed: 0, messages: 200, deliveries: 400 });
		// Nothing listens at this endpoint: gone, so later reconciler runs do not try its pending messages.
		await env.DB.prepare(`UPDATE webhook_endpoints SET active = 0 WHERE webhook_id = ?`).bind(ep.webhook_id).run();
	});

	it("WEBHOOK_RETENTION_DAYS sets the window", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["order.placed"]);
		const tag = uid("ret").replaceAll("-", "");
		const start = Date.UTC(2032, 0, 1);
		await traffic(ep.webhook_id, tag, 100, start, start + 10 * DAY);
		await prune({ ...env, WEBHOOK_RETENTION_DAYS: "2" }, start + 10 * DAY);
		expect((await counts(tag)).messages).toBe(20);
	});
});

describe("the cron reconciler", () => {
	it("prunes on every run, within its bounds", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["order.placed"]);
		const tag = uid("ret").replaceAll("-", "");
		const start = Date.UTC(2033, 0, 1);
		await traffic(ep.webhook_id, tag, PRUNE_LIMITS.webhookMessages + 10, start, start + DAY);
		const now = start + 30 * DAY;
		// Earlier tests' rows are just as old: the first runs are full, until everything old is gone.
		const first = await reconcile(env, now);
		expect(first.pruned_webhook_messages).toBe(PRUNE_LIMITS.webhookMessages);
		let runs = 1;
		while ((await reconcile(env, now + runs * 60_000)).pruned_webhook_messages > 0) expect(++runs).toBeLessThan(20);
		expect(await counts(tag)).toEqual({ processed: 0, messages: 0, deliveries: 0 });
	});
});

describe("order event cursors", () => {
	/** An order row in `db` with its status, event count and last change. */
	async function order(db: D1Database, orderId: string, status: string, eventSeq: number, updatedAt: number) {
		await db
			.prepare(
				`INSERT INTO orders (order_id, user_id, products, address, delivery_mode, delivery_tier, subtotal, delivery_cost, tax, total, status, payment_status, created_at, updated_at, event_seq)
				 VALUES (?, 'user-cur', '[]', '{}', 'delivery', 'standard', 0, 0, 0, 0, ?, 'paid', ?, ?, ?)`,
			)
			.bind(orderId, status, iso(updatedAt - DAY), iso(updatedAt), eventSeq)
			.run();
	}

	async function cursor(db: D1Database, orderId: string, deliveredSeq: number) {
		await db.prepare(`INSERT INTO order_event_cursor (order_id, delivered_seq) VALUES (?, ?)`).bind(orderId, deliveredSeq).run();
	}

	it("of finished orders whose every event was delivered go a day after their last change, from each order's shard; live, recent or undelivered ones stay", async () => {
		const now = Date.UTC(2034, 0, 10);
		const shards = allShards();
		const cases = shards.flatMap((db, shard) => {
			const id = (name: string) => `ord_${shard}_${name}${"0".repeat(32 - name.length)}`;
			return [
				{ db, id: id("a1"), status: "delivered", seq: 5, delivered: 5, at: now - 2 * DAY, gone: true },
				{ db, id: id("b2"), status: "cancelled", seq: 2, delivered: 2, at: now - 2 * DAY, gone: true },
				{ db, id: id("c3"), status: "cancelled", seq: 3, delivered: 2, at: now - 2 * DAY, gone: false },
				{ db, id: id("d4"), status: "delivered", seq: 5, delivered: 5, at: now - DAY / 2, gone: false },
				{ db, id: id("e5"), status: "shipped", seq: 4, delivered: 4, at: now - 9 * DAY, gone: false },
			];
		});
		for (const c of cases) {
			await order(c.db, c.id, c.status, c.seq, c.at);
			await cursor(c.db, c.id, c.delivered);
		}
		// An early copy of a finished order's event, parked: it goes with the cursor.
		await shards[1]!.prepare(`INSERT INTO order_event_parked (order_id, sequence, payload, parked_at) VALUES (?, 9, '{}', ?)`).bind(cases.find((c) => c.db === shards[1] && c.status === "delivered")!.id, iso(now - 2 * DAY)).run();

		const report = await prune(env, now);
		expect(report.order_event_cursors).toBe(2 * shards.length);
		for (const c of cases) {
			const left = await c.db.prepare(`SELECT COUNT(*) AS c FROM order_event_cursor WHERE order_id = ?`).bind(c.id).first<{ c: number }>();
			expect(left!.c, `${c.id} ${c.status}`).toBe(c.gone ? 0 : 1);
		}
		expect((await shards[1]!.prepare(`SELECT COUNT(*) AS c FROM order_event_parked WHERE sequence = 9`).first<{ c: number }>())!.c).toBe(0);
		// Nothing more is due: the next run deletes none.
		expect((await prune(env, now + 60_000)).order_event_cursors).toBe(0);
	});
});
