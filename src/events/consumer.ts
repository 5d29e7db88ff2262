/**
 * The `order-events` queue consumer. Delivery is at-least-once: an event whose
 * id is in `processed_events` is acknowledged without being delivered again;
 * one that fails is retried by the queue. Order emails go through the
 * `send_email` binding when it is configured, and are logged otherwise.
 * The batch's new events are first stored for the webhooks (one message per
 * subscribed endpoint, idempotently); their first attempts run after the mails.
 */
import type { Env } from "../env";
import { log } from "../http/log";
import { attemptAll, storeMessages } from "../webhooks/delivery";
import { emailFor } from "./email";
import type { StockgateEvent } from "./types";

/** Which of these event ids were delivered before: one read for the whole batch. */
async function processedAmong(db: D1Database, ids: string[]): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const { results } = await db
		.prepare(`SELECT event_id FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))`)
		.bind(JSON.stringify(ids))
		.all<{ event_id: string }>();
	return new Set(results.map((r) => r.event_id));
}

/** Records a batch's delivered events in one statement. */
async function markProcessed(db: D1Database, events: StockgateEvent[], at: string): Promise<void> {
	await db
		.prepare(
			`INSERT INTO processed_events (event_id, type, processed_at)
			 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?) WHERE true
			 ON CONFLICT DO NOTHING`,
		)
		.bind(at, JSON.stringify(events.map((e) => [e.event_id, e.type])))
		.run();
}

/** What delivering one event did, for the batch's summary line. */
type Outcome = "mailed" | "mail_logged" | "no_recipient" | "no_mail" | "logged" | "webhooks_only";

async function deliver(env: Env, e: StockgateEvent): Promise<Outcome> {
	switch (e.type) {
		case "order.status_changed": {
			const mail = emailFor(e);
			if (!mail) return "no_mail";
			// A token without an email claim leaves nobody to write to: counted in the batch line, not logged one by one.
			if (!e.customer_email) return "no_recipient";
			if (env.MAILER) {
				await env.MAILER.send({ from: env.MAIL_FROM ?? "orders@stockgate.local", to: e.customer_email, subject: mail.subject, text: mail.text });
				log.info("[events]", "email_sent", { event_id: e.event_id, order_id: e.order_id, subject: mail.subject });
				return "mailed";
			}
			log.info("[events]", "email_logged", { event_id: e.event_id, order_id: e.order_id, to: e.customer_email, subject: mail.subject, text: mail.text });
			return "mail_logged";
		}
		case "payment.refund_requested":
			// Delivered to the endpoints subscribed to payment.refund_requested (the webhooks stored above).
			log.info("[payments]", "refund_requested", { event_id: e.event_id, order_id: e.order_id, payment_event_id: e.payment_event_id, amount: e.amount, currency: e.currency, reason: e.reason });
			return "webhooks_only";
		case "transfer.updated":
			log.info("[transfer]", "event", { event_id: e.event_id, transfer_id: e.transfer.transfer_id, status: e.transfer.status });
			return "logged";
		case "stock.low":
			log.warn("[stock]", "low_stock", { event_id: e.event_id, warehouse_id: e.warehouse_id, product_id: e.product_id, size: e.size, on_hand: e.on_hand, threshold: e.threshold });
			return "logged";
		case "stock.changed":
			return "webhooks_only";
	}
}

export async function consume(batch: MessageBatch<StockgateEvent>, env: Env): Promise<void> {
	const valid = batch.messages.filter((m) => m.body && typeof m.body.event_id === "string");
	const done = await processedAmong(
		env.DB,
		valid.map((m) => m.body.event_id),
	);
	// Stored before anything is mailed: if this throws, the queue retries the batch, and storing again adds nothing.
	const fresh = new Map(valid.filter((m) => !done.has(m.body.event_id)).map((m) => [m.body.event_id, m.body]));
	const webhookJobs = await storeMessages(env, [...fresh.values()], Date.now());
	const delivered: StockgateEvent[] = [];
	const seenHere = new Set<string>();
	const outcomes: Record<string, number> = {};
	let duplicates = 0;
	let retried = 0;
	for (const msg of batch.messages) {
		const e = msg.body;
		if (!e || typeof e.event_id !== "string") {
			log.warn("[events]", "malformed_event", { message_id: msg.id });
			msg.ack();
			continue;
		}
		if (done.has(e.event_id) || seenHere.has(e.event_id)) {
			duplicates++;
			msg.ack();
			continue;
		}
		try {
			const outcome = await deliver(env, e);
			outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
			seenHere.add(e.event_id);
			delivered.push(e);
			msg.ack();
		} catch (err) {
			retried++;
			log.warn("[events]", "delivery_failed", { event_id: e.event_id, error: String(err), attempts: msg.attempts });
			msg.retry({ delaySeconds: Math.min(300, 10 * msg.attempts) });
		}
	}
	if (delivered.length > 0) {
		// Should this write fail, the events stay delivered and acked; a later duplicate could be delivered again (at-least-once).
		await markProcessed(env.DB, delivered, new Date().toISOString());
	}
	// First attempts last, so a slow receiver does not hold up the mails; each attempt is bounded and recorded.
	const webhooks = await attemptAll(env, webhookJobs, Date.now());
	// One line per batch: what each event led to, and which were duplicates of earlier deliveries.
	log.info("[events]", "batch_consumed", { messages: batch.messages.length, delivered: delivered.length, duplicates, retried, outcomes, webhooks });
}
