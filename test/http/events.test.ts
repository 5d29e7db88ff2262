import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import type { OrderStatusChanged, StockgateEvent, StockLow } from "../../src/events/types";
import { outboxOf } from "../helpers/commits";
import { admin, call, uid } from "../helpers/http";
import { deliverBatch } from "../helpers/queue";
import { advance, customerWithOrder, eventsFlushed, expectSettled, orderAgain, recordEvents, setStatus, tokenWithEmail } from "../helpers/orders";
import { allShards } from "../helpers/shards";
import { ADDRESS, makeShop, onHand, type Shop } from "../helpers/shop";
import { eventually } from "../helpers/time";

const events = recordEvents();

let shop: Shop;
beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
});

function statusEvents(orderId: string): OrderStatusChanged[] {
	return events.forOrder(orderId).filter((e): e is OrderStatusChanged => e.type === "order.status_changed");
}

function kinds(orderId: string): Array<[string | null, string]> {
	return statusEvents(orderId).map((e) => [e.old_status, e.new_status]);
}

/** The consumer's de-duplication rows: an order event's are in its order's shard, the shop's own events' in DB. */
async function processedIn(sql: string, param: string): Promise<Array<{ event_id: string; type?: string }>> {
	const pages = await Promise.all([env.DB, ...allShards()].map((db) => db.prepare(sql).bind(param).all<{ event_id: string; type?: string }>()));
	return pages.flatMap((page) => page.results);
}

/** Waits until the queue consumer (the Worker's own `queue` handler, fed by the local queue) has processed these events. */
async function consumed(eventIds: string[]): Promise<void> {
	await vi.waitFor(
		async () => {
			const results = await processedIn(`SELECT event_id FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))`, JSON.stringify(eventIds));
			expect(results.map((r) => r.event_id).sort()).toEqual([...eventIds].sort());
		},
		{ timeout: 15_000, interval: 50 },
	);
}

describe("order events on the order-events queue", () => {
	it("a placed order produces exactly one order.status_changed (null -> pending), which the consumer processes", async () => {
		const c = await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 1 }], { email: "ada@example.com" });
		const id = c.order.order_id;
		await eventsFlushed(id);
		const placed = statusEvents(id);
		expect(placed).toEqual([
			{
				event_id: `evt_placed_${id}`,
				type: "order.status_changed",
				occurred_at: c.order.created_at,
				order_id: id,
				user_id: c.sub,
				customer_email: "ada@example.com",
				old_status: null,
				new_status: "pending",
				payment_status: "pending",
				tracking_number: null,
				total: c.order.total,
				currency: "USD",
				changed_by: c.sub,
				reason: "order placed",
				sequence: 1,
			},
		]);
		await consumed([placed[0]!.event_id]);
	});

	it("a shipped order produces exactly one shipped event, carrying the tracking number; each step one event", async () => {
		const c = await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 1 }], { email: "bob@example.com" });
		const id = c.order.order_id;
		await advance(id, "shipped", "TRK-SHIP-1");
		await eventsFlushed(id);
		expect(kinds(id)).toEqual([
			[null, "pending"],
			["pending", "paid"],
			["paid", "processing"],
			["processing", "shipped"],
		]);
		const shipped = statusEvents(id).filter((e) => e.new_status === "shipped");
		expect(shipped).toHaveLength(1);
		expect(shipped[0]).toMatchObject({ tracking_number: "TRK-SHIP-1", customer_email: "bob@example.com", changed_by: "admin-1", payment_status: "paid" });
		// A refused transition publishes nothing.
		expect((await setStatus(id, "shipped", { tracking_number: "TRK-2" })).status).toBe(409);
		expect(statusEvents(id).filter((e) => e.new_status === "shipped")).toHaveLength(1);
		await consumed(statusEvents(id).map((e) => e.event_id));
	});

	it("a cancelled order produces exactly one cancelled event, however often it is cancelled", async () => {
		const c = await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const id = c.order.order_id;
		const [a, b] = await Promise.all([
			call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: { reason: "too slow" } }),
			call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} }),
		]);
		expect([a.status, b.status]).toEqual([200, 200]);
		expect((await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} })).status).toBe(200);
		await eventsFlushed(id);
		expect(kinds(id)).toEqual([
			[null, "pending"],
			["pending", "cancelled"],
		]);
		expect(statusEvents(id)[1]).toMatchObject({ changed_by: c.sub, payment_status: "pending" });
		// No refund for an unpaid order.
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toEqual([]);
		await consumed(statusEvents(id).map((e) => e.event_id));
	});
});

