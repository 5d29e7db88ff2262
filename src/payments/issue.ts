/**
 * Issuing refunds, and retrying them. A Stripe refund is asked for right after
 * the change that requested it, and by the reconciler while it is due: each
 * call first takes a short lease on the row and carries the idempotency key
 * `<refund_id>:<tries>:<key_seq>`, derived from the refund's cause (its charge).
 * A call that got no answer is repeated with the same key, so Stripe answers
 * with the refund it already made, never a second one. An error answer (5xx)
 * is what Stripe replays for that key: the next call first lists the
 * PaymentIntent's refunds for this one (by its metadata) and takes it if it
 * exists, else asks under the next key_seq. A refund Stripe reports failed is
 * asked anew as the next try. A generic refund reported failed is asked again
 * with a new `payment.refund_requested` event. Last, orders whose
 * payment_status lags behind a verdict are settled.
 */
import Stripe from "stripe";
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { onEveryShard } from "../orders/fanout";
import { orderDb } from "../orders/shards";
import { log } from "../shared/log";
import { dueRefunds, getRefund, refundRequestedEvent, retryDelayMs, unsyncedOrders, type RefundPlan, type RefundRow } from "./refunds";
import { recordVerdict, settleOrder } from "./settle";
import { stripeClient, stripeSettings } from "./stripe";

/** A call in flight holds its row this long; a worker that dies mid-call leaves it due again after. */
const LEASE_MS = 60_000;
const BATCH = 50;

export type IssueOutcome = "submitted" | "confirmed" | "failed" | "deferred" | "skipped";

function iso(ms: number): string {
	return new Date(ms).toISOString();
}

/** A refund's rows live with its order, in the shard its order id names. */
function shardOfRefund(env: Env, row: Pick<RefundRow, "order_id" | "refund_id">): D1Database {
	const db = orderDb(env, row.order_id);
	if (!db) throw new Error(`refund ${row.refund_id}: order ${row.order_id} names no shard of this Worker`);
	return db;
}

async function defer(env: Env, row: RefundRow, error: string, nowMs: number, uncertain: boolean): Promise<IssueOutcome> {
	await shardOfRefund(env, row)
		.prepare(`UPDATE refunds SET next_attempt_at = ?, last_error = ?, uncertain = ? WHERE refund_id = ? AND state IN ('requested', 'failed') AND tries = ?`)
		.bind(iso(nowMs + retryDelayMs(row.attempts)), error, uncertain ? 1 : 0, row.refund_id, row.tries)
		.run();
	log.warn("[payments]", "refund_deferred", { refund_id: row.refund_id, order_id: row.order_id, attempts: row.attempts + 1, error });
	return "deferred";
}

function errorClass(err: unknown): string {
	if (err instanceof Stripe.errors.StripeError) return [err.type, err.code, err.statusCode].filter((p) => p !== undefined && p !== null).join(":");
	return "connection_failed";
}

/**
 * An error answer Stripe stores under the key (a 5xx, a request still running
 * under it): repeating the key would only replay it, and the refund may or may
 * not exist. No answer at all (connection lost, timeout): the same key is safe.
 */
function answeredUncertain(err: unknown): boolean {
	return err instanceof Stripe.errors.StripeError && !(err instanceof Stripe.errors.StripeConnectionError) && ((err.statusCode ?? 0) >= 500 || err.statusCode === 409);
}

/** Stripe's verdict on a refund it answered with; pending ones are confirmed by their event. */
async function settleAnswer(env: Env, row: RefundRow, refund: Stripe.Refund, nowMs: number): Promise<IssueOutcome> {
	log.info("[payments]", "stripe_refund", { refund_id: row.refund_id, order_id: row.order_id, stripe_refund: refund.id, status: refund.status });
	if (refund.status === "succeeded" || refund.status === "failed" || refund.status === "canceled") {
		const verdict = refund.status === "succeeded" ? "succeeded" : "failed";
		await recordVerdict(env, row, { verdict, by: "stripe", providerRefundId: refund.id, error: verdict === "failed" ? `refund_${refund.status}` : null }, nowMs);
		return verdict === "succeeded" ? "confirmed" : "failed";
	}
	await shardOfRefund(env, row)
		.prepare(
			`UPDATE refunds SET state = 'submitted', provider_refund_id = ?, next_attempt_at = NULL, last_error = NULL, uncertain = 0 WHERE refund_id = ? AND state IN ('requested', 'failed') AND tries = ?`,
		)
		.bind(refund.id, row.refund_id, row.tries)
		.run();
	return "submitted";
}

/** The refund of this try, if Stripe made it (found by the metadata refunds.create sets). */
async function findAtStripe(client: Stripe, row: RefundRow): Promise<Stripe.Refund | null> {
	const page = await client.refunds.list({ payment_intent: row.provider_ref!, limit: 100 });
	return page.data.find((r) => r.metadata?.refund_id === row.refund_id && r.metadata?.try === String(row.tries)) ?? null;
}

