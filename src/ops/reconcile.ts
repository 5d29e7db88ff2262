/**
 * The reconciler, run by the cron trigger every minute. It finishes what a
 * crashed or failed request left in the outbox (every order shard's, in
 * parallel, at most BATCH rows a pass per shard), then asks every active
 * warehouse, and every inactive one that may still have open holds, to resolve
 * its due holds (the alarm's own code path), so neither a lost commit nor a
 * lost alarm outlives one cron period.
 *
 * - commit rows: commit the order's hold; if the hold is gone and its units with
 *   it, the order cannot be filled: it is cancelled (reason "reservation
 *   expired") and whatever it holds elsewhere is undone.
 * - cancel rows: undo the order's hold at that warehouse (release or restock).
 * Failures back off (30 s, doubling, at most 1 h) and are retried next run.
 * Then it cancels orders left unpaid past the payment window (src/ops/unpaid.ts),
 * and retries the refunds that are due (src/payments/issue.ts).
 * Then it attempts the webhook deliveries that are due (src/webhooks/delivery.ts),
 * and last prunes old rows, a bounded amount per run (src/ops/prune.ts).
 */
import * as sharded from "../stock/sharded";
import { syncStockListeners } from "../webhooks/listeners";
import type { Env } from "../env";
import { answerWith } from "../checkout/idempotency";
import { config } from "../config";
import { flushOutbox } from "../events/outbox";
import { errorBody } from "../http/errors";
import { toApiError } from "../http/failures";
import { log } from "../shared/log";
import { onEveryShard } from "../orders/fanout";
import { deferOutbox, deleteOutboxRow, dueOutbox, getOrder, outboxOfOrders, type OutboxRow } from "../orders/queries";
import { warehouseStub } from "../stock/client";
import { sweepDone, sweepTargets } from "./sweep";
import { cancelUnfulfillable } from "../orders/service";
import { finishTransfers } from "../transfers/reconcile";
import { cancelUnpaid } from "./unpaid";
import { deliverDue } from "../webhooks/delivery";
import { prune } from "./prune";
import { retryRefunds } from "../payments/issue";

/** Rows younger than this belong to a request that may still be finishing them. */
const GRACE_MS = 15_000;
const BATCH = 200;

export interface ReconcileReport {
	commits: number;
	cancels: number;
	cancelled_orders: number;
	failures: number;
	warehouses: number;
	holds_committed: number;
	holds_expired: number;
	events_resent: number;
	transfers_finished: number;
	unpaid_cancelled: number;
	refunds_issued: number;
	refunds_asked_again: number;
	webhooks_attempted: number;
	webhooks_delivered: number;
	pruned_webhook_messages: number;
	pruned_processed_events: number;
}

function backoff(attempts: number, now: number): string {
	return new Date(now + Math.min(3_600_000, 30_000 * 2 ** Math.min(attempts, 7))).toISOString();
}

/** Runs one outbox row of shard `db`; answers the order id when it cancelled that order (its cancel rows are new). */
async function runRow(env: Env, db: D1Database, row: OutboxRow, report: ReconcileReport): Promise<string | undefined> {
	if (row.action === "cancel") {
		const r = await sharded.cancelHold(env, row.warehouse_id, row.order_id, "reconciler");
		if (r.outcome === "restocked" && !r.replayed) {
			log.info("[stock-restore]", "restocked", { order_id: row.order_id, warehouse_id: row.warehouse_id, lines: r.lines, by: "reconciler" });
		}
		await deleteOutboxRow(db, row.outbox_id);
		report.cancels++;
		return;
	}
	const r = await sharded.commit(env, row.warehouse_id, row.order_id, "reconciler");
	if (r.ok) {
		await deleteOutboxRow(db, row.outbox_id);
		report.commits++;
		return;
	}
	const order = await getOrder(db, row.order_id);
	if (!order || order.status === "cancelled") {
		await deleteOutboxRow(db, row.outbox_id);
		return;
	}
	// The hold lapsed and its units were sold: cancel the order and undo the rest (its cancel rows, in this run's second pass).
	// A retry with the request's Idempotency-Key must then replay 409, not the 201 stored with the decision.
	const key = await db.prepare(`SELECT user_id, idem_key FROM idempotency_keys WHERE order_id = ?`).bind(order.order_id).first<{ user_id: string; idem_key: string }>();
	const shortages = r.reason === "insufficient_stock" ? r.shortages : [];
	const answer = key ? { scope: { userId: key.user_id, key: key.idem_key }, status: 409, body: errorBody(toApiError({ ok: false, reason: "out_of_stock", shortages })) } : undefined;
	if (!(await cancelUnfulfillable(env, order, "reservation expired", answerWith(answer, order.order_id)))) {
		// Not cancellable now (it moved on, or lost races): back off and look again later.
		throw new Error(`order ${order.order_id} (${order.status}) cannot take its stock and cannot be cancelled`);
	}
	report.cancelled_orders++;
	log.warn("[reconciler]", "order_cancelled_reservation_expired", { order_id: order.order_id, warehouse_id: row.warehouse_id, reason: r.reason });
	return order.order_id;
}

/**
 * One shard's commit outbox, at most BATCH rows a pass. Commits first. The
 * cancellations they cause write fresh cancel rows, which the grace period
 * would hide from dueOutbox: the second pass takes those orders' cancel rows
 * by order id too.
 */