describe("publishing placed orders' events", () => {
	it("concurrent orders share queue sends; every event is published once and consumed; no outbox row is left", async () => {
		const buyers = await Promise.all(
			Array.from({ length: 8 }, async () => {
				const sub = uid("user");
				const auth = await tokenWithEmail(sub);
				for (const item of [{ product_id: shop.products[0]!, size: "M", quantity: 1 }]) expect((await call("POST", "/cart/items", { auth, body: item })).status).toBe(200);
				expect((await call("PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
				return auth;
			}),
		);
		const sendsBefore = events.sends();
		const placed = await Promise.all(buyers.map((auth) => call("POST", "/cart/place-order", { auth, body: {} })));
		expect(placed.map((r) => r.status)).toEqual(buyers.map(() => 201));
		const ids = placed.map((r) => r.body.order_id as string);
		for (const id of ids) await eventsFlushed(id);
		for (const id of ids) expect(kinds(id)).toEqual([[null, "pending"]]);
		// Gathered after the answers: fewer queue sends than orders (each order alone would be one send).
		const sends = events.sends().slice(sendsBefore.length).filter((batch) => batch.some((e) => e.type === "order.status_changed" && ids.includes(e.order_id)));
		expect(sends.length).toBeLessThan(ids.length);
		await consumed(ids.map((id) => `evt_placed_${id}`));
		await eventually(async () => expect((await outboxOf()).filter((row) => ids.includes(row.order_id))).toEqual([]), { timeoutMs: 5_000 });
	});
});

describe("low-stock events", () => {
	function lowFor(warehouseId: string, productId: string): StockLow[] {
		return events.all().filter((e): e is StockLow => e.type === "stock.low" && e.warehouse_id === warehouseId && e.product_id === productId);
	}

	it("on_hand falling below the threshold produces exactly one stock.low; further decreases below it produce no more", async () => {
		const s = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [w] = s.warehouses as [string];
		const p = s.products[0]!;
		const set = await call("PUT", `/admin/warehouses/${w}/stock`, { auth: await admin(), body: { items: [{ product_id: p, size: "M", on_hand: 5, low_stock_threshold: 3 }] } });
		expect(set.status, JSON.stringify(set.body)).toBe(200);
		expect(set.body.items).toEqual([{ product_id: p, size: "M", on_hand: 5, reserved: 0, available: 5, safety_stock: 0, incoming: 0, low_stock_threshold: 3, shards: 1, pool: null }]);
		// Other units and warehouses are not affected by this threshold.
		const other = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1 } }] });

		const buyers = [];
		// 5 -> 4 -> 3: still at or above the threshold.
		for (let i = 0; i < 2; i++) buyers.push(await customerWithOrder([{ product_id: p, size: "M", quantity: 1 }]));
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(lowFor(w, p)).toEqual([]);
		// 3 -> 2: crosses it.
		buyers.push(await customerWithOrder([{ product_id: p, size: "M", quantity: 1 }]));
		await vi.waitFor(() => expect(lowFor(w, p)).toHaveLength(1), { timeout: 10_000, interval: 20 });
		expect(lowFor(w, p)[0]).toEqual({
			event_id: expect.any(String),
			type: "stock.low",
			occurred_at: expect.any(String),
			warehouse_id: w,
			product_id: p,
			size: "M",
			on_hand: 2,
			threshold: 3,
		});
		// 2 -> 1 -> 0 (and an admin deduct would be refused at 0): no new event.
		for (let i = 0; i < 2; i++) buyers.push(await customerWithOrder([{ product_id: p, size: "M", quantity: 1 }]));
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(lowFor(w, p)).toHaveLength(1);
		expect(lowFor(other.warehouses[0]!, other.products[0]!)).toEqual([]);
		await consumed([lowFor(w, p)[0]!.event_id]);

		// Cancellations bring it back above the threshold (restocks publish nothing); the next fall is a new crossing.
		for (const b of buyers.slice(0, 4)) expect((await call("POST", `/orders/${b.order.order_id}/cancel`, { auth: b.auth, body: {} })).status).toBe(200);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 4, reserved: 0 });
		expect(lowFor(w, p)).toHaveLength(1);
		const again = await customerWithOrder([{ product_id: p, size: "M", quantity: 2 }]);
		expect(again.order.status).toBe("pending");
		await vi.waitFor(() => expect(lowFor(w, p)).toHaveLength(2), { timeout: 10_000, interval: 20 });
		expect(lowFor(w, p)[1]).toMatchObject({ on_hand: 2, threshold: 3 });
		await expectSettled();
	});

	it("a single order jumping straight below the threshold produces one event; so does an admin adjustment", async () => {
		const s = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [w] = s.warehouses as [string];
		const p = s.products[0]!;
		const auth = await admin();
		expect((await call("PUT", `/admin/warehouses/${w}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 10, low_stock_threshold: 5 }] } })).status).toBe(200);
		await customerWithOrder([{ product_id: p, size: "M", quantity: 8 }]);
		await vi.waitFor(() => expect(lowFor(w, p)).toHaveLength(1), { timeout: 10_000, interval: 20 });
		expect(lowFor(w, p)[0]).toMatchObject({ on_hand: 2, threshold: 5 });

		// Raising the level back up (set) is not an event; an adjustment down across the threshold is.
		expect((await call("PUT", `/admin/warehouses/${w}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 6 }] } })).status).toBe(200);
		expect(lowFor(w, p)).toHaveLength(1);
		const adj = await call("POST", `/admin/warehouses/${w}/stock/adjust`, { auth, body: { product_id: p, size: "M", delta: -3, reason: "damage" } });
		expect(adj.status, JSON.stringify(adj.body)).toBe(200);
		await vi.waitFor(() => expect(lowFor(w, p)).toHaveLength(2), { timeout: 10_000, interval: 20 });
		expect(lowFor(w, p)[1]).toMatchObject({ on_hand: 3, threshold: 5 });
	});

	it("without a threshold, nothing is published", async () => {
		const s = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 2 } }] });
		const c = await customerWithOrder([{ product_id: s.products[0]!, size: "M", quantity: 2 }]);
		await eventsFlushed(c.order.order_id);
		expect(lowFor(s.warehouses[0]!, s.products[0]!)).toEqual([]);
	});
});