/** One call to Stripe for a due refund (see the module comment). */
export async function issueStripeRefund(env: Env, row: RefundRow, nowMs: number): Promise<IssueOutcome> {
	const now = iso(nowMs);
	const db = shardOfRefund(env, row);
	const claimed = await db.prepare(
		`UPDATE refunds SET next_attempt_at = ?, attempts = attempts + 1
		 WHERE refund_id = ? AND provider = 'stripe' AND state IN ('requested', 'failed') AND tries = ? AND key_seq = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?`,
	)
		.bind(iso(nowMs + LEASE_MS), row.refund_id, row.tries, row.key_seq, now)
		.run();
	if (claimed.meta.changes !== 1) return "skipped";
	const settings = stripeSettings(env);
	if (!settings) return defer(env, row, "stripe_not_configured", nowMs, row.uncertain === 1);
	if (!row.provider_ref) return defer(env, row, "no_payment_intent", nowMs, false);
	const client = stripeClient(settings);
	let keySeq = row.key_seq;
	try {
		if (row.uncertain === 1) {
			const found = await findAtStripe(client, row);
			if (found) return await settleAnswer(env, row, found, nowMs);
			// Not made: a new key, so Stripe runs the request instead of replaying the stored error.
			keySeq++;
			await db.prepare(`UPDATE refunds SET key_seq = ?, uncertain = 0 WHERE refund_id = ? AND key_seq = ?`).bind(keySeq, row.refund_id, row.key_seq).run();
		}
		const refund = await client.refunds.create(
			{
				payment_intent: row.provider_ref,
				amount: row.amount,
				reason: row.reason === "double_charge" ? "duplicate" : "requested_by_customer",
				metadata: { order_id: row.order_id, refund_id: row.refund_id, payment_event_id: row.payment_event_id ?? "", reason: row.reason, try: String(row.tries) },
			},
			{ idempotencyKey: `${row.refund_id}:${row.tries}:${keySeq}` },
		);
		return await settleAnswer(env, row, refund, nowMs);
	} catch (err) {
		// The charge is already refunded in full (by hand in the dashboard, say): the money is back, which is what was asked.
		if (err instanceof Stripe.errors.StripeError && err.code === "charge_already_refunded") {
			await recordVerdict(env, row, { verdict: "succeeded", by: "stripe", error: "charge_already_refunded" }, nowMs);
			return "confirmed";
		}
		return defer(env, row, errorClass(err), nowMs, answeredUncertain(err));
	}
}

/** Asks for the Stripe refunds a change just requested; what fails here stays due for the reconciler. */
export async function issueRefunds(env: Env, plans: RefundPlan[]): Promise<void> {
	for (const plan of plans) {
		if (plan.provider !== "stripe") continue;
		try {
			const row = await getRefund(shardOfRefund(env, plan), plan.refund_id);
			if (row) await issueStripeRefund(env, row, Date.now());
		} catch (err) {
			log.warn("[payments]", "refund_deferred", { refund_id: plan.refund_id, order_id: plan.order_id, error: String(err) });
		}
	}
}

/** A generic refund the shop's system reported failed: asked again, with the next try's event. */
async function askAgain(env: Env, row: RefundRow, nowMs: number): Promise<boolean> {
	const event = refundRequestedEvent(row, row.tries, iso(nowMs));
	const db = shardOfRefund(env, row);
	const [moved] = await db.batch([
		db.prepare(`UPDATE refunds SET state = 'requested', next_attempt_at = NULL WHERE refund_id = ? AND provider = 'generic' AND state = 'failed' AND tries = ?`).bind(row.refund_id, row.tries),
		// Only with the move above (the id is per try, so a racing copy inserts nothing either).
		db.prepare(
			`INSERT INTO event_outbox (event_id, payload, created_at) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM refunds WHERE refund_id = ? AND state = 'requested' AND tries = ?) ON CONFLICT DO NOTHING`,
		).bind(event.event_id, JSON.stringify(event), event.occurred_at, row.refund_id, row.tries),
	]);
	if ((moved?.meta.changes ?? 0) !== 1) return false;
	await publish(env, [event]);
	log.info("[payments]", "refund_requested_again", { refund_id: row.refund_id, order_id: row.order_id, tries: row.tries, event_id: event.event_id });
	return true;
}

export interface RefundReport {
	issued: number;
	asked_again: number;
	settled: number;
	failures: number;
}

/**
 * The reconciler's refund step, on every shard in parallel: due calls and
 * re-requests, then orders whose payment_status lags; at most BATCH of each
 * per shard per run, and a shard that fails is counted while the others go on.
 */
export async function retryRefunds(env: Env, nowMs: number, graceMs: number): Promise<RefundReport> {
	const report: RefundReport = { issued: 0, asked_again: 0, settled: 0, failures: 0 };
	const outcomes = await onEveryShard(env, (db) => retryRefundsIn(env, db, nowMs, graceMs, report));
	for (const o of outcomes) {
		if (o.ok) continue;
		report.failures++;
		log.warn("[reconciler]", "refunds_shard_failed", { shard: o.shard, error: String(o.error) });
	}
	return report;
}

async function retryRefundsIn(env: Env, db: D1Database, nowMs: number, graceMs: number, report: RefundReport): Promise<void> {
	for (const row of await dueRefunds(db, iso(nowMs), BATCH)) {
		try {
			if (row.provider === "stripe") {
				const outcome = await issueStripeRefund(env, row, nowMs);
				if (outcome === "deferred") report.failures++;
				else if (outcome !== "skipped") report.issued++;
			} else if (row.state === "failed" && (await askAgain(env, row, nowMs))) {
				report.asked_again++;
			}
		} catch (err) {
			report.failures++;
			log.warn("[reconciler]", "refund_failed", { refund_id: row.refund_id, order_id: row.order_id, error: String(err) });
		}
	}
	for (const orderId of await unsyncedOrders(db, iso(nowMs - graceMs), BATCH)) {
		const r = await settleOrder(env, orderId, { by: "reconciler", reason: "refunds settled" }).catch(() => null);
		if (r?.ok) report.settled++;
		else report.failures++;
	}
}
