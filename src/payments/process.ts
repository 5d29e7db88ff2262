/**
 * What a provider's event does to an order, for both providers. Each event id
 * is processed once (a replay answers 200 with duplicate: true and changes
 * nothing; its record is in the order's shard, with the order); the amount and currency must match (422 AMOUNT_MISMATCH).
 *
 * Payments: a success moves pending -> paid; a failure records failed. A
 * success for an order whose money was already taken is a double charge: it
 * is recorded and refunded, and the answer is 200 (so the provider stops
 * retrying). Of several different successes arriving together, the one whose
 * change wins pays; the others find the money taken on re-reading.
 *
 * Refund verdicts: the refund's row takes the verdict and the order follows
 * (./settle.ts): refunded once all its refunds are confirmed, back to
 * refund_pending when one fails (it is asked again).
 */
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { log } from "../shared/log";
import { reply, type Reply } from "../http/route";
import type { Env } from "../env";
import { getOrder, type OrderRecord } from "../orders/queries";
import { orderDb } from "../orders/shards";
import { changeOrder } from "../orders/service";
import { moneyTaken } from "../orders/stateMachine";
import type { Charge, Provider, RefundRow } from "./refunds";
import { recordVerdict } from "./settle";

/** A provider's event, amounts in cents, currency upper case. */
export interface ProviderEvent {
	event_id: string;
	type: "payment.succeeded" | "payment.failed" | "refund.succeeded" | "refund.failed" | "refund.pending";
	provider: Provider;
	/** Stripe: the PaymentIntent. */
	provider_ref: string | null;
	amount: number;
	currency: string;
	/** `changed_by` in the order's history. */
	by: string;
}

/** Records the event; with `changeId`, only where that order change won (the event then lands with what it caused). */
export function eventRecordStmt(db: D1Database, e: ProviderEvent, orderId: string, changeId?: string): D1PreparedStatement {
	const guard = changeId ? `EXISTS (SELECT 1 FROM orders WHERE order_id = ? AND change_id = ?)` : `1`;
	return db
		.prepare(
			`INSERT INTO payment_events (event_id, order_id, type, amount, currency, received_at, provider, provider_ref) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE ${guard} ON CONFLICT DO NOTHING`,
		)
		.bind(e.event_id, orderId, e.type, e.amount, e.currency, new Date().toISOString(), e.provider, e.provider_ref, ...(changeId ? [orderId, changeId] : []));
}

export async function seen(db: D1Database, eventId: string): Promise<boolean> {
	return (await db.prepare(`SELECT 1 AS x FROM payment_events WHERE event_id = ?`).bind(eventId).first()) !== null;
}

function answer(order: OrderRecord, duplicate: boolean, extra: Record<string, unknown> = {}): Reply {
	return reply({ received: true, duplicate, ...extra, order_id: order.order_id, status: order.status, payment_status: order.payment_status });
}

function checkAmount(e: ProviderEvent, expected: { amount: number; currency: string }, orderId: string): void {
	if (e.amount === expected.amount && e.currency === expected.currency) return;
	log.warn("[payments]", "amount_mismatch", { event_id: e.event_id, order_id: orderId, amount: e.amount, currency: e.currency });
	fail("AMOUNT_MISMATCH", "The event's amount or currency does not match the order.", {
		expected: { amount: expected.amount / 100, currency: expected.currency },
		received: { amount: e.amount / 100, currency: e.currency },
	});
}

function chargeOf(e: ProviderEvent): Charge {
	return { payment_event_id: e.event_id, provider: e.provider, provider_ref: e.provider_ref, amount: e.amount, currency: e.currency };
}

/** The shard of an order already read from it (its id names a shard this Worker has). */
function shardOf(env: Env, orderId: string): D1Database {
	const db = orderDb(env, orderId);
	if (!db) throw new Error(`order ${orderId} names no shard of this Worker`);
	return db;
}