// ---- the consumer --------------------------------------------------------------------------

interface Sent {
	from: string;
	to: string;
	subject: string;
	text: string;
}

/** The Worker's env with a stand-in for the send_email binding; `fail` makes sends throw. */
function withMailer(opts: { fail?: () => boolean } = {}) {
	const sent: Sent[] = [];
	const mailer = {
		async send(message: Sent) {
			if (opts.fail?.()) throw new Error("mail relay unavailable");
			sent.push(message);
		},
	};
	return { sent, env: { ...env, MAILER: mailer } as unknown as Env };
}

function statusEvent(over: Partial<OrderStatusChanged> = {}): OrderStatusChanged {
	const order_id = uid("ord");
	return {
		event_id: uid("evt_test"),
		type: "order.status_changed",
		occurred_at: new Date().toISOString(),
		order_id,
		user_id: "user-1",
		customer_email: "ada@example.com",
		old_status: "processing",
		new_status: "shipped",
		payment_status: "paid",
		tracking_number: "1Z-TRACK",
		total: 25.98,
		currency: "USD",
		changed_by: "admin-1",
		reason: null,
		...over,
	};
}

async function processedRows(eventId: string) {
	return processedIn(`SELECT event_id, type FROM processed_events WHERE event_id = ?`, eventId);
}

