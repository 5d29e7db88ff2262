/**
 * Refund rows (migrations/0013_refunds.sql): one per charge given back, with
 * the provider that holds the charge. A refund's id follows its charge, so a
 * charge cannot be refunded twice; the generic provider is asked through the
 * `payment.refund_requested` event, Stripe through its API (./stripe.ts).
 */
import type { RefundRequested } from "../events/types";
import type { OrderRecord } from "../orders/queries";
import type { RefundCause } from "../orders/stateMachine";
import { toMajor } from "../shared/money";

export type Provider = "generic" | "stripe";
export type RefundState = "requested" | "submitted" | "succeeded" | "failed";

/** A charge as recorded in payment_events (amount in cents). */
export interface Charge {
	payment_event_id: string | null;
	provider: Provider;
	provider_ref: string | null;
	amount: number;
	currency: string;
}

export interface RefundPlan extends Charge {
	refund_id: string;
	order_id: string;
	reason: RefundCause;
}

export interface RefundRow extends RefundPlan {
	state: RefundState;
	tries: number;
	attempts: number;
	uncertain: number;
	key_seq: number;
	provider_refund_id: string | null;
	last_error: string | null;
	next_attempt_at: string | null;
	synced: number;
	created_at: string;
	updated_at: string;
}

/** A charge can be refunded once: the refund's id is its charge's (or, with no recorded charge, its order's). */
export function refundIdFor(orderId: string, paymentEventId: string | null): string {
	return paymentEventId ? `rf_${paymentEventId}` : `rf_order_${orderId}`;
}

export function planRefund(order: Pick<OrderRecord, "order_id">, charge: Charge, reason: RefundCause): RefundPlan {
	return { ...charge, refund_id: refundIdFor(order.order_id, charge.payment_event_id), order_id: order.order_id, reason };
}

/** The event asking the shop's payment system for a generic refund; a new id per try, so a re-request after a failure is delivered anew. */
export function refundRequestedEvent(plan: RefundPlan, tries: number, at: string): RefundRequested {
	const base = plan.payment_event_id ?? `order_${plan.order_id}`;
	return {
		event_id: `evt_refund_${base}${tries > 0 ? `_${tries}` : ""}`,
		type: "payment.refund_requested",
		occurred_at: at,
		order_id: plan.order_id,
		payment_event_id: plan.payment_event_id,
		amount: toMajor(plan.amount),
		currency: plan.currency,
		reason: plan.reason,
	};
}

/** The charge that paid `order`: its successful payment that is not itself being refunded; without one (marked paid by hand) the order's total. */
export async function payingCharge(db: D1Database, order: OrderRecord): Promise<Charge> {
	const row = await db
		.prepare(
			`SELECT event_id, provider, provider_ref, amount, currency FROM payment_events pe
			 WHERE order_id = ? AND type IN ('payment.succeeded', 'payment_intent.succeeded')
			   AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_event_id = pe.event_id)
			 ORDER BY received_at, event_id LIMIT 1`,
		)
		.bind(order.order_id)
		.first<{ event_id: string; provider: Provider; provider_ref: string | null; amount: number; currency: string }>();
	if (!row) return { payment_event_id: null, provider: "generic", provider_ref: null, amount: order.total, currency: order.currency };
	return { payment_event_id: row.event_id, provider: row.provider, provider_ref: row.provider_ref, amount: row.amount, currency: row.currency };
}

