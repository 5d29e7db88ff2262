/**
 * The payment providers' webhooks. Signature first (401 when bad or stale),
 * then the body; what each event does is in ./process.ts.
 *  - POST /payments/webhook: the generic provider, signed with PAYMENT_WEBHOOK_SECRET
 *    (./signature.ts): payments, and its verdicts on the refunds stockgate asked
 *    for with payment.refund_requested.
 *  - POST /payments/stripe: Stripe's own events, verified with Stripe's library;
 *    404 unless STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set.
 */
import { fail } from "../http/errors";
import { log } from "../shared/log";
import { reply, route } from "../http/route";
import { validate } from "../http/validate";
import type { Env } from "../env";
import { getOrder } from "../orders/queries";
import { orderDb, orderShards } from "../orders/shards";
import { toCents } from "../shared/money";
import { eventRecordStmt, processPayment, processRefundVerdict, seen } from "./process";
import { getRefund, refundsOfIntent, refundsOfOrder, type RefundRow } from "./refunds";
import { WebhookAnswer, WebhookBody } from "./schema";
import { verifySignature } from "./signature";
import { stripeSettings, verifyStripeEvent } from "./stripe";
import { readStripeEvent, type StripeIntent } from "./stripeEvents";

/** The refund a generic verdict answers: the one named by payment_event_id, else the order's oldest still waiting for this verdict. */
function generic(rows: RefundRow[], body: WebhookBody): RefundRow | undefined {
	const candidates = rows.filter((r) => r.provider === "generic" && (body.payment_event_id === undefined || r.payment_event_id === body.payment_event_id));
	if (body.type === "refund.succeeded") return candidates.find((r) => r.state !== "succeeded") ?? candidates.find((r) => r.state === "succeeded");
	return candidates.find((r) => r.state === "requested" || r.state === "submitted") ?? candidates.find((r) => r.state === "succeeded") ?? candidates.find((r) => r.state === "failed");
}

/**
 * Which of stockgate's refunds a Stripe refund event is about: by our id in its
 * metadata, then Stripe's refund id, then the PaymentIntent. The metadata's
 * order id names the shard to look in; without it (a charge.refunded that does
 * not list the refund), every shard is asked.
 */
async function stripeRefund(env: Env, intent: StripeIntent & { kind: "refund" }): Promise<RefundRow | null> {
	const named = intent.order_id === null ? undefined : orderDb(env, intent.order_id);
	const dbs = named ? [named] : orderShards(env);
	if (intent.refund_id) {
		const id = intent.refund_id;
		const row = (await Promise.all(dbs.map((db) => getRefund(db, id)))).find((r) => r !== null);
		if (row) return row;
	}
	if (!intent.payment_intent) return null;
	const pi = intent.payment_intent;
	const rows = (await Promise.all(dbs.map((db) => refundsOfIntent(db, pi)))).flat();
	return rows.find((r) => intent.provider_refund_id !== null && r.provider_refund_id === intent.provider_refund_id) ?? rows.find((r) => r.state !== "succeeded") ?? rows[0] ?? null;
}

async function handleStripe(env: Env, intent: StripeIntent) {
	if (intent.kind === "ignored") {
		log.info("[payments]", "stripe_event_ignored", { event_id: intent.event_id, why: intent.why });
		return reply({ received: true, duplicate: false, ignored: intent.why });
	}
	if (intent.kind === "payment") {
		const db = orderDb(env, intent.order_id);
		const order = db ? await getOrder(db, intent.order_id) : null;
		if (!order) fail("NOT_FOUND", "Order not found.");
		return processPayment(env, order, { ...intent, provider: "stripe", provider_ref: intent.payment_intent, by: "stripe" });
	}
	const row = await stripeRefund(env, intent);
	if (!row) {
		// A refund made by hand in the dashboard, say: the order is not changed behind the shop's back.
		log.warn("[payments]", "stripe_refund_unknown", { event_id: intent.event_id, payment_intent: intent.payment_intent, stripe_refund: intent.provider_refund_id });
		return reply({ received: true, duplicate: false, ignored: "not a refund stockgate asked for" });
	}
	const e = {
		event_id: intent.event_id,
		type: intent.verdict === "succeeded" ? ("refund.succeeded" as const) : ("refund.failed" as const),
		provider: "stripe" as const,
		provider_ref: intent.payment_intent,
		amount: intent.amount ?? row.amount,
		currency: intent.currency,
		by: "stripe",
	};
	if (intent.verdict === "pending") {
		// Stripe has it and will tell: no call is due any more. The event is recorded, so a retry of it is a duplicate.
		const db = orderDb(env, row.order_id)!;
		if (await seen(db, intent.event_id)) return reply({ received: true, duplicate: true, order_id: row.order_id });
		await db.batch([
			db.prepare(`UPDATE refunds SET state = 'submitted', provider_refund_id = COALESCE(?, provider_refund_id), next_attempt_at = NULL WHERE refund_id = ? AND state = 'requested'`).bind(
				intent.provider_refund_id,
				row.refund_id,
			),
			eventRecordStmt(db, { ...e, type: "refund.pending" }, row.order_id),
		]);
		return reply({ received: true, duplicate: false, order_id: row.order_id });
	}
	return processRefundVerdict(env, row, e, intent.provider_refund_id);
}

