/**
 * An order's "placed" event is derived from its order row: the decision marks
 * the row (`announce_pending` = 1) instead of writing an event row, and the
 * outbox reads the mark as that event, in sequence with the order's later
 * ones. Orders placed before the mark existed keep their placed event as a row.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placeOrder } from "../../src/checkout/placeOrder";
import { eventStmt, flushOutbox } from "../../src/events/outbox";
import { isSequenced } from "../../src/events/sequence";
import type { OrderStatusChanged } from "../../src/events/types";
import { insertOrderStmt, placedEvent, placedEventId } from "../../src/orders/placement";
import type { OrderRecord } from "../../src/orders/queries";
import { outboxStmt } from "../../src/orders/rows";
import { cancelUnfulfillable } from "../../src/orders/service";
import { newOrderId } from "../../src/orders/shards";
import { checkoutDeps, checkoutInput, quickCustomer, settle } from "../helpers/faults";
import { call, uid } from "../helpers/http";
import { customerWithOrder, eventOutboxOf, eventsFlushed, orderRecord, recordEvents, tokenWithEmail } from "../helpers/orders";
import { dbOfOrder } from "../helpers/shards";
import { makeShop } from "../helpers/shop";
import { eventually } from "../helpers/time";

const events = recordEvents();
const FAR_LATER = () => new Date(Date.now() + 60_000).toISOString();

/** The sequences of the order's status events the queue received, in the order it received them. */
const sentSequences = (orderId: string) => events.forOrder(orderId).filter(isSequenced).map((e) => [e.event_id, e.sequence] as const);

async function announcePending(orderId: string): Promise<number | undefined> {
	return (await dbOfOrder(orderId).prepare(`SELECT announce_pending FROM orders WHERE order_id = ?`).bind(orderId).first<{ announce_pending: number }>())?.announce_pending;
}

async function oneWarehouseShop(units: number) {
	return makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": units } }] });
}

/** An order answered before its commits, which never run here (the isolate "died" after the answer): its commit outbox row stays. */
async function answeredBeforeCommits() {
	const shop = await oneWarehouseShop(5);
	const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
	const r = await placeOrder(await checkoutInput(user), checkoutDeps({ defer: () => {}, commitLater: () => {} }));
	if (!r.ok) throw new Error(JSON.stringify(r));
	expect(r.pendingCommits).toHaveLength(1);
	return { shop, user, id: r.order.order_id };
}

describe("a placed order's announcement", () => {
	it("is sent once, as evt_placed_<id> with sequence 1, and then the order row no longer says it is pending", async () => {
		const shop = await oneWarehouseShop(5);
		const { order } = await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const id = order.order_id;
		await eventsFlushed(id);
		expect(await announcePending(id)).toBe(0);
		expect(sentSequences(id)).toEqual([[placedEventId(id), 1]]);
		// Sent once: a later re-send of the outbox has nothing of it left.
		await flushOutbox(env, FAR_LATER());
		expect(sentSequences(id)).toEqual([[placedEventId(id), 1]]);
		expect(events.forOrder(id)[0]).toMatchObject({ old_status: null, new_status: "pending", payment_status: "pending", total: order.total, currency: order.currency });
	});

	it("is not overtaken by a cancellation made while the order's commits are still pending: the queue gets 1, then 2", async () => {
		const { shop, user, id } = await answeredBeforeCommits();
		expect(await eventOutboxOf(id)).toEqual([placedEventId(id)]);
		const cancelled = await call("POST", `/orders/${id}/cancel`, { auth: await tokenWithEmail(user), body: {} });
		expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
		await eventsFlushed(id);
		const sent = sentSequences(id);
		expect(sent.map(([, sequence]) => sequence)).toEqual([1, 2]);
		expect(sent[0]![0]).toBe(placedEventId(id));
		expect(await announcePending(id)).toBe(0);
		await settle(shop);
		expect(sentSequences(id).map(([, sequence]) => sequence)).toEqual([1, 2]);
	});
});

describe("the reconciler's re-send of a pending placed event", () => {
	it("sends one whose in-request publish was lost, once it is older than the grace period", async () => {
		const shop = await oneWarehouseShop(5);
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		// Committed before the answer, then the isolate died before it published.
		const r = await placeOrder(await checkoutInput(user), checkoutDeps());
		if (!r.ok) throw new Error(JSON.stringify(r));
		const id = r.order.order_id;
		expect(r.pendingCommits).toEqual([]);
		expect(await announcePending(id)).toBe(1);
		// Within the grace period it is left to the request that made it.
		await flushOutbox(env, new Date(Date.parse(r.order.created_at) - 1).toISOString());
		expect(sentSequences(id)).toEqual([]);
		await flushOutbox(env, FAR_LATER());
		expect(sentSequences(id)).toEqual([[placedEventId(id), 1]]);
		expect(await announcePending(id)).toBe(0);
		expect(await eventOutboxOf(id)).toEqual([]);
	});

	it("holds one back while the order's commits are unconfirmed, and sends it once the reconciler confirmed them", async () => {
		// Neither the commits nor the announcement ran.
		const { shop, id } = await answeredBeforeCommits();
		await flushOutbox(env, FAR_LATER());
		expect(sentSequences(id)).toEqual([]);
		expect(await announcePending(id)).toBe(1);
		await settle(shop); // the reconciler commits, then re-sends the outbox
		await eventually(async () => expect(sentSequences(id)).toEqual([[placedEventId(id), 1]]));
		expect(await announcePending(id)).toBe(0);
	});
});