/** Inserts the refund only where `guardSql` holds (the order change it belongs to won). Stripe refunds are due at once. */
export function insertRefundStmt(db: D1Database, plan: RefundPlan, at: string, guardSql: string, guardBinds: unknown[]): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO refunds (refund_id, order_id, payment_event_id, provider, provider_ref, amount, currency, reason, state, next_attempt_at, synced, created_at, updated_at)
			 SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, 1, ?, ? WHERE ${guardSql} ON CONFLICT DO NOTHING`,
		)
		.bind(
			plan.refund_id,
			plan.order_id,
			plan.payment_event_id,
			plan.provider,
			plan.provider_ref,
			plan.amount,
			plan.currency,
			plan.reason,
			plan.provider === "stripe" ? at : null,
			at,
			at,
			...guardBinds,
		);
}

export async function getRefund(db: D1Database, refundId: string): Promise<RefundRow | null> {
	return db.prepare(`SELECT * FROM refunds WHERE refund_id = ?`).bind(refundId).first<RefundRow>();
}

export async function refundsOfOrder(db: D1Database, orderId: string): Promise<RefundRow[]> {
	return (await db.prepare(`SELECT * FROM refunds WHERE order_id = ? ORDER BY created_at, refund_id`).bind(orderId).all<RefundRow>()).results;
}

/** Stripe refunds of a PaymentIntent (there is at most one: one refund per charge). */
export async function refundsOfIntent(db: D1Database, paymentIntent: string): Promise<RefundRow[]> {
	return (await db.prepare(`SELECT * FROM refunds WHERE provider_ref = ? ORDER BY created_at`).bind(paymentIntent).all<RefundRow>()).results;
}

/**
 * Records the provider's verdict on a refund, if it is news: compare-and-set on
 * the state read, so of two verdicts racing one lands. A failure counts a try
 * and makes the refund due again after `retryAt`. Marks the row unsynced: the
 * order's payment_status follows in ./settle.ts. Answers whether it landed.
 */
export function verdictStmt(db: D1Database, row: RefundRow, verdict: "succeeded" | "failed", at: string, retryAt: string, providerRefundId: string | null, error: string | null): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE refunds SET state = ?1, tries = tries + (CASE WHEN ?1 = 'failed' THEN 1 ELSE 0 END), next_attempt_at = CASE WHEN ?1 = 'failed' THEN ?2 ELSE NULL END,
			   provider_refund_id = COALESCE(?3, provider_refund_id), last_error = ?4, synced = 0, updated_at = ?5
			 WHERE refund_id = ?6 AND state = ?7 AND tries = ?8`,
		)
		.bind(verdict, retryAt, providerRefundId, error, at, row.refund_id, row.state, row.tries);
}

/** Refunds whose next call (Stripe) or re-request (generic, after a failure) is due, oldest first. */
export async function dueRefunds(db: D1Database, now: string, limit: number): Promise<RefundRow[]> {
	return (await db.prepare(`SELECT * FROM refunds WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`).bind(now, limit).all<RefundRow>())
		.results;
}

/** Orders whose payment_status may lag behind a refund's verdict (a request that died between the two writes). */
export async function unsyncedOrders(db: D1Database, olderThan: string, limit: number): Promise<string[]> {
	const { results } = await db.prepare(`SELECT DISTINCT order_id FROM refunds WHERE synced = 0 AND updated_at <= ? LIMIT ?`).bind(olderThan, limit).all<{ order_id: string }>();
	return results.map((r) => r.order_id);
}

/** Marks these rows synced, each only if it has not changed since it was read. */
export async function markSynced(db: D1Database, rows: RefundRow[]): Promise<void> {
	if (rows.length === 0) return;
	await db
		.prepare(
			`UPDATE refunds SET synced = 1 WHERE synced = 0 AND EXISTS (SELECT 1 FROM json_each(?) j WHERE json_extract(j.value, '$[0]') = refunds.refund_id AND json_extract(j.value, '$[1]') = refunds.updated_at AND json_extract(j.value, '$[2]') = refunds.state)`,
		)
		.bind(JSON.stringify(rows.map((r) => [r.refund_id, r.updated_at, r.state])))
		.run();
}

/** How long after its n-th failure (0-based) a refund is asked again: one minute, doubling, at most an hour. Pure. */
export function retryDelayMs(n: number): number {
	return Math.min(3_600_000, 60_000 * 2 ** Math.min(Math.max(n, 0), 6));
}
