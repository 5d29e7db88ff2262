/**
 * The payment provider's webhook. Signature first (401 when bad or stale), then
 * the body; each event id is processed once (a replay answers 200 and changes
 * nothing); the amount and currency must match the order (422 AMOUNT_MISMATCH).
 * `payment.succeeded` moves pending -> paid; `payment.failed` records failed. A
 * success for an order already paid is a double charge: it is recorded and a
 * refund of it requested, and the answer is 200 (so the provider stops retrying).
 * Of several different successes arriving together, the one whose change wins
 * pays; the others find the order paid on re-reading and are double charges.
 */
import { z } from "zod";
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { log } from "../shared/log";
import { reply, route, type Reply } from "../http/route";
import { validate } from "../http/validate";
import type { Env } from "../env";
import { getOrder, type OrderRecord } from "../orders/queries";
import { changeOrder } from "../orders/service";
import { Id, Money } from "../shared/schema";
import { toCents } from "../shared/money";
import { eventStmt, publish } from "../events/outbox";
import type { RefundRequested } from "../events/types";
import { verifySignature } from "./signature";

// Loose: a provider's signed events gain fields without notice.
const WebhookBody = z.looseObject({
	id: z.string().min(1).max(255),
	type: z.enum(["payment.succeeded", "payment.failed"]),
	order_id: Id,
	amount: Money,
	currency: z.string().regex(/^[A-Za-z]{3}$/, "must be a 3-letter currency code"),
});

const WebhookAnswer = z.object({
	received: z.literal(true),
	duplicate: z.boolean().meta({ description: "This event id was already processed; nothing changed" }),
	duplicate_charge: z.boolean().optional().meta({ description: "The order was already paid: a refund of this charge was requested" }),
	order_id: z.string(),
	status: z.string(),
	payment_status: z.string(),
});

type WebhookEvent = z.output<typeof WebhookBody>;

function paymentEventStmt(db: D1Database, event: WebhookEvent, orderId: string): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO payment_events (event_id, order_id, type, amount, currency, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		.bind(event.id, orderId, event.type, toCents(event.amount)!, event.currency.toUpperCase(), new Date().toISOString());
}

function alreadyPaid(order: OrderRecord): boolean {
	return order.payment_status === "paid" || order.payment_status === "refunded";
}

/**
 * A second charge for an order already paid (or refunded): keep the order, record the
 * charge, and ask the payment side to give it back. The refund's id follows the payment
 * event's and both rows go in one batch, so only the request that records the event
 * publishes the refund: a replay or a racing copy of the same event cannot ask twice.
 */
async function doubleCharge(env: Env, event: WebhookEvent, order: OrderRecord): Promise<Reply> {
	const refund: RefundRequested = {
		event_id: `evt_refund_${event.id}`,
		type: "payment.refund_requested",
		occurred_at: new Date().toISOString(),
		order_id: order.order_id,
		amount: event.amount,
		currency: order.currency,
	};
	const [recorded] = await env.DB.batch([paymentEventStmt(env.DB, event, order.order_id), eventStmt(env.DB, refund)]);
	const base = { received: true, order_id: order.order_id, status: order.status, payment_status: order.payment_status };
	if ((recorded?.meta.changes ?? 0) === 0) return reply({ ...base, duplicate: true });
	await publish(env, [refund]);
	log.warn("[payments]", "duplicate_charge_refunded", { event_id: event.id, order_id: order.order_id, amount: event.amount });
	return reply({ ...base, duplicate: false, duplicate_charge: true });
}

async function seen(db: D1Database, eventId: string): Promise<boolean> {
	return (await db.prepare(`SELECT 1 AS x FROM payment_events WHERE event_id = ?`).bind(eventId).first()) !== null;
}

export const paymentRoutes = [
	route({
		method: "post",
		path: "/payments/webhook",
		tag: "payments",
		summary: "Payment provider events (signed with PAYMENT_WEBHOOK_SECRET)",
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
			const event = validate(WebhookBody, unchecked ?? {}, "body");
			const order = await getOrder(env.DB, event.order_id);
			if (!order) fail("NOT_FOUND", "Order not found.");
			const answer = (duplicate: boolean, o: typeof order) => reply({ received: true, duplicate, order_id: o.order_id, status: o.status, payment_status: o.payment_status });
			if (await seen(env.DB, event.id)) return answer(true, order);
			if (toCents(event.amount) !== order.total || event.currency.toUpperCase() !== order.currency) {
				log.warn("[payments]", "amount_mismatch", { event_id: event.id, order_id: order.order_id, amount: event.amount, currency: event.currency });
				fail("AMOUNT_MISMATCH", "The payment's amount or currency does not match the order.", {
					expected: { amount: order.total / 100, currency: order.currency },
					received: { amount: event.amount, currency: event.currency },
				});
			}
			if (event.type === "payment.succeeded" && alreadyPaid(order)) return doubleCharge(env, event, order);
			const result = await changeOrder(
				env,
				order.order_id,
				{ type: event.type === "payment.succeeded" ? "payment_succeeded" : "payment_failed" },
				{
					by: "payment-webhook",
					reason: event.type === "payment.succeeded" ? "payment succeeded" : "payment failed",
					extra: (db, changeId) => [
						db
							.prepare(
								`INSERT INTO payment_events (event_id, order_id, type, amount, currency, received_at) SELECT ?, ?, ?, ?, ?, ?
								 WHERE EXISTS (SELECT 1 FROM orders WHERE order_id = ? AND change_id = ?) ON CONFLICT DO NOTHING`,
							)
							.bind(event.id, order.order_id, event.type, toCents(event.amount)!, event.currency.toUpperCase(), new Date().toISOString(), order.order_id, changeId),
					],
				},
			);
			if (!result.ok) {
				const now = (await getOrder(env.DB, order.order_id)) ?? order;
				// The same event racing itself: the loser finds it recorded.
				if (await seen(env.DB, event.id)) return answer(true, now);
				// Another successful payment paid the order while this one was deciding: this one is
				// the double charge, decided on the order as it is now, not as it was first read.
				if (event.type === "payment.succeeded" && alreadyPaid(now)) return doubleCharge(env, event, now);
				raise(result);
			}
			log.info("[payments]", "processed", { event_id: event.id, type: event.type, order_id: order.order_id, payment_status: result.order.payment_status });
			return answer(false, result.order);
		},
	}),
];