/**
 * An order written straight to its shard, its commit still outstanding when
 * `commitPending`, and its placed event: `flag` pending on the order row (as
 * the decision writes it now), `row` an event_outbox row with the flag 0 (as
 * the decision wrote it before), `sent` already handed to the queue.
 */
async function handMadeOrder(placed: "flag" | "row" | "sent", at: number, commitPending: boolean) {
	const orderId = newOrderId(1);
	const created = new Date(at).toISOString();
	const order = orderRecord({
		order_id: orderId,
		user_id: uid("user-old"),
		cart_id: uid("cart-old"),
		products: [{ product_id: "p-old", size: "M", name: "Old", quantity: 1, unit_price_cents: 1000, allocations: [{ warehouse_id: "wh-old", quantity: 1 }] }],
		created_at: created,
	});
	const db = dbOfOrder(orderId);
	await db.batch([
		insertOrderStmt(db, order),
		...(placed === "flag" ? [] : [db.prepare(`UPDATE orders SET announce_pending = 0 WHERE order_id = ?`).bind(orderId)]),
		...(placed === "row" ? [eventStmt(db, placedEvent(order))] : []),
		...(commitPending ? [outboxStmt(db, orderId, ["wh-old"], "commit", created)] : []),
	]);
	return order;
}

/** Drops the warehouse work a hand-made order left (its warehouse does not exist), so no later reconciler run tries it. */
async function dropWarehouseWork(orderId: string) {
	await dbOfOrder(orderId).prepare(`DELETE FROM outbox WHERE order_id = ?`).bind(orderId).run();
}

describe("an order placed before placed events were derived from the order row", () => {
	/** The order's next status event, as a change writes it (its row in the outbox, the order's sequence moved on). */
	async function laterEvent(order: OrderRecord, at: number): Promise<OrderStatusChanged> {
		const event: OrderStatusChanged = {
			...placedEvent(order),
			event_id: uid("evt_old"),
			occurred_at: new Date(at).toISOString(),
			old_status: "pending",
			new_status: "paid",
			payment_status: "paid",
			changed_by: "system",
			reason: "payment received",
			sequence: 2,
		};
		const db = dbOfOrder(order.order_id);
		await db.batch([db.prepare(`UPDATE orders SET event_seq = 2, status = 'paid', payment_status = 'paid' WHERE order_id = ?`).bind(order.order_id), eventStmt(db, event)]);
		return event;
	}

	it("is announced by the reconciler from its event row, in sequence with a later event, after its commit is confirmed", async () => {
		const t0 = Date.now() - 120_000;
		const order = await handMadeOrder("row", t0, true);
		const later = await laterEvent(order, t0 + 1_000);
		const id = order.order_id;
		expect(await eventOutboxOf(id)).toEqual([placedEventId(id), later.event_id]);
		await flushOutbox(env, FAR_LATER());
		expect(sentSequences(id)).toEqual([]);
		await dbOfOrder(id).prepare(`DELETE FROM outbox WHERE order_id = ? AND action = 'commit'`).bind(id).run(); // its commit confirmed
		await flushOutbox(env, FAR_LATER());
		expect(sentSequences(id)).toEqual([
			[placedEventId(id), 1],
			[later.event_id, 2],
		]);
		// Announced as it was written, not rebuilt from the order row as it is now.
		expect(events.forOrder(id)[0]).toEqual(placedEvent(order));
		expect(await eventOutboxOf(id)).toEqual([]);
		expect(await announcePending(id)).toBe(0);
	});
});

describe("a decided order cancelled as unfulfillable", () => {
	it.each(["flag", "row"] as const)("is never announced while its placed event is unsent (placed event as %s): neither event reaches the queue, nothing is left to send", async (placed) => {
		const order = await handMadeOrder(placed, Date.now() - 120_000, true);
		const id = order.order_id;
		expect(await cancelUnfulfillable(env, order, "reservation expired")).toBe(true);
		expect(await eventOutboxOf(id)).toEqual([]);
		expect(await announcePending(id)).toBe(0);
		await flushOutbox(env, FAR_LATER());
		expect(events.forOrder(id)).toEqual([]);
		await dropWarehouseWork(id);
	});

	it("is announced as cancelled when its placed event had already gone out", async () => {
		const order = await handMadeOrder("sent", Date.now() - 120_000, true);
		const id = order.order_id;
		expect(await cancelUnfulfillable(env, order, "reservation expired")).toBe(true);
		expect(sentSequences(id).map(([, sequence]) => sequence)).toEqual([2]);
		expect(events.forOrder(id)[0]).toMatchObject({ new_status: "cancelled" });
		expect(await eventOutboxOf(id)).toEqual([]);
		await dropWarehouseWork(id);
	});
});
