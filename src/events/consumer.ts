/**
 * The `order-events` queue consumer. Delivery is at-least-once: an event whose
 * id is in `processed_events` is acknowledged without being delivered again;
 * one that fails is retried by the queue. Order emails go through the
 * `send_email` binding when it is configured, and are logged otherwise.
 */
import type { Env } from "../env";
import { log } from "../http/log";
import { emailFor } from "./email";
import type { StockgateEvent } from "./types";

async function alreadyProcessed(db: D1Database, eventId: string): Promise<boolean> {
	return (await db.prepare(`SELECT 1 AS x FROM processed_events WHERE event_id = ?`).bind(eventId).first()) !== null;
}

async function markProcessed(db: D1Database, e: StockgateEvent): Promise<void> {
	await db.prepare(`INSERT INTO processed_events (event_id, type, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`).bind(e.event_id, e.type, new Date().toISOString()).run();
}

async function deliver(env: Env, e: StockgateEvent): Promise<void> {
	switch (e.type) {
		case "order.status_changed": {
			const mail = emailFor(e);
			if (!mail) return;
			if (env.MAILER && e.customer_email) {
				await env.MAILER.send({ from: env.MAIL_FROM ?? "orders@stockgate.local", to: e.customer_email, subject: mail.subject, text: mail.text });
				log.info("[events]", "email_sent", { event_id: e.event_id, order_id: e.order_id, subject: mail.subject });
			} else {
				log.info("[events]", "email_logged", { event_id: e.event_id, order_id: e.order_id, to: e.customer_email, subject: mail.subject, text: mail.text });
			}
			return;
		}
		case "payment.refund_requested":
			log.info("[payments]", "refund_requested", { event_id: e.event_id, order_id: e.order_id, amount: e.amount, currency: e.currency });
			return;
		case "stock.low":
			log.warn("[stock]", "low_stock", { event_id: e.event_id, warehouse_id: e.warehouse_id, product_id: e.product_id, size: e.size, on_hand: e.on_hand, threshold: e.threshold });
			return;
	}
}

export async function consume(batch: MessageBatch<StockgateEvent>, env: Env): Promise<void> {
	for (const msg of batch.messages) {
		const e = msg.body;
		try {
			if (!e || typeof e.event_id !== "string") {
				log.warn("[events]", "malformed_event", { message_id: msg.id });
				msg.ack();
				continue;
			}
			if (await alreadyProcessed(env.DB, e.event_id)) {
				log.info("[events]", "duplicate_skipped", { event_id: e.event_id });
				msg.ack();
				continue;
			}
			await deliver(env, e);
			await markProcessed(env.DB, e);
			msg.ack();
		} catch (err) {
			log.warn("[events]", "delivery_failed", { event_id: e?.event_id, error: String(err), attempts: msg.attempts });
			msg.retry({ delaySeconds: Math.min(300, 10 * msg.attempts) });
		}
	}
}
