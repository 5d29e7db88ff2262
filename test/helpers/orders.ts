/**
 * Helpers for the order lifecycle tests: customers (optionally with an `email`
 * claim), placing orders through the real API, admin status changes, signed
 * payment webhooks, history checks, and a
 * recorder of what is published to the `order-events` queue.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { expect, vi } from "vitest";
import { listWarehouses } from "../../src/catalog/queries";
import type { StockgateEvent } from "../../src/events/types";
import { placedEventId } from "../../src/orders/placement";
import type { OrderRecord } from "../../src/orders/queries";
import { signPayload } from "../../src/payments/signature";
import { committedIfPlaced } from "./commits";
import { admin, call, uid, type Call } from "./http";
import { ADDRESS, expectInvariants } from "./shop";
import { dbOfOrder } from "./shards";
import { eventually } from "./time";

export type Item = { product_id: string; size: string; quantity: number };

/**
 * An order row as the decision writes it, for tests that store one by hand
 * (an order from an earlier version, or one whose warehouse work is staged):
 * one unit of `p-old` at 10.00, shipped standard, pending, unless overridden.
 */
export function orderRecord(o: Pick<OrderRecord, "order_id" | "user_id" | "created_at"> & Partial<OrderRecord>): OrderRecord {
	return {
		cart_id: null,
		status: "pending",
		payment_status: "pending",
		products: [{ product_id: "p-old", size: "M", name: "Old", quantity: 1, unit_price_cents: 1000, allocations: [] }],
		address: ADDRESS as OrderRecord["address"],
		delivery_mode: "standard",
		delivery_tier: "tier_1",
		subtotal: 1000,
		delivery_cost: 500,
		tax: 100,
		total: 1600,
		currency: "USD",
		estimated_delivery_date: "2026-01-05",
		tracking_number: null,
		customer_email: null,
		event_seq: 1,
		updated_at: o.created_at,
		...o,
	};
}

export interface HistoryRow {
	old_status: string | null;
	new_status: string;
	changed_by: string;
	reason: string | null;
	created_at: string;
}

/** A token for `sub`, with an `email` claim when given. */
export async function tokenWithEmail(sub: string, email?: string): Promise<string> {
	return new SignJWT(email ? { email } : {})
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime("1h")
		.sign(new TextEncoder().encode(env.JWT_SECRET!));
}

