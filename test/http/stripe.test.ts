/**
 * Stripe end to end against the fake Stripe API of test/stripe/fake-stripe.mts
 * (127.0.0.1): the Worker runs with STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and
 * STRIPE_API_BASE set, Stripe's events are signed with the `stripe` package's
 * own generateTestHeaderStringAsync, and refunds are issued by the real
 * `stripe` client against the fake, which records each request's Idempotency-Key.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { reconcile } from "../../src/ops/reconcile";
import { admin, call, uid, type Call } from "../helpers/http";
import { customerWithOrder, historyOf, orderState, refundRows, setStatus, type Item } from "../helpers/orders";
import { makeShop, type Shop } from "../helpers/shop";
import { dbOfOrder } from "../helpers/shards";

const fake = inject("fakeStripe");
const WEBHOOK_SECRET = `whsec_test_${crypto.randomUUID().replaceAll("-", "")}`;
const stripeEnv = { ...env, STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: fake.base } as Env;
// Only its webhook helpers are used: it signs test events the way Stripe does.
const signer = new Stripe("sk_test_signer_only", { httpClient: Stripe.createFetchHttpClient() });
const subtle = Stripe.createSubtleCryptoProvider();

type Step = "succeeded" | "pending" | "failed" | "error_before" | "error_after" | "drop";
interface FakeLog {
	requests: Array<{ idempotency_key: string | null; params: Record<string, string>; status: number; replayed: boolean }>;
	refunds: Array<{ id: string; amount: number; currency: string; payment_intent: string; status: string; reason: string | null; metadata: Record<string, string> }>;
}

let shop: Shop;
let items: Item[];

beforeAll(async () => {
	shop = await makeShop({ price: 12.99, warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
	items = [{ product_id: shop.products[0]!, size: "M", quantity: 2 }];
});

/** Calls the Worker with `e` (Stripe configured by default), and waits for what it left running. */
async function callWith(e: Env, method: string, path: string, opts: { body?: unknown; auth?: string; headers?: Record<string, string>; raw?: string } = {}): Promise<Call> {
	const headers = new Headers(opts.headers);
	if (opts.auth) headers.set("authorization", `Bearer ${opts.auth}`);
	let body = opts.raw;
	if (opts.body !== undefined) {
		body = JSON.stringify(opts.body);
		headers.set("content-type", "application/json");
	}
	const ctx = createExecutionContext();
	const res = await worker.fetch(new Request(`https://stockgate.test${path}`, { method, headers, body }), e, ctx);
	await waitOnExecutionContext(ctx);
	const text = await res.text();
	return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A PaymentIntent at the fake that took the order's total, answering refunds by `script`. */
async function paymentIntent(order: { order_id: string; total: number }, script: Step[] = ["succeeded"]) {
	const pi = { id: uid("pi"), object: "payment_intent", amount: Math.round(order.total * 100), amount_received: Math.round(order.total * 100), currency: "usd", status: "succeeded", metadata: { order_id: order.order_id } };
	const r = await fetch(`${fake.base}/_control/intents/${pi.id}`, { method: "PUT", body: JSON.stringify({ amount: pi.amount, currency: "usd", script }) });
	expect(r.status).toBe(204);
	return pi;
}

async function fakeLog(pi: string): Promise<FakeLog> {
	return (await (await fetch(`${fake.base}/_control/intents/${pi}`)).json()) as FakeLog;
}

/** A Stripe event around `object`, signed by the stripe package (at `t`, with `secret`). */
async function stripeEvent(type: string, object: unknown, opts: { id?: string; t?: number; secret?: string } = {}) {
	const raw = JSON.stringify({ id: opts.id ?? uid("evt"), object: "event", api_version: "2025-01-01", created: Math.floor(Date.now() / 1000), type, livemode: false, data: { object } });
	const header = await signer.webhooks.generateTestHeaderStringAsync({ payload: raw, secret: opts.secret ?? WEBHOOK_SECRET, timestamp: opts.t ?? Math.floor(Date.now() / 1000), cryptoProvider: subtle });
	return { raw, header };
}

async function postStripe(evt: { raw: string; header: string | null }, e: Env = stripeEnv): Promise<Call> {
	const headers: Record<string, string> = { "content-type": "application/json" };
	if (evt.header !== null) headers["stripe-signature"] = evt.header;
	return callWith(e, "POST", "/payments/stripe", { raw: evt.raw, headers });
}

async function paidWithStripe(script: Step[] = ["succeeded"]) {
	const c = await customerWithOrder(items);
	const pi = await paymentIntent(c.order, script);
	const paid = await postStripe(await stripeEvent("payment_intent.succeeded", pi));
	expect(paid.status, JSON.stringify(paid.body)).toBe(200);
	expect(paid.body).toMatchObject({ duplicate: false, status: "paid", payment_status: "paid" });
	return { ...c, pi };
}

async function cancel(orderId: string) {
	const r = await callWith(stripeEnv, "POST", `/admin/orders/${orderId}/status`, { auth: await admin(), body: { status: "cancelled", reason: "customer asked" } });
	expect(r.status, JSON.stringify(r.body)).toBe(200);
	return r;
}


/** A reconciler run as the cron would make it `ahead` ms from now, with Stripe configured. */
async function reconcileLater(aheadMs = 10 * 60_000) {
	return reconcile(stripeEnv, Date.now() + aheadMs);
}

describe("POST /payments/stripe", () => {
	it("answers 404 unless both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set", async () => {
		const evt = await stripeEvent("payment_intent.succeeded", {});
		const off = await call("POST", "/payments/stripe", { raw: evt.raw, headers: { "content-type": "application/json", "stripe-signature": evt.header } });
		expect(off.status).toBe(404);
		expect(off.body.code).toBe("NOT_FOUND");
		for (const half of [{ STRIPE_SECRET_KEY: fake.secretKey }, { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }]) {
			const r = await postStripe(evt, { ...env, ...half } as Env);
			expect(r.status, JSON.stringify(half)).toBe(404);
		}
	});

	it("payment_intent.succeeded pays the order named in metadata.order_id, once per event id", async () => {
		const c = await customerWithOrder(items);
		const pi = await paymentIntent(c.order);
		const evt = await stripeEvent("payment_intent.succeeded", pi);
		const r = await postStripe(evt);
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body).toEqual({ received: true, duplicate: false, order_id: c.order.order_id, status: "paid", payment_status: "paid" });
		expect((await historyOf(c.order.order_id)).at(-1)).toMatchObject({ old_status: "pending", new_status: "paid", changed_by: "stripe", reason: "payment succeeded" });
		const row = await dbOfOrder(c.order.order_id).prepare(`SELECT provider, provider_ref, amount, currency FROM payment_events WHERE order_id = ?`).bind(c.order.order_id).first();
		expect(row).toEqual({ provider: "stripe", provider_ref: pi.id, amount: pi.amount, currency: "USD" });
		// Stripe retrying the same event (re-signed): nothing changes.
		const replay = await postStripe({ raw: evt.raw, header: await signer.webhooks.generateTestHeaderStringAsync({ payload: evt.raw, secret: WEBHOOK_SECRET, cryptoProvider: subtle }) });
		expect(replay.body).toMatchObject({ duplicate: true, payment_status: "paid" });
		expect(await historyOf(c.order.order_id)).toHaveLength(2);
	});

	it("a bad, missing or stale (over 300 s old) Stripe-Signature is 401 and changes nothing", async () => {
		const c = await customerWithOrder(items);
		const pi = await paymentIntent(c.order);
		const good = await stripeEvent("payment_intent.succeeded", pi);
		const now = Math.floor(Date.now() / 1000);
		const attempts: Array<[string, { raw: string; header: string | null }]> = [
			["another secret", await stripeEvent("payment_intent.succeeded", pi, { secret: "whsec_not_the_secret" })],
			["body changed after signing", { raw: good.raw.replace(`"amount":${pi.amount}`, `"amount":1`), header: good.header }],
			["stale", await stripeEvent("payment_intent.succeeded", pi, { t: now - 301 })],
			["missing", { raw: good.raw, header: null }],
			["garbage", { raw: good.raw, header: "t=1,v1=zz" }],
		];
		for (const [what, evt] of attempts) {
			const r = await postStripe(evt);
			expect(r.status, what).toBe(401);
			expect(r.body.code, what).toBe("UNAUTHORIZED");
		}
		expect(await orderState(c.order.order_id)).toMatchObject({ status: "pending", payment_status: "pending" });
		expect((await postStripe(good)).status).toBe(200);
	});

	it("an amount (minor units) or currency other than the order's is 422 AMOUNT_MISMATCH and changes nothing", async () => {
		const c = await customerWithOrder(items);
		const pi = await paymentIntent(c.order);
		for (const over of [{ amount_received: pi.amount - 1 }, { amount_received: Math.round(c.order.total) }, { currency: "eur" }]) {
			const r = await postStripe(await stripeEvent("payment_intent.succeeded", { ...pi, ...over }));
			expect(r.status, JSON.stringify(over)).toBe(422);
			expect(r.body.code).toBe("AMOUNT_MISMATCH");
		}
		expect(await orderState(c.order.order_id)).toMatchObject({ status: "pending", payment_status: "pending" });
	});

	it("payment_intent.payment_failed records failed; events of other types or without metadata.order_id are answered 200 and change nothing", async () => {
		const c = await customerWithOrder(items);
		const pi = await paymentIntent(c.order);
		const failed = await postStripe(await stripeEvent("payment_intent.payment_failed", { ...pi, amount_received: 0, status: "requires_payment_method" }));
		expect(failed.body).toMatchObject({ status: "pending", payment_status: "failed" });
		const foreign = await postStripe(await stripeEvent("payment_intent.succeeded", { ...pi, metadata: {} }));
		expect(foreign.status).toBe(200);
		expect(foreign.body).toMatchObject({ received: true, ignored: expect.stringContaining("metadata.order_id") });
		const other = await postStripe(await stripeEvent("customer.created", { id: "cus_1" }));
		expect(other.body).toMatchObject({ received: true, ignored: expect.stringContaining("customer.created") });
		expect(await orderState(c.order.order_id)).toMatchObject({ payment_status: "failed" });
	});

	it("a paid order cancelled: refunds.create on its PaymentIntent with a key from the refund's cause; refund_pending until charge.refund.updated says succeeded", async () => {
		const c = await paidWithStripe(["pending"]);
		const id = c.order.order_id;
		const cancelled = await cancel(id);
		expect(cancelled.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		const log = await fakeLog(c.pi.id);
		const payEvent = (await refundRows(id))[0]!.payment_event_id!;
		expect(log.requests).toEqual([
			{
				idempotency_key: `rf_${payEvent}:0:0`,
				params: expect.objectContaining({ payment_intent: c.pi.id, amount: String(c.pi.amount), reason: "requested_by_customer", "metadata[order_id]": id, "metadata[refund_id]": `rf_${payEvent}` }),
				status: 200,
				replayed: false,
			},
		]);
		const [refund] = log.refunds;
		expect(await refundRows(id)).toMatchObject([{ provider: "stripe", state: "submitted", provider_refund_id: refund!.id, reason: "order_cancelled" }]);
		expect((await orderState(id)).payment_status).toBe("refund_pending");
		// Stripe's "still pending" is recorded once; a reconciler run asks nothing more: the refund is with Stripe.
		const pending = await stripeEvent("charge.refund.updated", { ...refund, status: "pending" });
		expect((await postStripe(pending)).body).toMatchObject({ received: true, duplicate: false });
		expect((await postStripe(pending)).body).toMatchObject({ received: true, duplicate: true });
		await reconcileLater();
		expect((await fakeLog(c.pi.id)).requests).toHaveLength(1);
		// Stripe's confirmation.
		const done = await postStripe(await stripeEvent("charge.refund.updated", { ...refund, status: "succeeded" }));
		expect(done.status, JSON.stringify(done.body)).toBe(200);
		expect(done.body).toMatchObject({ status: "cancelled", payment_status: "refunded" });
		expect((await historyOf(id)).at(-1)).toMatchObject({ changed_by: "stripe", reason: "refund succeeded" });
		// charge.refunded for the same refund: a second confirmation, nothing changes.
		const charge = { id: uid("ch"), object: "charge", amount_refunded: c.pi.amount, currency: "usd", refunded: true, payment_intent: c.pi.id };
		const again = await postStripe(await stripeEvent("charge.refunded", charge));
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ payment_status: "refunded" });
		expect((await historyOf(id)).filter((h) => h.reason === "refund succeeded")).toHaveLength(1);
	});

	it("a refund Stripe answers succeeded is confirmed by that answer; a charge.refund.updated with another amount is 422", async () => {
		const c = await paidWithStripe(["succeeded"]);
		const id = c.order.order_id;
		await cancel(id);
		expect(await orderState(id)).toMatchObject({ status: "cancelled", payment_status: "refunded" });
		const [refund] = (await fakeLog(c.pi.id)).refunds;
		const off = await postStripe(await stripeEvent("charge.refund.updated", { ...refund, amount: refund!.amount - 1, status: "failed" }));
		expect(off.status).toBe(422);
		expect(off.body.code).toBe("AMOUNT_MISMATCH");
		expect((await orderState(id)).payment_status).toBe("refunded");
	});

	it("a refund call whose connection drops is retried by the reconciler with the same key: Stripe replays its refund, never a second one", async () => {
		const c = await paidWithStripe(["drop"]);
		const id = c.order.order_id;
		await cancel(id);
		expect(await refundRows(id)).toMatchObject([{ state: "requested" }]);
		expect((await orderState(id)).payment_status).toBe("refund_pending");
		// Two reconciler runs at once: the row's lease lets one of them call.
		await Promise.all([reconcileLater(), reconcileLater()]);
		const log = await fakeLog(c.pi.id);
		expect(log.refunds).toHaveLength(1);
		expect(log.requests.map((r) => [r.idempotency_key, r.replayed])).toEqual([
			[log.requests[0]!.idempotency_key, false],
			[log.requests[0]!.idempotency_key, true],
		]);
		expect(await orderState(id)).toMatchObject({ payment_status: "refunded" });
		await reconcileLater(20 * 60_000);
		expect((await fakeLog(c.pi.id)).requests).toHaveLength(2);
	});

	it("a 500 after Stripe made the refund: the retry finds it by its metadata and makes no second one", async () => {
		const c = await paidWithStripe(["error_after", "succeeded"]);
		const id = c.order.order_id;
		await cancel(id);
		expect(await refundRows(id)).toMatchObject([{ state: "requested" }]);
		await reconcileLater();
		const log = await fakeLog(c.pi.id);
		expect(log.refunds).toHaveLength(1);
		expect(log.requests).toHaveLength(1);
		expect(await orderState(id)).toMatchObject({ payment_status: "refunded" });
		expect(await refundRows(id)).toMatchObject([{ state: "succeeded", provider_refund_id: log.refunds[0]!.id }]);
	});

	it("a 500 before Stripe made anything: the retry asks under the next key and the refund is made once", async () => {
		const c = await paidWithStripe(["error_before", "succeeded"]);
		const id = c.order.order_id;
		await cancel(id);
		// Not due yet.
		await reconcile(stripeEnv, Date.now());
		expect((await fakeLog(c.pi.id)).requests).toHaveLength(1);
		await reconcileLater();
		const log = await fakeLog(c.pi.id);
		const rf = (await refundRows(id))[0]!.refund_id;
		expect(log.requests.map((r) => [r.idempotency_key, r.status])).toEqual([
			[`${rf}:0:0`, 500],
			[`${rf}:0:1`, 200],
		]);
		expect(log.refunds).toHaveLength(1);
		expect(await orderState(id)).toMatchObject({ payment_status: "refunded" });
	});

	it("a refund Stripe reports failed brings the order back to refund_pending; the retry is a new try under a new key", async () => {
		const c = await paidWithStripe(["pending", "succeeded"]);
		const id = c.order.order_id;
		await cancel(id);
		const [first] = (await fakeLog(c.pi.id)).refunds;
		const failed = await postStripe(await stripeEvent("charge.refund.updated", { ...first, status: "failed" }));
		expect(failed.body).toMatchObject({ payment_status: "refund_pending" });
		expect(await refundRows(id)).toMatchObject([{ state: "failed", tries: 1 }]);
		await reconcileLater();
		const log = await fakeLog(c.pi.id);
		const rf = (await refundRows(id))[0]!.refund_id;
		expect(log.requests.map((r) => r.idempotency_key)).toEqual([`${rf}:0:0`, `${rf}:1:0`]);
		expect(log.requests[1]!.params["metadata[try]"]).toBe("1");
		expect(await orderState(id)).toMatchObject({ payment_status: "refunded" });
	});

	it("a second PaymentIntent for a paid order is a double charge: refunded on that PaymentIntent with reason duplicate", async () => {
		const c = await paidWithStripe();
		const id = c.order.order_id;
		const second = await paymentIntent(c.order, ["succeeded"]);
		const r = await postStripe(await stripeEvent("payment_intent.succeeded", second));
		expect(r.body).toMatchObject({ duplicate_charge: true, status: "paid" });
		expect((await fakeLog(c.pi.id)).requests).toEqual([]);
		expect((await fakeLog(second.id)).requests).toMatchObject([{ params: { payment_intent: second.id, reason: "duplicate" } }]);
		expect(await orderState(id)).toMatchObject({ status: "paid", payment_status: "refunded" });
		expect(await refundRows(id)).toMatchObject([{ reason: "double_charge", state: "succeeded" }]);
	});

	it("a payment arriving after the order was cancelled is refunded on its PaymentIntent", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		expect((await setStatus(id, "cancelled")).status).toBe(200);
		const pi = await paymentIntent(c.order, ["pending"]);
		const r = await postStripe(await stripeEvent("payment_intent.succeeded", pi));
		expect(r.body).toMatchObject({ status: "cancelled", payment_status: "refund_pending" });
		expect((await fakeLog(pi.id)).requests).toMatchObject([{ params: { payment_intent: pi.id, "metadata[reason]": "paid_after_cancel" } }]);
		const [refund] = (await fakeLog(pi.id)).refunds;
		const charge = { id: uid("ch"), object: "charge", amount_refunded: pi.amount, currency: "usd", refunded: true, payment_intent: pi.id, refunds: { object: "list", data: [{ ...refund, status: "succeeded" }] } };
		const done = await postStripe(await stripeEvent("charge.refunded", charge));
		expect(done.body).toMatchObject({ payment_status: "refunded" });
	});
});
