/**
 * What a verified Stripe event means here, pure: a payment outcome for the
 * order in the PaymentIntent's metadata.order_id, a refund's verdict, or
 * nothing. Amounts stay in minor units. A refund is confirmed by its status
 * `succeeded` (charge.refund.updated, or the refunds listed on charge.refunded);
 * a charge.refunded without its refunds listed confirms only a full refund,
 * which is what stockgate asks for.
 */
import { StripeCharge, StripeEvent, StripePaymentIntent, StripeRefund } from "./schema";

export type StripeIntent =
	| { kind: "payment"; type: "payment.succeeded" | "payment.failed"; event_id: string; order_id: string; amount: number; currency: string; payment_intent: string }
	| {
			kind: "refund";
			verdict: "succeeded" | "failed" | "pending";
			event_id: string;
			payment_intent: string | null;
			/** stockgate's refund id, from the refund's metadata (set by refunds.create). */
			refund_id: string | null;
			/** Its order, from the same metadata: names the order shard that holds the refund. */
			order_id: string | null;
			provider_refund_id: string | null;
			/** What was refunded, minor units; null when the event does not say for this refund alone. */
			amount: number | null;
			currency: string;
	  }
	| { kind: "ignored"; event_id: string; why: string };

export type Parsed = { ok: true; intent: StripeIntent } | { ok: false; field: string; message: string };

function verdictOf(status: string | null | undefined): "succeeded" | "failed" | "pending" {
	if (status === "succeeded") return "succeeded";
	if (status === "failed" || status === "canceled") return "failed";
	return "pending";
}

function refundIntent(eventId: string, r: StripeRefund): StripeIntent {
	return {
		kind: "refund",
		verdict: verdictOf(r.status),
		event_id: eventId,
		payment_intent: r.payment_intent ?? null,
		refund_id: r.metadata?.refund_id ?? null,
		order_id: r.metadata?.order_id ?? null,
		provider_refund_id: r.id,
		amount: r.amount,
		currency: r.currency.toUpperCase(),
	};
}

function bad(field: string, message: string): Parsed {
	return { ok: false, field, message };
}

export function readStripeEvent(raw: unknown): Parsed {
	const envelope = StripeEvent.safeParse(raw);
	if (!envelope.success) return bad("data", "not a Stripe event");
	const { id, type, data } = envelope.data;
	switch (type) {
		case "payment_intent.succeeded":
		case "payment_intent.payment_failed": {
			const pi = StripePaymentIntent.safeParse(data.object);
			if (!pi.success) return bad("data.object", "not a PaymentIntent");
			const orderId = pi.data.metadata?.order_id;
			if (!orderId) return { ok: true, intent: { kind: "ignored", event_id: id, why: "no metadata.order_id on the PaymentIntent" } };
			const succeeded = type === "payment_intent.succeeded";
			return {
				ok: true,
				intent: {
					kind: "payment",
					type: succeeded ? "payment.succeeded" : "payment.failed",
					event_id: id,
					order_id: orderId,
					amount: succeeded ? (pi.data.amount_received ?? pi.data.amount) : pi.data.amount,
					currency: pi.data.currency.toUpperCase(),
					payment_intent: pi.data.id,
				},
			};
		}
		case "charge.refund.updated": {
			const refund = StripeRefund.safeParse(data.object);
			if (!refund.success) return bad("data.object", "not a Refund");
			return { ok: true, intent: refundIntent(id, refund.data) };
		}
		case "charge.refunded": {
			const charge = StripeCharge.safeParse(data.object);
			if (!charge.success) return bad("data.object", "not a Charge");
			const listed = charge.data.refunds?.data ?? [];
			const ours = listed.find((r) => r.metadata?.refund_id);
			if (ours) return { ok: true, intent: refundIntent(id, ours) };
			if (!charge.data.refunded) return { ok: true, intent: { kind: "ignored", event_id: id, why: "a partial refund, not one stockgate asked for" } };
			return {
				ok: true,
				intent: {
					kind: "refund",
					verdict: "succeeded",
					event_id: id,
					payment_intent: charge.data.payment_intent ?? null,
					refund_id: null,
					order_id: null,
					provider_refund_id: null,
					amount: charge.data.amount_refunded,
					currency: charge.data.currency.toUpperCase(),
				},
			};
		}
		default:
			return { ok: true, intent: { kind: "ignored", event_id: id, why: `event type ${type} is not used` } };
	}
}