/** A second charge for an order whose money was already taken: recorded and refunded with the change that says so. */
async function doubleCharge(env: Env, e: ProviderEvent, orderId: string): Promise<Reply> {
	const db = shardOf(env, orderId);
	let replay = false;
	const result = await changeOrder(
		env,
		orderId,
		// Re-checked on every attempt: a copy of this event that won a race meanwhile leaves nothing to do.
		async () => ((replay = await seen(db, e.event_id)) ? null : { type: "double_charge" }),
		{ by: e.by, reason: "double charge", charge: chargeOf(e), extra: (db, changeId) => [eventRecordStmt(db, e, orderId, changeId)] },
	);
	if (!result.ok) {
		const now = await getOrder(db, orderId);
		if (now && (await seen(db, e.event_id))) return answer(now, true);
		raise(result);
	}
	if (replay) return answer(result.order, true);
	log.warn("[payments]", "duplicate_charge_refunded", { event_id: e.event_id, order_id: orderId, amount: e.amount / 100 });
	return answer(result.order, false, { duplicate_charge: true });
}

export async function processPayment(env: Env, order: OrderRecord, e: ProviderEvent & { type: "payment.succeeded" | "payment.failed" }): Promise<Reply> {
	const db = shardOf(env, order.order_id);
	if (await seen(db, e.event_id)) return answer(order, true);
	checkAmount(e, { amount: order.total, currency: order.currency }, order.order_id);
	const succeeded = e.type === "payment.succeeded";
	if (succeeded && moneyTaken(order.payment_status)) return doubleCharge(env, e, order.order_id);
	const result = await changeOrder(
		env,
		order.order_id,
		{ type: succeeded ? "payment_succeeded" : "payment_failed" },
		{
			by: e.by,
			reason: succeeded ? "payment succeeded" : "payment failed",
			charge: chargeOf(e),
			extra: (db, changeId) => [eventRecordStmt(db, e, order.order_id, changeId)],
		},
	);
	if (!result.ok) {
		const now = (await getOrder(db, order.order_id)) ?? order;
		// The same event racing itself: the loser finds it recorded.
		if (await seen(db, e.event_id)) return answer(now, true);
		// Another successful payment paid the order while this one was deciding: this one is
		// the double charge, decided on the order as it is now, not as it was first read.
		if (succeeded && moneyTaken(now.payment_status)) return doubleCharge(env, e, now.order_id);
		raise(result);
	}
	log.info("[payments]", "processed", { event_id: e.event_id, type: e.type, provider: e.provider, order_id: order.order_id, payment_status: result.order.payment_status });
	return answer(result.order, false);
}

/**
 * The provider's verdict on `row`. A verdict the row already has (a second
 * confirmation of the same refund, as Stripe sends with charge.refunded and
 * charge.refund.updated) is recorded and changes nothing.
 */
export async function processRefundVerdict(env: Env, row: RefundRow, e: ProviderEvent & { type: "refund.succeeded" | "refund.failed" }, providerRefundId: string | null, checkAmounts = true): Promise<Reply> {
	const db = orderDb(env, row.order_id);
	const order = db ? await getOrder(db, row.order_id) : null;
	if (!db || !order) fail("NOT_FOUND", "Order not found.");
	if (await seen(db, e.event_id)) return answer(order, true);
	if (checkAmounts) checkAmount(e, { amount: row.amount, currency: row.currency }, order.order_id);
	const verdict = e.type === "refund.succeeded" ? "succeeded" : "failed";
	const record = eventRecordStmt(db, e, order.order_id);
	if (row.state === verdict) {
		await record.run();
		return answer(order, false);
	}
	const news = await recordVerdict(env, row, { verdict, by: e.by, providerRefundId, error: verdict === "failed" ? "reported_failed" : null, record }, Date.now());
	if (!news) {
		// Another verdict on this refund landed between the read and the write: this event is still recorded once.
		await record.run();
	}
	return answer((await getOrder(db, order.order_id)) ?? order, false);
}
