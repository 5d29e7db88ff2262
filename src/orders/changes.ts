/**
 * Applies one accepted state-machine transition to an order, race-safe: a
 * single D1 batch whose UPDATE is conditional on the status it read and stamps
 * a fresh change id; the history row, events and outbox rows of the change are
 * inserted only where the order carries that id. Of two racers exactly one
 * wins; the loser writes nothing and re-reads. A status change takes the next
 * number of the order's event sequence in that same UPDATE. A cancellation also gives the
 * order's units back to the customer's purchase limits, in the same batch.
 * Its rows come from the builders the placement uses (./rows.ts, countersStmt,
 * eventStmt), gated by `changeWon`.
 */
import { eventStmt } from "../events/outbox";
import type { StockgateEvent } from "../events/types";
import { countersStmt } from "../limits/queries";
import { insertRefundStmt, payingCharge, planRefund, refundRequestedEvent, type Charge, type RefundPlan } from "../payments/refunds";
import { toMajor } from "../shared/money";
import { linesByWarehouse, type OrderRecord } from "./queries";
import { changeWon, historyStmt, outboxStmt } from "./rows";
import type { OrderState, RefundCause } from "./stateMachine";

export interface ChangeMeta {
	by: string;
	reason: string | null;
	tracking_number?: string;
	/** Statements of the caller's own that must land only with this change (e.g. the payment event record). */
	extra?: (db: D1Database, changeId: string, at: string) => D1PreparedStatement[];
	/** The charge this change is about (a double charge, a payment after cancellation): the one a refund gives back. */
	charge?: Charge;
}

export interface AppliedChange {
	won: boolean;
	order: OrderRecord;
	events: StockgateEvent[];
	/** Refunds this change requested (inserted with it). */
	refunds: RefundPlan[];
	changeId: string;
}

export async function applyChange(db: D1Database, order: OrderRecord, next: OrderState & { refund: RefundCause | null; restock: boolean }, meta: ChangeMeta, now: Date): Promise<AppliedChange> {
	const changeId = crypto.randomUUID();
	const at = now.toISOString();
	const id = order.order_id;
	const statusChanged = next.status !== order.status;
	const updated: OrderRecord = {
		...order,
		status: next.status,
		payment_status: next.payment_status,
		tracking_number: meta.tracking_number ?? order.tracking_number,
		updated_at: at,
		// The event's sequence is taken in the UPDATE below, which holds only while the order still has the one read.
		event_seq: statusChanged ? order.event_seq + 1 : order.event_seq,
	};
	const events: StockgateEvent[] = [];
	if (statusChanged) {
		events.push({
			event_id: `evt_${crypto.randomUUID()}`,
			type: "order.status_changed",
			occurred_at: at,
			order_id: id,
			user_id: order.user_id,
			customer_email: order.customer_email,
			old_status: order.status,
			new_status: next.status,
			payment_status: next.payment_status,
			tracking_number: updated.tracking_number,
			total: toMajor(order.total),
			currency: order.currency,
			changed_by: meta.by,
			reason: meta.reason,
			sequence: updated.event_seq,
		});
	}
	// A cancellation gives back the charge that paid the order; the other causes, the charge that came with this change.
	const refund = next.refund ? planRefund(order, meta.charge ?? (await payingCharge(db, order)), next.refund) : null;
	// The generic provider is asked through the event; Stripe refunds are issued through its API (src/payments/stripe.ts).
	if (refund && refund.provider === "generic") events.push(refundRequestedEvent(refund, 0, at));
	const won = changeWon(id, changeId);
	const stmts: D1PreparedStatement[] = [
		db
			.prepare(
				`UPDATE orders SET status = ?, payment_status = ?, tracking_number = ?, updated_at = ?, change_id = ?, event_seq = ?
				 WHERE order_id = ? AND status = ? AND payment_status = ? AND event_seq = ?`,
			)
			.bind(updated.status, updated.payment_status, updated.tracking_number, at, changeId, updated.event_seq, id, order.status, order.payment_status, order.event_seq),
		historyStmt(
			db,
			{
				order_id: id,
				old_status: order.status,
				new_status: next.status,
				changed_by: meta.by,
				reason: meta.reason ?? (next.payment_status !== order.payment_status ? `payment ${next.payment_status}` : null),
				created_at: at,
			},
			won,
		),
		...events.map((e) => eventStmt(db, e, won)),
	];
	if (next.restock) {
		stmts.push(
			db.prepare(`DELETE FROM outbox WHERE order_id = ? AND action = 'commit' AND ${won.sql}`).bind(id, ...won.binds),
			outboxStmt(db, id, [...linesByWarehouse(order).keys()], "cancel", at, won),
		);
	}
	if (next.status === "cancelled" && order.status !== "cancelled") stmts.push(countersStmt(db, order, "give_back", won));
	if (refund) stmts.push(insertRefundStmt(db, refund, at, won.sql, won.binds));
	if (meta.extra) stmts.push(...meta.extra(db, changeId, at));
	const results = await db.batch(stmts);
	const applied = (results[0]?.meta.changes ?? 0) === 1;
	return { won: applied, order: applied ? updated : order, events: applied ? events : [], refunds: applied && refund ? [refund] : [], changeId };
}