async function finishOutbox(env: Env, db: D1Database, nowMs: number, report: ReconcileReport): Promise<void> {
	const now = new Date(nowMs).toISOString();
	const olderThan = new Date(nowMs - GRACE_MS).toISOString();
	const cancelledNow: string[] = [];
	for (const pass of [0, 1]) {
		const due = (await dueOutbox(db, now, olderThan, BATCH)).filter((r) => pass === 1 || r.action === "commit");
		const fresh = pass === 1 ? await outboxOfOrders(db, cancelledNow, "cancel") : [];
		const rows = [...due, ...fresh.filter((f) => !due.some((d) => d.outbox_id === f.outbox_id))];
		await Promise.all(
			rows.map(async (row) => {
				try {
					const cancelled = await runRow(env, db, row, report);
					if (cancelled) cancelledNow.push(cancelled);
				} catch (err) {
					report.failures++;
					await deferOutbox(db, row.outbox_id, String(err), backoff(row.attempts, nowMs)).catch(() => {});
					log.warn("[reconciler]", "outbox_failed", { outbox_id: row.outbox_id, order_id: row.order_id, warehouse_id: row.warehouse_id, action: row.action, error: String(err) });
				}
			}),
		);
	}
}

export async function reconcile(env: Env, nowMs: number): Promise<ReconcileReport> {
	const report: ReconcileReport = { commits: 0, cancels: 0, cancelled_orders: 0, failures: 0, warehouses: 0, holds_committed: 0, holds_expired: 0, events_resent: 0, transfers_finished: 0, unpaid_cancelled: 0, refunds_issued: 0, refunds_asked_again: 0, webhooks_attempted: 0, webhooks_delivered: 0, pruned_webhook_messages: 0, pruned_processed_events: 0 };
	const olderThan = new Date(nowMs - GRACE_MS).toISOString();
	// Every order shard's outbox at once; a shard that fails is counted and the others finish.
	for (const o of await onEveryShard(env, (db) => finishOutbox(env, db, nowMs, report))) {
		if (o.ok) continue;
		report.failures++;
		log.warn("[reconciler]", "outbox_shard_failed", { shard: o.shard, error: String(o.error) });
	}

	const transfers = await finishTransfers(env, nowMs, GRACE_MS).catch(() => ({ finished: 0, failures: 1 }));
	report.transfers_finished = transfers.finished;
	report.failures += transfers.failures;

	const unpaid = await cancelUnpaid(env, nowMs, config(env).paymentWindowMs).catch((err) => {
		log.warn("[reconciler]", "payment_window_failed", { error: String(err) });
		return { cancelled: 0, failures: 1 };
	});
	report.unpaid_cancelled = unpaid.cancelled;
	report.failures += unpaid.failures;

	// Stripe calls that failed or were never made, generic refunds reported failed, orders lagging behind a verdict.
	const refunds = await retryRefunds(env, nowMs, GRACE_MS).catch((err) => {
		log.warn("[reconciler]", "refunds_failed", { error: String(err) });
		return { issued: 0, asked_again: 0, settled: 0, failures: 1 };
	});
	report.refunds_issued = refunds.issued;
	report.refunds_asked_again = refunds.asked_again;
	report.failures += refunds.failures;

	report.events_resent = await flushOutbox(env, olderThan).catch(() => 0);

	// Endpoints disabled for failing, warehouses added since, a warehouse not told before: stock.changed on or off.
	await syncStockListeners(env).catch((err) => log.warn("[reconciler]", "stock_changed_listening_failed", { error: String(err) }));

	// Active warehouses, and inactive ones that may still have open holds (src/ops/sweep.ts).
	const warehouses = await sweepTargets(env.DB);
	report.warehouses = warehouses.length;
	const ttlMs = config(env).reservationTtlMs;
	const results = await Promise.allSettled(
		warehouses.map(async (w) => {
			const stub = warehouseStub(env, w.warehouse_id);
			const resolved = await stub.resolveDue(nowMs);
			if (!w.active && w.sweep_since !== null && Date.parse(w.sweep_since) + ttlMs < nowMs && (await stub.snapshot()).holds.held === 0) {
				await sweepDone(env.DB, w.warehouse_id, w.sweep_since);
			}
			return resolved;
		}),
	);
	results.forEach((r, i) => {
		if (r.status === "fulfilled") {
			report.holds_committed += r.value.committed;
			report.holds_expired += r.value.expired;
		} else {
			report.failures++;
			log.warn("[reconciler]", "resolve_failed", { warehouse_id: warehouses[i]!.warehouse_id, error: String(r.reason) });
		}
	});
	try {
		const webhooks = await deliverDue(env, nowMs);
		report.webhooks_attempted = webhooks.attempted;
		report.webhooks_delivered = webhooks.delivered;
	} catch (err) {
		report.failures++;
		log.warn("[reconciler]", "webhooks_failed", { error: String(err) });
	}
	try {
		const pruned = await prune(env, nowMs);
		report.pruned_webhook_messages = pruned.webhook_messages;
		report.pruned_processed_events = pruned.processed_events;
	} catch (err) {
		report.failures++;
		log.warn("[reconciler]", "prune_failed", { error: String(err) });
	}
	log.info("[reconciler]", "run", { ...report });
	return report;
}
