/**
 * The receivers' side of an order's sequence, with events handed over out of
 * order on purpose: the queue consumer (mails) parks an event that arrives
 * before an earlier one of its order, and a webhook endpoint never gets a
 * later event of an order while an earlier one is pending retry there.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { LAST_ATTEMPT } from "../../src/events/consumer";
import type { OrderStatusChanged } from "../../src/events/types";
import { attemptAll, deliverDue, storeMessages } from "../../src/webhooks/delivery";
import { RETRY_DELAYS_MS } from "../../src/webhooks/schedule";
import { uid } from "../helpers/http";
import { deliverBatch, orderStatusEvents } from "../helpers/queue";
import { dbOfOrder } from "../helpers/shards";
import { messagesOf, register, scriptedReceiver } from "../helpers/webhooks";

interface Sent {
	to: string;
	subject: string;
}

/** The Worker's env with a stand-in mail binding; `fail(subject)` makes a send throw. */
function withMailer(fail: (subject: string) => boolean = () => false) {
	const sent: Sent[] = [];
	const mailer = {
		async send(message: Sent) {
			if (fail(message.subject)) throw new Error("mail relay unavailable");
			sent.push(message);
		},
	};
	return { sent, env: { ...env, MAILER: mailer } as unknown as Env };
}

describe("the queue consumer delivers an order's events in sequence", () => {
	it("parks an event that arrives before its predecessor, acks it, and mails it right after the predecessor", async () => {
		const m = withMailer();
		const [placed, paid, processing, shipped] = orderStatusEvents(["paid", "processing", "shipped"]) as [OrderStatusChanged, OrderStatusChanged, OrderStatusChanged, OrderStatusChanged];
		const early = await deliverBatch([shipped, processing], m.env);
		expect([...early.result.explicitAcks].sort()).toEqual([...early.ids].sort());
		expect(m.sent).toEqual([]);
		const late = await deliverBatch([paid, placed], m.env);
		expect(late.result.retryMessages).toEqual([]);
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${placed.order_id} received`, `Order ${placed.order_id} has shipped`]);
		// A redelivered early event is a duplicate now.
		await deliverBatch([shipped], m.env, 2);
		expect(m.sent).toHaveLength(2);
	});

	it("a failed mail holds back the later events of its order in the batch; the retry delivers them in order", async () => {
		let relayDown = true;
		const m = withMailer(() => relayDown);
		const [placed, cancelled] = orderStatusEvents(["cancelled"]) as [OrderStatusChanged, OrderStatusChanged];
		const first = await deliverBatch([placed, cancelled], m.env);
		expect(first.result.explicitAcks).toEqual([]);
		expect([...first.result.retryMessages.map((r) => r.msgId)].sort()).toEqual([...first.ids].sort());
		expect(m.sent).toEqual([]);
		relayDown = false;
		// The queue hands the retries back in the other order.
		await deliverBatch([cancelled], m.env, 2);
		expect(m.sent).toEqual([]);
		await deliverBatch([placed], m.env, 2);
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${placed.order_id} received`, `Order ${placed.order_id} cancelled`]);
	});

	it("an event whose mail still fails on its last attempt is given up (an error line), and its order's later events go on", async () => {
		const [placed, cancelled] = orderStatusEvents(["cancelled"]) as [OrderStatusChanged, OrderStatusChanged];
		const m = withMailer((subject) => subject.endsWith("received"));
		const early = await deliverBatch([cancelled], m.env);
		expect(early.result.explicitAcks).toEqual(early.ids);
		const last = await deliverBatch([placed], m.env, LAST_ATTEMPT);
		expect(last.result.explicitAcks).toEqual(last.ids);
		expect(last.result.retryMessages).toEqual([]);
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${placed.order_id} cancelled`]);
	});
});

/**
 * `db` with its `n`-th batch that claims parked events (DELETE ... RETURNING
 * from order_event_parked) failing once, as a D1 error would, without running.
 */
function failingClaim(db: D1Database, n: number): D1Database {
	const claims = new WeakSet<D1PreparedStatement>();
	let seen = 0;
	return new Proxy(db, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			if (prop === "prepare")
				return (sql: string) => {
					const stmt = target.prepare(sql);
					if (!sql.includes("DELETE FROM order_event_parked")) return stmt;
					// bind returns a new statement: mark that one too.
					return new Proxy(stmt, {
						get(s, p) {
							const v = Reflect.get(s, p);
							if (p !== "bind") return typeof v === "function" ? v.bind(s) : v;
							return (...args: unknown[]) => {
								const bound = s.bind(...args);
								claims.add(bound);
								return bound;
							};
						},
					});
				};
			if (prop === "batch")
				return (stmts: D1PreparedStatement[]) => {
					if (stmts.some((x) => claims.has(x)) && ++seen === n) return Promise.reject(new Error("D1_ERROR: injected fault on the claim"));
					return target.batch(stmts);
				};
			return value.bind(target);
		},
	});
}

describe("parked events the consumer took", () => {
	it("are parked again when a later step of the batch fails, and a later batch of the order delivers them in sequence", async () => {
		const m = withMailer();
		const [placed, paid, shipped, delivered] = orderStatusEvents(["paid", "shipped", "delivered"]) as [OrderStatusChanged, OrderStatusChanged, OrderStatusChanged, OrderStatusChanged];
		const db = dbOfOrder(placed.order_id);
		const shardName = Object.keys(env).find((k) => (env as unknown as Record<string, unknown>)[k] === db)!;
		const parkedSeqs = async () =>
			(await db.prepare(`SELECT sequence FROM order_event_parked WHERE order_id = ? ORDER BY sequence`).bind(placed.order_id).all<{ sequence: number }>()).results.map((r) => r.sequence);

		await deliverBatch([shipped, paid], m.env);
		expect(await parkedSeqs()).toEqual([2, 3]);
		// Placed is delivered and "paid" taken after it; recording "paid" (and taking "shipped") then fails.
		const faulty = { ...m.env, [shardName]: failingClaim(db, 2) } as Env;
		await expect(deliverBatch([placed], faulty)).rejects.toThrow("injected fault");
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${placed.order_id} received`]);
		expect(await parkedSeqs()).toEqual([2, 3]);

		// The order's next event takes them out in sequence.
		await deliverBatch([delivered], m.env);
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${placed.order_id} received`, `Order ${placed.order_id} has shipped`]);
		expect(await parkedSeqs()).toEqual([]);
		const cursor = await db.prepare(`SELECT delivered_seq FROM order_event_cursor WHERE order_id = ?`).bind(placed.order_id).first<{ delivered_seq: number }>();
		expect(cursor!.delivered_seq).toBe(4);
	});
});

describe("an order from the single-database layout", () => {
	it("goes on from the cursor DB kept for it: its next event is delivered, not parked, and its cursor continues in its shard", async () => {
		const m = withMailer();
		const [, paid, processing, shipped] = orderStatusEvents(["paid", "processing", "shipped"]);
		const legacyId = uid("ord").replaceAll("-", "");
		const legacy = [paid!, processing!, shipped!].map((e) => ({ ...e, order_id: legacyId }));
		await env.DB.prepare(`INSERT INTO order_event_cursor (order_id, delivered_seq) VALUES (?, 2)`).bind(legacyId).run();
		await deliverBatch([legacy[2]!, legacy[1]!], m.env);
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${legacyId} has shipped`]);
		// Its shard (0, as for every id without a shard number) keeps its cursor from now on.
		const cursor = await dbOfOrder(legacyId).prepare(`SELECT delivered_seq FROM order_event_cursor WHERE order_id = ?`).bind(legacyId).first<{ delivered_seq: number }>();
		expect(cursor!.delivered_seq).toBe(4);
		// A redelivered earlier event is a duplicate.
		await deliverBatch([legacy[0]!], m.env, 2);
		expect(m.sent).toHaveLength(1);
	});
});

