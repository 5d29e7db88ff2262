import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../src/payments/refunds";
import { readStripeEvent } from "../../src/payments/stripeEvents";

const pi = { id: "pi_1", object: "payment_intent", amount: 2858, amount_received: 2858, currency: "usd", metadata: { order_id: "ord_1" } };
const refund = { id: "re_1", object: "refund", amount: 2858, currency: "usd", status: "succeeded", payment_intent: "pi_1", metadata: { refund_id: "rf_pay_1" } };
const event = (type: string, object: unknown) => ({ id: "evt_1", object: "event", type, data: { object } });

describe("reading Stripe's events", () => {
	it("a succeeded PaymentIntent is a payment of amount_received (minor units) for metadata.order_id; a failed one of its amount", () => {
		expect(readStripeEvent(event("payment_intent.succeeded", pi))).toEqual({
			ok: true,
			intent: { kind: "payment", type: "payment.succeeded", event_id: "evt_1", order_id: "ord_1", amount: 2858, currency: "USD", payment_intent: "pi_1" },
		});
		expect(readStripeEvent(event("payment_intent.payment_failed", { ...pi, amount_received: 0 }))).toMatchObject({ intent: { type: "payment.failed", amount: 2858 } });
	});

	it("a PaymentIntent without metadata.order_id, and other event types, are ignored with the reason", () => {
		expect(readStripeEvent(event("payment_intent.succeeded", { ...pi, metadata: {} }))).toMatchObject({ ok: true, intent: { kind: "ignored", why: expect.stringContaining("order_id") } });
		expect(readStripeEvent(event("invoice.paid", {}))).toMatchObject({ ok: true, intent: { kind: "ignored", why: expect.stringContaining("invoice.paid") } });
	});

	it("charge.refund.updated gives the refund's verdict: succeeded, failed (failed or canceled), or still pending", () => {
		for (const [status, verdict] of [["succeeded", "succeeded"], ["failed", "failed"], ["canceled", "failed"], ["pending", "pending"], ["requires_action", "pending"]] as const) {
			expect(readStripeEvent(event("charge.refund.updated", { ...refund, status })), status).toMatchObject({
				ok: true,
				intent: { kind: "refund", verdict, refund_id: "rf_pay_1", provider_refund_id: "re_1", payment_intent: "pi_1", amount: 2858, currency: "USD" },
			});
		}
	});

	it("charge.refunded confirms a full refund, uses its listed refund when there is one, and ignores a partial one", () => {
		const charge = { id: "ch_1", object: "charge", amount_refunded: 2858, currency: "usd", refunded: true, payment_intent: "pi_1" };
		expect(readStripeEvent(event("charge.refunded", charge))).toMatchObject({ intent: { kind: "refund", verdict: "succeeded", payment_intent: "pi_1", refund_id: null, amount: 2858 } });
		expect(readStripeEvent(event("charge.refunded", { ...charge, refunds: { data: [{ ...refund, status: "pending" }] } }))).toMatchObject({ intent: { verdict: "pending", refund_id: "rf_pay_1" } });
		expect(readStripeEvent(event("charge.refunded", { ...charge, refunded: false, amount_refunded: 100 }))).toMatchObject({ intent: { kind: "ignored" } });
	});

	it("an object of the wrong shape is refused with the field", () => {
		expect(readStripeEvent(event("payment_intent.succeeded", { id: "pi_1" }))).toEqual({ ok: false, field: "data.object", message: "not a PaymentIntent" });
		expect(readStripeEvent({ type: "x" })).toMatchObject({ ok: false });
	});
});

describe("refund retry delays", () => {
	it("start at a minute, double, and stop at an hour", () => {
		expect([0, 1, 2, 5, 6, 20].map(retryDelayMs)).toEqual([60_000, 120_000, 240_000, 1_920_000, 3_600_000, 3_600_000]);
	});
});
