import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { reconcile } from "../../src/ops/reconcile";
import { cancelUnpaid } from "../../src/ops/unpaid";
import { signPayload } from "../../src/payments/signature";
import { admin, call, uid } from "../helpers/http";
import {
	advance,
	customerWithOrder,
	eventOutboxOf,
	expectHistoryChain,
	expectSettled,
	historyOf,
	orderState,
	paymentEvent,
	recordEvents,
	refundEvent,
	refundRows,
	setStatus,
	webhook,
	type Item,
} from "../helpers/orders";
import { makeShop, onHand, type Shop } from "../helpers/shop";
import { eventually, sleep } from "../helpers/time";
import { dbOfOrder } from "../helpers/shards";

let shop: Shop;
let items: Item[];
const events = recordEvents();

beforeAll(async () => {
	shop = await makeShop({ price: 12.99, warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
	items = [{ product_id: shop.products[0]!, size: "M", quantity: 2 }];
});

/** An inbox at the Node-side receiver (test/webhooks/receiver.mts), registered as an endpoint for `events`. */
async function receiverInbox(events: string[]) {
	const base = inject("webhookReceiver");
	const name = uid("in");
	const r = await call("POST", "/admin/webhooks", { auth: await admin(), body: { url: `${base}/hook/${name}`, events } });
	expect(r.status, JSON.stringify(r.body)).toBe(201);
	expect((await fetch(`${base}/_inbox/${name}`, { method: "PUT", body: JSON.stringify({ secret: r.body.secret }) })).status).toBe(204);
	return {
		ep: r.body as { webhook_id: string; events: string[] },
		received: async (): Promise<Array<{ body: string; verified: boolean; problem: string | null }>> => ((await (await fetch(`${base}/_inbox/${name}`)).json()) as { received: [] }).received,
	};
}

/**
 * Waits until every event the order's changes wrote has been handed to the queue. Its "placed" event is
 * not waited for: it follows the order's commit, which a cancellation inside the commit window takes away.
 */
async function changesPublished(orderId: string): Promise<void> {
	await eventually(async () => expect((await eventOutboxOf(orderId)).filter((id) => !id.startsWith("evt_placed_"))).toEqual([]));
}

async function paymentRows(orderId: string) {
	return (await dbOfOrder(orderId).prepare(`SELECT event_id, type, amount, currency FROM payment_events WHERE order_id = ?`).bind(orderId).all()).results;
}

/** Everything a rejected webhook must leave alone. */
async function snapshot(orderId: string) {
	return { state: await orderState(orderId), history: await historyOf(orderId), payments: await paymentRows(orderId) };
}

describe("POST /payments/webhook", () => {
	it("payment.succeeded moves pending -> paid and writes a history row", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const evt = paymentEvent(c.order);
		const r = await webhook(evt);
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body).toEqual({ received: true, duplicate: false, order_id: id, status: "paid", payment_status: "paid" });
		expect(await orderState(id)).toMatchObject({ status: "paid", payment_status: "paid" });
		const history = await historyOf(id);
		expect(history.slice(1)).toEqual([{ old_status: "pending", new_status: "paid", changed_by: "payment-webhook", reason: "payment succeeded", created_at: expect.any(String) }]);
		expect(await paymentRows(id)).toEqual([{ event_id: evt.id, type: "payment.succeeded", amount: Math.round(c.order.total * 100), currency: "USD" }]);
		const shown = await call("GET", `/orders/${id}`, { auth: c.auth });
		expect(shown.body).toMatchObject({ status: "paid", payment_status: "paid" });
	});

	it("accepts the currency in any letter case", async () => {
		const c = await customerWithOrder(items);
		const r = await webhook(paymentEvent(c.order, "payment.succeeded", { currency: "usd" }));
		expect(r.status).toBe(200);
		expect(r.body.payment_status).toBe("paid");
	});

	it("a replayed event id answers 200 with duplicate: true and changes nothing", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const evt = paymentEvent(c.order);
		expect((await webhook(evt)).status).toBe(200);
		await advance(id, "processing"); // the order moves on; a replay must not touch it
		const before = await snapshot(id);
		// The order's "placed" event may still be on its way (it follows the commit): only what a payment causes is counted.
		const caused = () => events.forOrder(id).filter((e) => !(e.type === "order.status_changed" && e.old_status === null)).length;
		const eventsBefore = caused();
		for (let i = 0; i < 2; i++) {
			const replay = await webhook(evt); // freshly signed: same event id
			expect(replay.status).toBe(200);
			expect(replay.body).toEqual({ received: true, duplicate: true, order_id: id, status: "processing", payment_status: "paid" });
		}
		expect(await snapshot(id)).toEqual(before);
		expect(caused()).toBe(eventsBefore);
	});

	it("the same event delivered twice at once is processed once", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const evt = paymentEvent(c.order);
		const [a, b] = await Promise.all([webhook(evt), webhook(evt)]);
		expect([a.status, b.status]).toEqual([200, 200]);
		expect([a.body.duplicate, b.body.duplicate].sort()).toEqual([false, true]);
		for (const r of [a, b]) expect(r.body).toMatchObject({ status: "paid", payment_status: "paid" });
		expect((await historyOf(id)).filter((h) => h.new_status === "paid")).toHaveLength(1);
		expect(await paymentRows(id)).toHaveLength(1);
	});

	it("a bad signature is 401 and changes nothing", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const evt = paymentEvent(c.order);
		const before = await snapshot(id);
		const now = Math.floor(Date.now() / 1000);
		const attempts: Array<[string, Parameters<typeof webhook>[1]]> = [
			["another secret", { secret: "not-the-secret" }],
			// Signed for this body, sent with the amount changed after signing.
			["changed body", { raw: JSON.stringify({ ...evt, amount: 0.01 }), signature: await signPayload(JSON.stringify(evt), env.PAYMENT_WEBHOOK_SECRET!, now) }],
			["changed timestamp", { signature: (await signPayload(JSON.stringify(evt), env.PAYMENT_WEBHOOK_SECRET!, now)).replace(`t=${now}`, `t=${now - 1}`) }],
			["garbage", { signature: "garbage" }],
			["no v1", { signature: `t=${now}` }],
			["no t", { signature: `v1=${"0".repeat(64)}` }],
			["zero mac", { signature: `t=${now},v1=${"0".repeat(64)}` }],
		];
		for (const [what, opts] of attempts) {
			const r = await webhook(evt, opts);
			expect(r.status, what).toBe(401);
			expect(r.body.code, what).toBe("UNAUTHORIZED");
			expect(typeof r.body.error).toBe("string");
		}
		expect(await snapshot(id)).toEqual(before);
		// The same event, correctly signed, is then processed (it was not recorded as seen).
		const good = await webhook(evt);
		expect(good.status).toBe(200);
		expect(good.body.duplicate).toBe(false);
	});

	it("a missing Payment-Signature header is 401", async () => {
		const c = await customerWithOrder(items);
		const before = await snapshot(c.order.order_id);
		const r = await webhook(paymentEvent(c.order), { signature: null });
		expect(r.status).toBe(401);
		expect(r.body.code).toBe("UNAUTHORIZED");
		expect(await snapshot(c.order.order_id)).toEqual(before);
	});

	it("a stale signature (t more than 300 s away) is 401, even when the HMAC is right", async () => {
		const c = await customerWithOrder(items);
		const before = await snapshot(c.order.order_id);
		const now = Math.floor(Date.now() / 1000);
		// Future: a little beyond 301, so a slow machine's delay between signing and checking cannot bring it back within 300 s.
		for (const t of [now - 301, now - 3600, now + 330]) {
			const r = await webhook(paymentEvent(c.order), { t });
			expect(r.status, String(t - now)).toBe(401);
			expect(r.body.code).toBe("UNAUTHORIZED");
		}
		expect(await snapshot(c.order.order_id)).toEqual(before);
		// Within the tolerance it is accepted.
		expect((await webhook(paymentEvent(c.order), { t: now - 240 })).status).toBe(200);
	});

	it("an amount that differs from the order is 422 AMOUNT_MISMATCH and changes nothing", async () => {
		const c = await customerWithOrder(items);
		const before = await snapshot(c.order.order_id);
		for (const amount of [c.order.total - 0.01, c.order.total + 0.01, 0, c.order.subtotal]) {
			const r = await webhook(paymentEvent(c.order, "payment.succeeded", { amount }));
			expect(r.status, String(amount)).toBe(422);
			expect(r.body.code).toBe("AMOUNT_MISMATCH");
			expect(typeof r.body.error).toBe("string");
		}
		expect(await snapshot(c.order.order_id)).toEqual(before);
	});

	it("a currency that differs from the order is 422 AMOUNT_MISMATCH", async () => {
		const c = await customerWithOrder(items);
		const before = await snapshot(c.order.order_id);
		const r = await webhook(paymentEvent(c.order, "payment.succeeded", { currency: "EUR" }));
		expect(r.status).toBe(422);
		expect(r.body.code).toBe("AMOUNT_MISMATCH");
		const failed = await webhook(paymentEvent(c.order, "payment.failed", { currency: "GBP" }));
		expect(failed.status).toBe(422);
		expect(await snapshot(c.order.order_id)).toEqual(before);
	});

	it("an unknown order is 404 NOT_FOUND", async () => {
		const r = await webhook({ id: "pay_evt_unknown", type: "payment.succeeded", order_id: "ord_doesnotexist", amount: 10, currency: "USD" });
		expect(r.status).toBe(404);
		expect(r.body.code).toBe("NOT_FOUND");
	});

	it("a correctly signed but invalid body is 400 VALIDATION_ERROR", async () => {
		const c = await customerWithOrder(items);
		for (const body of [{ ...paymentEvent(c.order), type: "payment.refunded" }, { ...paymentEvent(c.order), amount: 1.234 }, { type: "payment.succeeded" }]) {
			const r = await webhook(body);
			expect(r.status, JSON.stringify(body)).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
		expect((await orderState(c.order.order_id)).payment_status).toBe("pending");
	});

	it("payment.failed records payment_status failed (status stays pending); a later success pays the order", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const failed = await webhook(paymentEvent(c.order, "payment.failed"));
		expect(failed.status).toBe(200);
		expect(failed.body).toMatchObject({ duplicate: false, status: "pending", payment_status: "failed" });
		expect(await orderState(id)).toMatchObject({ status: "pending", payment_status: "failed" });
		expect((await historyOf(id)).at(-1)).toMatchObject({ old_status: "pending", new_status: "pending", changed_by: "payment-webhook", reason: "payment failed" });
		// A second failure for a failed payment is refused; nothing changes.
		const again = await webhook(paymentEvent(c.order, "payment.failed"));
		expect(again.status).toBe(409);
		expect(again.body.code).toBe("INVALID_TRANSITION");
		const ok = await webhook(paymentEvent(c.order));
		expect(ok.status).toBe(200);
		expect(ok.body).toMatchObject({ status: "paid", payment_status: "paid" });
		expectHistoryChain(await historyOf(id), "paid");
	});

	it("a second, different successful payment for a paid order is a double charge: recorded, refund_pending with one refund requested, fulfilment unchanged", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const first = paymentEvent(c.order);
		expect((await webhook(first)).status).toBe(200);
		const historyBefore = await historyOf(id);
		const extra = paymentEvent(c.order);
		const second = await webhook(extra);
		expect(second.status).toBe(200);
		expect(second.body).toMatchObject({ duplicate: false, duplicate_charge: true, status: "paid", payment_status: "refund_pending" });
		expect(await paymentRows(id)).toHaveLength(2);
		expect(await historyOf(id)).toEqual([
			...historyBefore,
			{ old_status: "paid", new_status: "paid", changed_by: "payment-webhook", reason: "double charge", created_at: expect.any(String) },
		]);
		expect(await refundRows(id)).toEqual([
			{ refund_id: `rf_${extra.id}`, payment_event_id: extra.id, provider: "generic", amount: Math.round(c.order.total * 100), currency: "USD", reason: "double_charge", state: "requested", tries: 0, provider_refund_id: null },
		]);
		await changesPublished(id);
		const refunds = events.forOrder(id).filter((e) => e.type === "payment.refund_requested");
		expect(refunds).toEqual([
			{ event_id: `evt_refund_${extra.id}`, type: "payment.refund_requested", occurred_at: expect.any(String), order_id: id, payment_event_id: extra.id, amount: c.order.total, currency: "USD", reason: "double_charge" },
		]);
		// The provider retrying that same event changes nothing and asks for no second refund.
		const replay = await webhook(extra);
		expect(replay.body).toMatchObject({ duplicate: true });
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toHaveLength(1);
		// The provider confirms the refund of the extra charge: refunded.
		const done = await webhook(refundEvent(c.order, "refund.succeeded", { payment_event_id: extra.id }));
		expect(done.status, JSON.stringify(done.body)).toBe(200);
		expect(done.body).toMatchObject({ duplicate: false, status: "paid", payment_status: "refunded" });
		expect((await refundRows(id))[0]!.state).toBe("succeeded");
	});

	it("20 different successful payments arriving at once (20 rounds): all 200, one pays, each other is a double charge refunded exactly once", { timeout: 180_000 }, async () => {
		for (let round = 0; round < 20; round++) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			const sent = Array.from({ length: 20 }, () => paymentEvent(c.order));
			const answers = await Promise.all(sent.map((e) => webhook(e)));
			for (const r of answers) {
				expect(r.status, `round ${round}: ${JSON.stringify(r.body)}`).toBe(200);
				expect(r.body).toMatchObject({ received: true, duplicate: false, order_id: id, status: "paid" });
				expect(r.body.payment_status).toBe(r.body.duplicate_charge ? "refund_pending" : "paid");
			}
			const payers = sent.filter((_, i) => answers[i]!.body.duplicate_charge !== true);
			const doubles = sent.filter((_, i) => answers[i]!.body.duplicate_charge === true);
			expect(payers, `round ${round}`).toHaveLength(1);
			expect(doubles).toHaveLength(19);
			// One history row pays the order, one per double charge; every event is recorded.
			const history = await historyOf(id);
			expectHistoryChain(history, "paid");
			expect(history.filter((h) => h.old_status === "pending" && h.new_status === "paid")).toHaveLength(1);
			expect(history.filter((h) => h.reason === "double charge")).toHaveLength(19);
			expect((await orderState(id)).payment_status).toBe("refund_pending");
			expect((await refundRows(id)).map((r) => r.payment_event_id).sort()).toEqual(doubles.map((e) => e.id).sort());
			expect((await paymentRows(id)).map((r) => r.event_id).sort()).toEqual(sent.map((e) => e.id).sort());
			// Exactly one refund request per double charge, none for the payment that paid.
			await changesPublished(id);
			const refunds = events.forOrder(id).filter((e) => e.type === "payment.refund_requested");
			expect(refunds.map((e) => e.event_id).sort()).toEqual(doubles.map((e) => `evt_refund_${e.id}`).sort());
		}
	});

	it("paid then cancelled: refund_pending and one refund request for the paying charge; refunded only once the provider confirms it", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const pay = paymentEvent(c.order);
		expect((await webhook(pay)).status).toBe(200);
		const cancel = await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} });
		expect(cancel.status).toBe(200);
		expect(cancel.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		expect((await call("GET", `/orders/${id}`, { auth: c.auth })).body.payment_status).toBe("refund_pending");
		await changesPublished(id);
		const refunds = events.forOrder(id).filter((e) => e.type === "payment.refund_requested");
		expect(refunds).toEqual([
			{ event_id: `evt_refund_${pay.id}`, type: "payment.refund_requested", occurred_at: expect.any(String), order_id: id, payment_event_id: pay.id, amount: c.order.total, currency: "USD", reason: "order_cancelled" },
		]);
		// Cancelling again neither refunds again nor changes anything.
		expect((await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} })).status).toBe(200);
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toHaveLength(1);
		// The provider's confirmation: refunded, with its history row.
		const confirmation = refundEvent(c.order);
		const done = await webhook(confirmation);
		expect(done.status, JSON.stringify(done.body)).toBe(200);
		expect(done.body).toEqual({ received: true, duplicate: false, order_id: id, status: "cancelled", payment_status: "refunded" });
		expect((await historyOf(id)).at(-1)).toMatchObject({ old_status: "cancelled", new_status: "cancelled", changed_by: "payment-webhook", reason: "refund succeeded" });
		expect((await call("GET", `/orders/${id}`, { auth: c.auth })).body.payment_status).toBe("refunded");
		// Processed once per event id.
		expect((await webhook(confirmation)).body).toMatchObject({ duplicate: true, payment_status: "refunded" });
		await expectSettled();
	});

	it("refund.failed brings the order back to refund_pending and the reconciler asks again with a new refund request", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const pay = paymentEvent(c.order);
		expect((await webhook(pay)).status).toBe(200);
		expect((await setStatus(id, "cancelled")).status).toBe(200);
		const failed = await webhook(refundEvent(c.order, "refund.failed"));
		expect(failed.status, JSON.stringify(failed.body)).toBe(200);
		expect(failed.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		expect(await refundRows(id)).toMatchObject([{ state: "failed", tries: 1 }]);
		// Not due yet: nothing is asked again.
		await reconcile(env, Date.now());
		expect(await refundRows(id)).toMatchObject([{ state: "failed", tries: 1 }]);
		// Due: asked again under the next try's event id, with the same charge.
		await reconcile(env, Date.now() + 10 * 60_000);
		expect(await refundRows(id)).toMatchObject([{ state: "requested", tries: 1 }]);
		await changesPublished(id);
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested").map((e) => e.event_id)).toEqual([`evt_refund_${pay.id}`, `evt_refund_${pay.id}_1`]);
		const done = await webhook(refundEvent(c.order));
		expect(done.body).toMatchObject({ payment_status: "refunded" });
		// A failure reported after the confirmation reopens it.
		const late = await webhook(refundEvent(c.order, "refund.failed"));
		expect(late.body).toMatchObject({ payment_status: "refund_pending" });
		const history = await historyOf(id);
		expect(history.filter((h) => h.reason?.startsWith("refund"))).toMatchObject([{ reason: "refund succeeded" }, { reason: "refund failed" }]);
	});

	it("a refund verdict with nothing requested is 409 INVALID_TRANSITION, with another amount 422 AMOUNT_MISMATCH; neither changes anything", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		expect((await webhook(paymentEvent(c.order))).status).toBe(200);
		const nothing = await webhook(refundEvent(c.order));
		expect(nothing.status).toBe(409);
		expect(nothing.body.code).toBe("INVALID_TRANSITION");
		expect((await setStatus(id, "cancelled")).status).toBe(200);
		const before = await snapshot(id);
		for (const over of [{ amount: c.order.total - 0.01 }, { currency: "EUR" }]) {
			const r = await webhook(refundEvent(c.order, "refund.succeeded", over));
			expect(r.status, JSON.stringify(over)).toBe(422);
			expect(r.body.code).toBe("AMOUNT_MISMATCH");
		}
		const unknown = await webhook(refundEvent(c.order, "refund.succeeded", { payment_event_id: "pay_evt_not_refunded" }));
		expect(unknown.status).toBe(409);
		expect(await snapshot(id)).toEqual(before);
		expect((await orderState(id)).payment_status).toBe("refund_pending");
	});

	it("late payments on orders the payment window cancelled are refund_pending, each with a signed payment.refund_requested delivered to a subscribed endpoint", async () => {
		const { ep, received } = await receiverInbox(["payment.refund_requested"]);
		const orders = [];
		for (let i = 0; i < 10; i++) orders.push((await customerWithOrder(items)).order);
		const ids = new Set(orders.map((o) => o.order_id));
		// Well past the payment window: the reconciler's window step cancels them.
		await cancelUnpaid(env, Date.now() + 2 * 3_600_000, 1_800_000);
		for (const o of orders) expect(await orderState(o.order_id)).toMatchObject({ status: "cancelled", payment_status: "pending" });
		const late = orders.map((o) => paymentEvent(o));
		for (const [i, o] of orders.entries()) {
			const r = await webhook(late[i]);
			expect(r.status).toBe(200);
			expect(r.body).toMatchObject({ order_id: o.order_id, status: "cancelled", payment_status: "refund_pending" });
			expect(await refundRows(o.order_id)).toMatchObject([{ payment_event_id: late[i]!.id, reason: "paid_after_cancel", state: "requested" }]);
		}
		const mine = async () => (await received()).map((r) => ({ ...r, json: JSON.parse(r.body) })).filter((r) => ids.has(r.json.data.order_id));
		await vi.waitFor(async () => expect(await mine()).toHaveLength(10), { timeout: 20_000, interval: 100 });
		for (const r of await mine()) {
			expect(r.verified, r.problem ?? "").toBe(true);
			const o = orders.find((x) => x.order_id === r.json.data.order_id)!;
			expect(r.json).toEqual({
				id: expect.stringMatching(/^evt_refund_/),
				type: "payment.refund_requested",
				occurred_at: expect.any(String),
				data: { order_id: o.order_id, payment_event_id: late[orders.indexOf(o)]!.id, amount: o.total, currency: "USD", reason: "paid_after_cancel" },
			});
		}
		expect(ep.events).toEqual(["payment.refund_requested"]);
		// Nothing is shown refunded until the provider says so.
		for (const o of orders) expect((await orderState(o.order_id)).payment_status).toBe("refund_pending");
	});

	it("an unpaid order cancelled gets no refund event and keeps payment_status pending", async () => {
		const c = await customerWithOrder(items);
		const cancel = await call("POST", `/orders/${c.order.order_id}/cancel`, { auth: c.auth, body: {} });
		expect(cancel.body).toMatchObject({ status: "cancelled", payment_status: "pending" });
		await changesPublished(c.order.order_id);
		expect(events.forOrder(c.order.order_id).filter((e) => e.type === "payment.refund_requested")).toEqual([]);
	});

	it("money arriving for an already cancelled order is refund_pending with a refund requested straight away", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		expect((await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} })).status).toBe(200);
		const r = await webhook(paymentEvent(c.order));
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		await changesPublished(id);
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toMatchObject([{ reason: "paid_after_cancel" }]);
		expectHistoryChain(await historyOf(id), "cancelled");
	});

	it("admin cancel racing payment.succeeded: exactly one wins first, history is one chain, money refunded once, stock restored once", async () => {
		const [w] = shop.warehouses as [string];
		// Both start together, or the webhook gets a head start of a few milliseconds, so both interleavings
		// (cancel first, payment first) get exercised; the assertions hold for either winner.
		for (const headStartMs of [0, 0, 0, 5, 15, 30]) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			// Committed first (after the answer, in the default mode), so the cancel restocks what the order took.
			await vi.waitFor(async () => expect((await onHand(w, shop.products[0]!, "M")).reserved).toBe(0), { timeout: 5_000, interval: 20 });
			const before = await onHand(w, shop.products[0]!, "M");
			const evt = paymentEvent(c.order);
			const paying = webhook(evt);
			if (headStartMs > 0) await sleep(headStartMs);
			const [cancel, pay] = await Promise.all([setStatus(id, "cancelled", { reason: "race" }), paying]);
			expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
			expect(pay.status, JSON.stringify(pay.body)).toBe(200);

			const history = await historyOf(id);
			expectHistoryChain(history, "cancelled");
			expect(history).toHaveLength(3);
			// Who won first decides the middle row: pending -> paid (payment first) or pending -> cancelled (cancel first).
			const first = history[1]!;
			if (first.new_status === "paid") {
				expect(first.changed_by).toBe("payment-webhook");
				expect(history[2]).toMatchObject({ old_status: "paid", new_status: "cancelled", changed_by: "admin-1" });
			} else {
				expect(first).toMatchObject({ old_status: "pending", new_status: "cancelled", changed_by: "admin-1" });
				expect(history[2]).toMatchObject({ old_status: "cancelled", new_status: "cancelled", changed_by: "payment-webhook" });
			}
			expect(await orderState(id)).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
			expect(await paymentRows(id)).toHaveLength(1);
			expect(await refundRows(id)).toHaveLength(1);
			await changesPublished(id);
			expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toHaveLength(1);
			expect(events.forOrder(id).filter((e) => e.type === "order.status_changed" && e.new_status === "cancelled")).toHaveLength(1);
			expect(await onHand(w, shop.products[0]!, "M")).toEqual({ on_hand: before.on_hand + 2, reserved: 0 });
		}
		await expectSettled();
	});

	it("payment.succeeded racing a customer cancel on a fresh order ends consistently", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		const [cancel, pay] = await Promise.all([call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} }), webhook(paymentEvent(c.order))]);
		expect(cancel.status).toBe(200);
		expect(pay.status).toBe(200);
		expectHistoryChain(await historyOf(id), "cancelled");
		expect(await orderState(id)).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		expect(await refundRows(id)).toHaveLength(1);
		await expectSettled();
	});
});