describe("a webhook endpoint gets an order's events in sequence", () => {
	const receiver = scriptedReceiver();
	const send = receiver.send;

	it("holds a later event of an order while an earlier one is pending retry, then sends it right after that one", async () => {
		const url = `https://hooks.test/${uid("in")}`;
		const ep = await register(url, ["order.placed", "order.cancelled"]);
		receiver.listen(url, ep.secret, ["fail", "ok"]);
		const [placed, cancelled] = orderStatusEvents(["cancelled"]) as [OrderStatusChanged, OrderStatusChanged];
		const t0 = Date.now();
		await attemptAll(env, await storeMessages(env, [placed, cancelled], t0), t0, { send });
		const types = () => receiver.seen(url).map((s) => (JSON.parse(s.body) as { type: string }).type);
		expect(types()).toEqual(["order.placed"]);

		// A later event stored while the first is pending retry is not attempted either.
		const t1 = t0 + RETRY_DELAYS_MS[0];
		await deliverDue(env, t1 - 1, { send });
		expect(types()).toEqual(["order.placed"]);
		expect((await messagesOf(ep.webhook_id)).map((x) => x.state)).toEqual(["pending", "pending"]);

		await deliverDue(env, t1, { send });
		expect(types()).toEqual(["order.placed", "order.placed", "order.cancelled"]);
		expect(receiver.seen(url).map((s) => (JSON.parse(s.body) as { data: { sequence: number } }).data.sequence)).toEqual([1, 1, 2]);
		expect((await messagesOf(ep.webhook_id)).map((x) => x.state)).toEqual(["delivered", "delivered"]);
	});
});
