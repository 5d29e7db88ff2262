/**
 * Issuing refunds, and retrying them. A Stripe refund is asked for right after
 * the change that requested it, and by the reconciler while it is due: each
 * call first takes a short lease on the row, and carries the idempotency key
 * `<refund_id>:<tries>`, so a call that died (no answer) is repeated with the
 * same key and Stripe answers with the refund it already made, never a second
 * one; only a refund the provider reported failed is asked anew under the next
 * key. A generic refund reported failed is asked again with a new
 * `payment.refund_requested` event. Last, orders whose payment_status lags
 * behind a verdict are settled.
 */
import Stripe from "stripe";
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { log } from "../http/log";
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

async function defer(env: Env, row: RefundRow, error: string, nowMs: number): Promise<IssueOutcome> {
	await env.DB.prepare(`UPDATE refunds SET next_attempt_at = ?, last_error = ? WHERE refund_id = ? AND state IN ('requested', 'failed') AND tries = ?`)
		.bind(iso(nowMs + retryDelayMs(row.attempts)), error, row.refund_id, row.tries)
		.run();
	log.warn("[payments]", "refund_deferred", { refund_id: row.refund_id, order_id: row.order_id, attempts: row.attempts + 1, error });
	return "deferred";
}

function errorClass(err: unknown): string {
	if (err instanceof Stripe.errors.StripeError) return [err.type, err.code, err.statusCode].filter((p) => p !== undefined && p !== null).join(":");
	return "connection_failed";
}

/** One call to Stripe for a due refund (see the module comment). */
export async function issueStripeRefund(env: Env, row: RefundRow, nowMs: number): Promise<IssueOutcome> {
	const now = iso(nowMs);
	const claimed = await env.DB.prepare(
		`UPDATE refunds SET next_attempt_at = ?, attempts = attempts + 1
		 WHERE refund_id = ? AND provider = 'stripe' AND state IN ('requested', 'failed') AND tries = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?`,
	)
		.bind(iso(nowMs + LEASE_MS), row.refund_id, row.tries, now)
		.run();
	if (claimed.meta.changes !== 1) return "skipped";
	const settings = stripeSettings(env);
	if (!settings) return defer(env, row, "stripe_not_configured", nowMs);
	if (!row.provider_ref) return defer(env, row, "no_payment_intent", nowMs);
	let refund: Stripe.Refund;
	try {
		refund = await stripeClient(settings).refunds.create(
			{
				payment_intent: row.provider_ref,
				amount: row.amount,
				reason: row.reason === "double_charge" ? "duplicate" : "requested_by_customer",
				metadata: { order_id: row.order_id, refund_id: row.refund_id, payment_event_id: row.payment_event_id ?? "", reason: row.reason },
			},
			{ idempotencyKey: `${row.refund_id}:${row.tries}` },
		);
	} catch (err) {
		// The charge is already refunded in full (by hand in the dashboard, say): the money is back, which is what was asked.
		if (err instanceof Stripe.errors.StripeError && err.code === "charge_already_refunded") {
			await recordVerdict(env, row, { verdict: "succeeded", by: "stripe", error: "charge_already_refunded" }, nowMs);
			return "confirmed";
		}
		return defer(env, row, errorClass(err), nowMs);
	}
	log.info("[payments]", "stripe_refund_created", { refund_id: row.refund_id, order_id: row.order_id, stripe_refund: refund.id, status: refund.status });
	if (refund.status === "succeeded" || refund.status === "failed" || refund.status === "canceled") {
		const verdict = refund.status === "succeeded" ? "succeeded" : "failed";
		await recordVerdict(env, row, { verdict, by: "stripe", providerRefundId: refund.id, error: verdict === "failed" ? `refund_${refund.status}` : null }, nowMs);
		return verdict === "succeeded" ? "confirmed" : "failed";
	}
	// Pending at Stripe: charge.refund.updated (or charge.refunded) confirms it.
	await env.DB.prepare(
		`UPDATE refunds SET state = 'submitted', provider_refund_id = ?, next_attempt_at = NULL, last_error = NULL WHERE refund_id = ? AND state IN ('requested', 'failed') AND tries = ?`,
	)
		.bind(refund.id, row.refund_id, row.tries)
		.run();
	return "submitted";
}

/** Asks for the Stripe refunds a change just requested; what fails here stays due for the reconciler. */
export async function issueRefunds(env: Env, plans: RefundPlan[]): Promise<void> {
	for (const plan of plans) {
		if (plan.provider !== "stripe") continue;
		try {
			const row = await getRefund(env.DB, plan.refund_id);
			if (row) await issueStripeRefund(env, row, Date.now());
		} catch (err) {
			log.warn("[payments]", "refund_deferred", { refund_id: plan.refund_id, order_id: plan.order_id, error: String(err) });
		}
	}
}

/** A generic refund the shop's system reported failed: asked again, with the next try's event. */
async function askAgain(env: Env, row: RefundRow, nowMs: number): Promise<boolean> {
	const event = refundRequestedEvent(row, row.tries, iso(nowMs));
	const [moved] = await env.DB.batch([
		env.DB.prepare(`UPDATE refunds SET state = 'requested', next_attempt_at = NULL WHERE refund_id = ? AND provider = 'generic' AND state = 'failed' AND tries = ?`).bind(row.refund_id, row.tries),
		// Only with the move above (the id is per try, so a racing copy inserts nothing either).
		env.DB.prepare(
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

/** The reconciler's refund step: due calls and re-requests, then orders whose payment_status lags. */
export async function retryRefunds(env: Env, nowMs: number, graceMs: number): Promise<RefundReport> {
	const report: RefundReport = { issued: 0, asked_again: 0, settled: 0, failures: 0 };
	for (const row of await dueRefunds(env.DB, iso(nowMs), BATCH)) {
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
	for (const orderId of await unsyncedOrders(env.DB, iso(nowMs - graceMs), BATCH)) {
		const r = await settleOrder(env, orderId, { by: "reconciler", reason: "refunds settled" }).catch(() => null);
		if (r?.ok) report.settled++;
		else report.failures++;
	}
	return report;
}