/** Fills the user's active cart with `items` and an address, then places it; a 201 returns once its holds are committed. */
export async function orderAgain(auth: string, items: Item[], body: Record<string, unknown> = {}): Promise<Call> {
	for (const item of items) {
		const r = await call("POST", "/cart/items", { auth, body: item });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
	}
	expect((await call("PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
	const r = await call("POST", "/cart/place-order", { auth, body });
	await committedIfPlaced(r);
	return r;
}

/** A new customer who has placed one order (201 asserted). */
export async function customerWithOrder(items: Item[], opts: { email?: string } = {}) {
	const sub = uid("user");
	const auth = await tokenWithEmail(sub, opts.email);
	const r = await orderAgain(auth, items);
	expect(r.status, JSON.stringify(r.body)).toBe(201);
	return { sub, auth, order: r.body as { order_id: string; total: number; currency: string; status: string; payment_status: string } & Record<string, any> };
}

export async function setStatus(orderId: string, status: string, extra: Record<string, unknown> = {}): Promise<Call> {
	return call("POST", `/admin/orders/${orderId}/status`, { auth: await admin(), body: { status, ...extra } });
}

/** Moves an order along the happy path from its current status to `target` through the admin API. */
export async function advance(orderId: string, target: "paid" | "processing" | "shipped" | "delivered", trackingNumber = "TRACK-123"): Promise<void> {
	const path = ["pending", "paid", "processing", "shipped", "delivered"] as const;
	const from = path.indexOf((await orderState(orderId)).status as (typeof path)[number]);
	expect(from, "advance: the order is off the happy path").toBeGreaterThanOrEqual(0);
	for (const s of path.slice(from + 1, path.indexOf(target) + 1)) {
		const r = await setStatus(orderId, s, s === "shipped" ? { tracking_number: trackingNumber } : {});
		expect(r.status, `${s}: ${JSON.stringify(r.body)}`).toBe(200);
	}
}

export async function historyOf(orderId: string): Promise<HistoryRow[]> {
	const { results } = await dbOfOrder(orderId).prepare(
		`SELECT old_status, new_status, changed_by, reason, created_at FROM order_history WHERE order_id = ? ORDER BY position`,
	)
		.bind(orderId)
		.all<HistoryRow>();
	return results;
}

export async function orderState(orderId: string): Promise<{ status: string; payment_status: string; tracking_number: string | null }> {
	const row = await dbOfOrder(orderId).prepare(`SELECT status, payment_status, tracking_number FROM orders WHERE order_id = ?`)
		.bind(orderId)
		.first<{ status: string; payment_status: string; tracking_number: string | null }>();
	if (!row) throw new Error(`no order ${orderId}`);
	return row;
}

/**
 * The history is one chain: it starts with the order's creation (null -> pending),
 * each row's old_status is the previous row's new_status, and it ends at the
 * order's current status.
 */
export function expectHistoryChain(history: HistoryRow[], finalStatus: string): void {
	expect(history.length).toBeGreaterThan(0);
	expect(history[0]).toMatchObject({ old_status: null, new_status: "pending" });
	for (let i = 1; i < history.length; i++) {
		expect(history[i]!.old_status, `history row ${i}: ${JSON.stringify(history)}`).toBe(history[i - 1]!.new_status);
	}
	expect(history[history.length - 1]!.new_status).toBe(finalStatus);
}

/**
 * The stock invariants over every warehouse in D1, settled: storage is shared by
 * the tests of one file and expectInvariants checks every order in D1.
 */
export async function expectSettled(): Promise<void> {
	const all = (await listWarehouses(env.DB, false)).map((w) => w.warehouse_id);
	await expectInvariants(all, { settled: true });
}

/** Collects the Worker's structured log lines (they still reach the console). */
export function captureLogs() {
	const spies = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
	const parsed = (): Array<Record<string, any>> =>
		spies.flatMap((s) =>
			s.mock.calls.flatMap(([line]) => {
				if (typeof line !== "string" || !line.startsWith("{")) return [];
				try {
					return [JSON.parse(line) as Record<string, any>];
				} catch {
					return [];
				}
			}),
		);
	return {
		lines: (tag: string, event?: string) => parsed().filter((l) => l.tag === tag && (event === undefined || l.event === event)),
		stop: () => spies.forEach((s) => s.mockRestore()),
	};
}

// ---- payments ------------------------------------------------------------------------------

export interface WebhookEvent {
	id: string;
	type: "payment.succeeded" | "payment.failed" | "refund.succeeded" | "refund.failed";
	order_id: string;
	amount: number;
	currency: string;
	payment_event_id?: string;
}

export function paymentEvent(order: { order_id: string; total: number; currency: string }, type: WebhookEvent["type"] = "payment.succeeded", over: Partial<WebhookEvent> = {}): WebhookEvent {
	return { id: uid("pay_evt"), type, order_id: order.order_id, amount: order.total, currency: order.currency, ...over };
}

/** The generic provider's verdict on a refund of `order` (its total, by default). */
export function refundEvent(order: { order_id: string; total: number; currency: string }, type: "refund.succeeded" | "refund.failed" = "refund.succeeded", over: Partial<WebhookEvent> = {}): WebhookEvent {
	return paymentEvent(order, type, { id: uid("rf_evt"), ...over });
}

/** The order's refund rows, oldest first. */
export async function refundRows(orderId: string) {
	const { results } = await dbOfOrder(orderId).prepare(
		`SELECT refund_id, payment_event_id, provider, amount, currency, reason, state, tries, provider_refund_id FROM refunds WHERE order_id = ? ORDER BY created_at, refund_id`,
	)
		.bind(orderId)
		.all<{ refund_id: string; payment_event_id: string | null; provider: string; amount: number; currency: string; reason: string; state: string; tries: number; provider_refund_id: string | null }>();
	return results;
}

/**
 * POSTs a webhook. By default signed now with the configured secret; `t` moves
 * the timestamp, `secret` signs with another key, `signature` replaces the header
 * (null: no header).
 */
export async function webhook(event: unknown, opts: { t?: number; secret?: string; signature?: string | null; raw?: string } = {}): Promise<Call> {
	const raw = opts.raw ?? JSON.stringify(event);
	const t = opts.t ?? Math.floor(Date.now() / 1000);
	const headers: Record<string, string> = { "content-type": "application/json" };
	const signature = opts.signature === undefined ? await signPayload(raw, opts.secret ?? env.PAYMENT_WEBHOOK_SECRET!, t) : opts.signature;
	if (signature !== null) headers["payment-signature"] = signature;
	return call("POST", "/payments/webhook", { raw, headers });
}

// ---- events --------------------------------------------------------------------------------

export interface EventRecorder {
	/** Every event handed to the queue so far (gateway and Warehouse objects). */
	all(): StockgateEvent[];
	forOrder(orderId: string): StockgateEvent[];
	/** Every sendBatch/send call so far, as the list of events it carried. */
	sends(): StockgateEvent[][];
}

let recorder: EventRecorder | undefined;

/**
 * Records what is sent to the `order-events` producer. The gateway and the
 * Warehouse objects share the producer binding object in the test runtime, so
 * one spy on its sendBatch/send sees both; the messages still reach the queue.
 */
export function recordEvents(): EventRecorder {
	if (recorder) return recorder;
	const queue = env.EVENTS;
	if (!queue) throw new Error("the EVENTS queue binding is not configured");
	const batch = vi.spyOn(queue, "sendBatch");
	const single = vi.spyOn(queue, "send");
	const all = (): StockgateEvent[] => [
		...batch.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as StockgateEvent)),
		...single.mock.calls.map(([body]) => body as StockgateEvent),
	];
	recorder = {
		all,
		sends: () => [
			...batch.mock.calls.map(([messages]) => [...messages].map((m) => m.body as StockgateEvent)),
			...single.mock.calls.map(([body]) => [body as StockgateEvent]),
		],
		forOrder: (orderId) => all().filter((e) => "order_id" in e && e.order_id === orderId),
	};
	return recorder;
}

/**
 * The ids of the events of `orderId` still in the gateway's event outbox (not
 * yet handed to the queue), in send order: its rows, and its "placed" event
 * while the order row says that one is pending.
 */
export async function eventOutboxOf(orderId: string): Promise<string[]> {
	const { results } = await dbOfOrder(orderId)
		.prepare(
			`SELECT event_id, sequence, created_at FROM event_outbox WHERE order_id = ?1
			 UNION ALL SELECT NULL, 1, created_at FROM orders WHERE order_id = ?1 AND announce_pending = 1
			 ORDER BY sequence, created_at, event_id`,
		)
		.bind(orderId)
		.all<{ event_id: string | null }>();
	return results.map((r) => r.event_id ?? placedEventId(orderId));
}

/** Waits until the gateway's event outbox holds nothing for `orderId` (everything of it was handed to the queue). */
export async function eventsFlushed(orderId: string): Promise<void> {
	await eventually(async () => expect(await eventOutboxOf(orderId)).toEqual([]));
}
