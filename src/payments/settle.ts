/**
 * A refund's verdict, and the order's payment_status following its refunds:
 * refund_pending while any is unconfirmed, refunded once all are. The verdict
 * (with the provider's event record) lands first, in one batch; the order
 * follows in its own race-safe change, which reads the refunds after the
 * order, so of two verdicts landing together the later one sets the final
 * state. Should the request die in between, the row stays unsynced and the
 * reconciler settles the order (./issue.ts).
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import type { ChangeResult } from "../orders/service";
import { changeOrder } from "../orders/service";
import { orderDb } from "../orders/shards";
import { markSynced, refundsOfOrder, retryDelayMs, verdictStmt, type RefundRow } from "./refunds";

export async function settleOrder(env: Env, orderId: string, meta: { by: string; reason: string }): Promise<ChangeResult> {
	const db = orderDb(env, orderId);
	if (!db) return { ok: false, reason: "not_found" };
	let seen: RefundRow[] = [];
	const result = await changeOrder(
		env,
		orderId,
		async (order) => {
			seen = await refundsOfOrder(db, orderId);
			if (order.payment_status !== "refund_pending" && order.payment_status !== "refunded") return null;
			const outstanding = seen.filter((r) => r.state !== "succeeded").length;
			const want = outstanding > 0 ? "refund_pending" : "refunded";
			return want === order.payment_status ? null : { type: "refunds_settled", outstanding };
		},
		meta,
	);
	if (result.ok) await markSynced(db, seen.filter((r) => r.synced === 0));
	return result;
}

export interface Verdict {
	verdict: "succeeded" | "failed";
	by: string;
	providerRefundId?: string | null;
	error?: string | null;
	/** The provider's event, recorded in the same batch so it is processed once. */
	record?: D1PreparedStatement;
}

/** Records a verdict on `row` (as read) and settles its order; answers whether the verdict was news. */
export async function recordVerdict(env: Env, row: RefundRow, v: Verdict, nowMs: number): Promise<boolean> {
	const at = new Date(nowMs).toISOString();
	const retryAt = new Date(nowMs + retryDelayMs(row.tries)).toISOString();
	// The refund, its order and the provider's event record share the order's shard.
	const db = orderDb(env, row.order_id);
	if (!db) return false;
	const [landed] = await db.batch([verdictStmt(db, row, v.verdict, at, retryAt, v.providerRefundId ?? null, v.error ?? null), ...(v.record ? [v.record] : [])]);
	const news = (landed?.meta.changes ?? 0) === 1;
	if (!news) return false;
	log.info("[payments]", v.verdict === "succeeded" ? "refund_confirmed" : "refund_failed", { refund_id: row.refund_id, order_id: row.order_id, provider: row.provider, by: v.by, retry_at: v.verdict === "failed" ? retryAt : undefined });
	await settleOrder(env, row.order_id, { by: v.by, reason: v.verdict === "succeeded" ? "refund succeeded" : "refund failed" });
	return true;
}
