/**
 * The reconciler's payment-window step: cancels orders that stayed pending and
 * unpaid past PAYMENT_WINDOW_SECONDS. Each goes through the same race-safe
 * change as any cancellation (history `changed_by: "system"`, reason
 * `payment_window_elapsed`, events, stock undone once, purchase allowance
 * given back). The condition is re-checked on every attempt, so a payment or a
 * customer's cancel that lands first wins and this step leaves the order alone.
 * Every order shard in parallel, bounded per shard per run: at most
 * MAX_BATCHES pages of BATCH orders, oldest first.
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import { overdue, PAYMENT_WINDOW_REASON, windowCutoff } from "../orders/paymentWindow";
import { onEveryShard } from "../orders/fanout";
import { changeOrder } from "../orders/service";

const BATCH = 50;
const MAX_BATCHES = 4;
/** Orders cancelled at once: each one is a D1 batch plus one RPC per warehouse. */
const PARALLEL = 10;

export interface UnpaidReport {
	cancelled: number;
	/** Paid, cancelled or otherwise changed by someone else first. */
	skipped: number;
	failures: number;
}

interface Key {
	created_at: string;
	order_id: string;
}

/** Unpaid pending orders placed before `cutoff`, oldest first, after `after` (keyset paging on orders_status_created). */
export async function overdueOrders(db: D1Database, cutoff: string, limit: number, after: Key | null): Promise<Key[]> {
	const { results } = await db
		.prepare(
			`SELECT order_id, created_at FROM orders
			 WHERE status = 'pending' AND payment_status IN ('pending', 'failed') AND created_at < ?1
			   AND (?2 IS NULL OR (created_at, order_id) > (?2, ?3))
			 ORDER BY created_at, order_id LIMIT ?4`,
		)
		.bind(cutoff, after?.created_at ?? null, after?.order_id ?? "", limit)
		.all<Key>();
	return results;
}

async function cancelOne(env: Env, orderId: string, cutoff: string, report: UnpaidReport): Promise<void> {
	try {
		const r = await changeOrder(env, orderId, { type: "cancel" }, { by: "system", reason: PAYMENT_WINDOW_REASON }, { onlyIf: (o) => overdue(o, cutoff) });
		if (r.ok && r.changed) {
			report.cancelled++;
			log.info("[reconciler]", "order_cancelled_payment_window", { order_id: orderId });
		} else report.skipped++;
	} catch (err) {
		report.failures++;
		log.warn("[reconciler]", "payment_window_cancel_failed", { order_id: orderId, error: String(err) });
	}
}

/** Every order shard in parallel; a shard whose read fails is counted, and the others go on. */
export async function cancelUnpaid(env: Env, nowMs: number, windowMs: number): Promise<UnpaidReport> {
	const report: UnpaidReport = { cancelled: 0, skipped: 0, failures: 0 };
	const cutoff = windowCutoff(nowMs, windowMs);
	if (cutoff === null) return report;
	for (const o of await onEveryShard(env, (db) => cancelUnpaidIn(env, db, cutoff, report))) {
		if (o.ok) continue;
		report.failures++;
		log.warn("[reconciler]", "payment_window_shard_failed", { shard: o.shard, error: String(o.error) });
	}
	return report;
}

async function cancelUnpaidIn(env: Env, db: D1Database, cutoff: string, report: UnpaidReport): Promise<void> {
	let after: Key | null = null;
	for (let batch = 0; batch < MAX_BATCHES; batch++) {
		const page = await overdueOrders(db, cutoff, BATCH, after);
		for (let i = 0; i < page.length; i += PARALLEL) {
			await Promise.all(page.slice(i, i + PARALLEL).map((o) => cancelOne(env, o.order_id, cutoff, report)));
		}
		if (page.length < BATCH) break;
		after = page[page.length - 1]!;
	}
}