export const paymentRoutes = [
	route({
		method: "post",
		path: "/payments/webhook",
		tag: "payments",
		summary: "Payment provider events: payments, and verdicts on requested refunds (signed with PAYMENT_WEBHOOK_SECRET)",
		access: "public",
		body: WebhookBody,
		rawBodyOnly: true,
		headers: { "Payment-Signature": { description: "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">", required: true } },
		responses: { 200: { description: "Processed (or already processed)", schema: WebhookAnswer } },
		errors: ["UNAUTHORIZED", "VALIDATION_ERROR", "NOT_FOUND", "AMOUNT_MISMATCH", "INVALID_TRANSITION"],
		handler: async ({ env, request, rawBody, body: unchecked }) => {
			if (!env.PAYMENT_WEBHOOK_SECRET) fail("UNAUTHORIZED", "Payment webhooks are not configured on this server.");
			const check = await verifySignature(request.headers.get("payment-signature"), rawBody ?? "", env.PAYMENT_WEBHOOK_SECRET, Math.floor(Date.now() / 1000));
			if (!check.ok) {
				log.warn("[payments]", "signature_rejected", { why: check.why });
				fail("UNAUTHORIZED", check.why === "stale" ? "Webhook signature is too old." : "Invalid webhook signature.");
			}
			// The provider adds fields to its events over time: unknown ones are ignored, not refused.
			const body = validate(WebhookBody, unchecked ?? {}, "body");
			// The order id names its shard, where its refunds and payment events are too.
			const db = orderDb(env, body.order_id);
			const order = db ? await getOrder(db, body.order_id) : null;
			if (!db || !order) fail("NOT_FOUND", "Order not found.");
			const e = { event_id: body.id, provider: "generic" as const, provider_ref: null, amount: toCents(body.amount)!, currency: body.currency.toUpperCase(), by: "payment-webhook" };
			if (body.type === "payment.succeeded" || body.type === "payment.failed") return processPayment(env, order, { ...e, type: body.type });
			const row = generic(await refundsOfOrder(db, order.order_id), body);
			if (!row) fail("INVALID_TRANSITION", "No refund of this order awaits this event.");
			return processRefundVerdict(env, row, { ...e, type: body.type }, null);
		},
	}),
	route({
		method: "post",
		path: "/payments/stripe",
		tag: "payments",
		summary: "Stripe's events (payment_intent.succeeded, payment_intent.payment_failed, charge.refunded, charge.refund.updated); 404 unless Stripe is configured",
		access: "public",
		rawBodyOnly: true,
		headers: { "Stripe-Signature": { description: "Stripe's signature header (t=<unix seconds>,v1=<hex HMAC-SHA256>), checked with STRIPE_WEBHOOK_SECRET", required: true } },
		responses: { 200: { description: "Processed, already processed, or ignored (with the reason)", schema: WebhookAnswer } },
		errors: ["UNAUTHORIZED", "VALIDATION_ERROR", "NOT_FOUND", "AMOUNT_MISMATCH", "INVALID_TRANSITION"],
		handler: async ({ env, request, rawBody }) => {
			const settings = stripeSettings(env);
			if (!settings) fail("NOT_FOUND", `No route for ${request.method} /payments/stripe.`);
			const verified = await verifyStripeEvent(settings, rawBody ?? "", request.headers.get("stripe-signature"));
			if (!verified.ok) {
				log.warn("[payments]", "stripe_signature_rejected", { why: verified.why });
				fail("UNAUTHORIZED", "Invalid or stale Stripe-Signature.");
			}
			const parsed = readStripeEvent(verified.event);
			if (!parsed.ok) fail("VALIDATION_ERROR", `Invalid Stripe event: ${parsed.message}.`, [{ field: parsed.field, message: parsed.message }]);
			// A payment's event is recorded in its order's shard; a refund's, once its row is found (./process.ts).
			const intent = parsed.intent;
			const db = intent.kind === "payment" ? orderDb(env, intent.order_id) : undefined;
			if (db && intent.kind === "payment" && (await seen(db, intent.event_id))) {
				const order = await getOrder(db, intent.order_id);
				return reply({ received: true, duplicate: true, ...(order ? { order_id: order.order_id, status: order.status, payment_status: order.payment_status } : {}) });
			}
			return handleStripe(env, parsed.intent);
		},
	}),
];