describe("the order-events consumer", () => {
	it("delivers the same event twice in one batch once; both messages are acked; processed_events has one row", async () => {
		const m = withMailer();
		const e = statusEvent();
		const { ids, result } = await deliverBatch([e, e], m.env);
		expect(result.retryMessages).toEqual([]);
		expect([...result.explicitAcks].sort()).toEqual([...ids].sort());
		expect(m.sent).toHaveLength(1);
		expect(m.sent[0]).toMatchObject({ to: "ada@example.com", subject: `Order ${e.order_id} has shipped` });
		expect(m.sent[0]!.text).toContain("1Z-TRACK");
		expect(await processedRows(e.event_id)).toEqual([{ event_id: e.event_id, type: "order.status_changed" }]);
	});

	it("de-duplicates across batches: a redelivered event is acked without being delivered again", async () => {
		const m = withMailer();
		const e = statusEvent({ old_status: "pending", new_status: "cancelled", tracking_number: null, payment_status: "refund_pending", reason: "out of stock" });
		const first = await deliverBatch([e], m.env);
		expect(first.result.explicitAcks).toEqual(first.ids);
		const second = await deliverBatch([e], m.env, 2);
		expect(second.result.explicitAcks).toEqual(second.ids);
		expect(second.result.retryMessages).toEqual([]);
		expect(m.sent).toHaveLength(1);
		expect(m.sent[0]!.subject).toBe(`Order ${e.order_id} cancelled`);
		expect(m.sent[0]!.text).toContain("refunded");
		expect(await processedRows(e.event_id)).toHaveLength(1);
	});

	it("two different events in one batch are both delivered", async () => {
		const m = withMailer();
		const a = statusEvent();
		const b = statusEvent({ old_status: null, new_status: "pending", tracking_number: null, payment_status: "pending" });
		const { ids, result } = await deliverBatch([a, b], m.env);
		expect([...result.explicitAcks].sort()).toEqual([...ids].sort());
		expect(m.sent.map((s) => s.subject)).toEqual([`Order ${a.order_id} has shipped`, `Order ${b.order_id} received`]);
	});

	it("retries a message whose delivery fails, without marking it processed; the retry delivers it once", async () => {
		let failing = true;
		const m = withMailer({ fail: () => failing });
		const e = statusEvent();
		const ok = statusEvent();
		const first = await deliverBatch([e], m.env);
		expect(first.result.explicitAcks).toEqual([]);
		expect(first.result.retryMessages.map((r) => r.msgId)).toEqual(first.ids);
		expect(m.sent).toEqual([]);
		expect(await processedRows(e.event_id)).toEqual([]);

		// Only the failing message is retried; others in the batch are acked.
		let mixedCalls = 0;
		const mixed = withMailer({ fail: () => mixedCalls++ === 0 });
		const both = await deliverBatch([statusEvent(), ok], mixed.env);
		expect(both.result.retryMessages.map((r) => r.msgId)).toEqual([both.ids[0]]);
		expect(both.result.explicitAcks).toEqual([both.ids[1]]);

		failing = false;
		const retry = await deliverBatch([e], m.env, 2);
		expect(retry.result.explicitAcks).toEqual(retry.ids);
		expect(retry.result.retryMessages).toEqual([]);
		expect(m.sent).toHaveLength(1);
		expect(await processedRows(e.event_id)).toHaveLength(1);
	});

	it("acknowledges events that need no email (paid, refund requests, low stock) and malformed messages", async () => {
		const m = withMailer();
		const paid = statusEvent({ old_status: "pending", new_status: "paid", tracking_number: null });
		const refund: StockgateEvent = { event_id: uid("evt_test"), type: "payment.refund_requested", occurred_at: new Date().toISOString(), order_id: "ord_x", payment_event_id: "pay_x", amount: 10, currency: "USD", reason: "double_charge" };
		const low: StockgateEvent = { event_id: uid("evt_test"), type: "stock.low", occurred_at: new Date().toISOString(), warehouse_id: "wh-x", product_id: "p-x", size: "M", on_hand: 1, threshold: 2 };
		const { ids, result } = await deliverBatch([paid, refund, low, { nonsense: true }, null], m.env);
		expect([...result.explicitAcks].sort()).toEqual([...ids].sort());
		expect(result.retryMessages).toEqual([]);
		expect(m.sent).toEqual([]);
		for (const e of [paid, refund, low]) expect(await processedRows(e.event_id)).toHaveLength(1);
	});

	it("without a send_email binding, emails are logged and the event is still processed once", async () => {
		const e = statusEvent();
		const noMailer = { ...env, MAILER: undefined } as unknown as Env;
		const first = await deliverBatch([e, e], noMailer);
		expect([...first.result.explicitAcks].sort()).toEqual([...first.ids].sort());
		expect(await processedRows(e.event_id)).toHaveLength(1);
	});

	it("an order placed by a customer with an email is mailed once through the real queue", async () => {
		const m = withMailer();
		const auth = await tokenWithEmail(uid("user"), "carol@example.com");
		const r = await orderAgain(auth, [{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		expect(r.status).toBe(201);
		await eventsFlushed(r.body.order_id);
		const [placed] = statusEvents(r.body.order_id);
		// Whatever the local queue already delivered, delivering the published message again sends nothing more.
		await consumed([placed!.event_id]);
		const again = await deliverBatch([placed], m.env, 2);
		expect(again.result.explicitAcks).toEqual(again.ids);
		expect(m.sent).toEqual([]);
	});
});
