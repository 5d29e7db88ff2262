/**
 * The event outbox over the order shards: an order's events wait in its
 * shard's `event_outbox`, the shop's own in DB's. The relay (`publish`, and the
 * reconciler's `flushOutbox`) reads each database, sends an order's events in
 * sequence with "placed" held while its commit is unconfirmed, and clears each
 * row from the database that held it. Rows are written straight into the
 * databases (the writers are the order and transfer code's).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { flushOutbox, publish } from "../../src/events/outbox";
import type { OrderStatusChanged, StockgateEvent } from "../../src/events/types";
import { insertOrderStmt } from "../../src/orders/placement";
import { newOrderId } from "../../src/orders/shards";
import { uid } from "../helpers/http";
import { orderRecord, recordEvents } from "../helpers/orders";
import { allShards, dbOfOrder } from "../helpers/shards";
import { transferEvent } from "../helpers/webhooks";

const events = recordEvents();
const iso = (ms: number) => new Date(ms).toISOString();

function statusEvent(orderId: string, sequence: number, status: string, at: number): OrderStatusChanged {
	return {
		event_id: uid("evt_ob"),
		type: "order.status_changed",
		occurred_at: iso(at),
		order_id: orderId,
		user_id: "user-ob",
		customer_email: null,
		old_status: sequence === 1 ? null : "pending",
		new_status: status,
		payment_status: status === "paid" ? "paid" : "pending",
		tracking_number: null,
		total: 10,
		currency: "USD",
		changed_by: "admin-1",
		reason: null,
		sequence,
	};
}

async function inOutbox(db: D1Database, e: StockgateEvent, at: number) {
	await db.prepare(`INSERT INTO event_outbox (event_id, payload, created_at) VALUES (?, ?, ?)`).bind(e.event_id, JSON.stringify(e), iso(at)).run();
}

async function outboxIds(db: D1Database, ids: string[]): Promise<string[]> {
	const { results } = await db.prepare(`SELECT event_id FROM event_outbox WHERE event_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(ids)).all<{ event_id: string }>();
	return results.map((r) => r.event_id).sort();
}

const sentIds = (ids: string[]) => events.all().filter((e) => ids.includes(e.event_id)).map((e) => e.event_id);

describe("the relay reads DB and every shard", () => {
	it("re-sends leftovers of every database, an order's in sequence behind its held 'placed', and clears each from the database that held it", async () => {
		const t0 = Date.now() - 60_000;
		const held = newOrderId(2);
		const free = newOrderId(3);
		const heldEvents = [statusEvent(held, 1, "pending", t0), statusEvent(held, 2, "paid", t0 + 1)];
		const freeEvents = [statusEvent(free, 1, "pending", t0), statusEvent(free, 2, "paid", t0 + 1)];
		const transfer = transferEvent(t0);
		for (const e of heldEvents) await inOutbox(dbOfOrder(held), e, Date.parse(e.occurred_at));
		for (const e of freeEvents) await inOutbox(dbOfOrder(free), e, Date.parse(e.occurred_at));
		await inOutbox(env.DB, transfer, t0);
		// The held order still has a commit to confirm, in its own shard.
		await dbOfOrder(held).prepare(`INSERT INTO outbox (order_id, warehouse_id, action, created_at, next_attempt_at) VALUES (?, 'wh-ob', 'commit', ?, ?)`).bind(held, iso(t0), iso(t0)).run();

		const read = await flushOutbox(env, iso(Date.now()));
		// The held order's two rows are not read: only what may go.
		expect(read).toBeGreaterThanOrEqual(3);
		const sentNow = [transfer.event_id, ...freeEvents.map((e) => e.event_id)];
		expect(sentIds(sentNow).sort()).toEqual([...sentNow].sort());
		// The free order's events went in sequence, in one send.
		const freeSend = events.sends().find((s) => s.some((e) => e.event_id === freeEvents[0]!.event_id))!;
		expect(freeSend.filter((e) => "order_id" in e && e.order_id === free).map((e) => e.event_id)).toEqual(freeEvents.map((e) => e.event_id));
		expect(await outboxIds(dbOfOrder(free), freeEvents.map((e) => e.event_id))).toEqual([]);
		expect(await outboxIds(env.DB, [transfer.event_id])).toEqual([]);
		// The held order's "placed", and its "paid" behind it, stay in its shard.
		expect(sentIds(heldEvents.map((e) => e.event_id))).toEqual([]);
		expect(await outboxIds(dbOfOrder(held), heldEvents.map((e) => e.event_id))).toEqual(heldEvents.map((e) => e.event_id).sort());

		// Its commit confirmed: the next run sends both, in sequence.
		await dbOfOrder(held).prepare(`DELETE FROM outbox WHERE order_id = ?`).bind(held).run();
		await flushOutbox(env, iso(Date.now()));
		expect(sentIds(heldEvents.map((e) => e.event_id))).toEqual(heldEvents.map((e) => e.event_id));
		expect(await outboxIds(dbOfOrder(held), heldEvents.map((e) => e.event_id))).toEqual([]);
	});

	it("publishing an order event sends its order's earlier events from its shard with it, in sequence", async () => {
		const orderId = newOrderId(1);
		const t0 = Date.now();
		const [placed, paid] = [statusEvent(orderId, 1, "pending", t0), statusEvent(orderId, 2, "paid", t0 + 1)];
		await inOutbox(dbOfOrder(orderId), placed, t0);
		await inOutbox(dbOfOrder(orderId), paid, t0 + 1);
		// Not in DB or another shard.
		for (const db of [env.DB, ...allShards().filter((db) => db !== dbOfOrder(orderId))]) expect(await outboxIds(db, [placed.event_id, paid.event_id])).toEqual([]);
		await publish(env, [paid]);
		expect(sentIds([placed.event_id, paid.event_id])).toEqual([placed.event_id, paid.event_id]);
		expect(await outboxIds(dbOfOrder(orderId), [placed.event_id, paid.event_id])).toEqual([]);
	});

	it("a shard's held events, more than the run's limit and older, do not keep a newer sendable event waiting", async () => {
		const t0 = Date.UTC(2001, 0, 1);
		const db = allShards()[2]!;
		const commitPending = (orderId: string) =>
			db.prepare(`INSERT INTO outbox (order_id, warehouse_id, action, created_at, next_attempt_at) VALUES (?, 'wh-ob', 'commit', ?, ?)`).bind(orderId, iso(t0), iso(t0)).run();
		// Placed as a row of sequence 1, with a later event behind it; its commit unconfirmed.
		const rowHeld = newOrderId(2);
		const rowHeldEvents = [statusEvent(rowHeld, 1, "pending", t0), statusEvent(rowHeld, 2, "paid", t0 + 1)];
		// Placed pending on its order row, with a later event behind it; its commit unconfirmed.
		const flagHeld = newOrderId(2);
		await db.batch([insertOrderStmt(db, orderRecord({ order_id: flagHeld, user_id: "user-ob", created_at: iso(t0) }))]);
		const flagHeldEvents = [statusEvent(flagHeld, 2, "paid", t0 + 2), statusEvent(flagHeld, 3, "cancelled", t0 + 3)];
		for (const e of [...rowHeldEvents, ...flagHeldEvents]) await inOutbox(db, e, Date.parse(e.occurred_at));
		await commitPending(rowHeld);
		await commitPending(flagHeld);
		// Newer, and free to go.
		const free = newOrderId(2);
		const freeEvents = [statusEvent(free, 1, "pending", t0 + 10), statusEvent(free, 2, "paid", t0 + 11)];
		for (const e of freeEvents) await inOutbox(db, e, Date.parse(e.occurred_at));

		await flushOutbox(env, iso(Date.now()), 2);
		expect(sentIds(freeEvents.map((e) => e.event_id))).toEqual(freeEvents.map((e) => e.event_id));
		const heldIds = [...rowHeldEvents, ...flagHeldEvents].map((e) => e.event_id);
		expect(sentIds(heldIds)).toEqual([]);
		expect(await outboxIds(db, heldIds)).toEqual([...heldIds].sort());

		// Nothing of these orders is left for later runs.
		await db.prepare(`DELETE FROM outbox WHERE order_id IN (?, ?)`).bind(rowHeld, flagHeld).run();
		await db.prepare(`DELETE FROM event_outbox WHERE order_id IN (?, ?)`).bind(rowHeld, flagHeld).run();
		await db.prepare(`DELETE FROM orders WHERE order_id = ?`).bind(flagHeld).run();
	});
});
