/**
 * Step 4 of place-order when the answer waits for it: commit the decided
 * order's holds at every warehouse in parallel. A commit that failed is left
 * to the outbox (the reconciler replays it); a hold that lapsed and was sold
 * makes the order unfulfillable: it is cancelled (the cart comes back) and the
 * rest of its holds are undone.
 */
import { linesByWarehouse, type OrderRecord } from "../orders/queries";
import { log } from "../shared/log";
import type { PlaceOrderDeps, PlaceOrderInput, PlaceOrderResult } from "./placeOrder";

export interface Trace {
	started: number;
	attempt: number;
	tier: string;
	steps: Record<string, number>;
}

export async function commitNow(order: OrderRecord, warehouseIds: string[], input: Pick<PlaceOrderInput, "answers">, deps: PlaceOrderDeps, trace: Trace): Promise<PlaceOrderResult> {
	const commitStarted = Date.now();
	const linesAt = linesByWarehouse(order);
	const commits = await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.commit(w, order.order_id, linesAt.get(w))));
	const done = warehouseIds.filter((_, i) => {
		const r = commits[i]!;
		return r.status === "fulfilled" && r.value.ok;
	});
	const pending = warehouseIds.filter((_, i) => commits[i]!.status === "rejected");
	const lost = warehouseIds.filter((_, i) => {
		const r = commits[i]!;
		return r.status === "fulfilled" && !r.value.ok;
	});

	if (lost.length > 0) {
		// A hold lapsed before its commit and its units are gone: the order cannot be filled.
		const shortages = commits.flatMap((r) => (r.status === "fulfilled" && !r.value.ok && r.value.reason === "insufficient_stock" ? r.value.shortages : []));
		const answer = input.answers?.({ ok: false, reason: "out_of_stock", shortages });
		if (!(await deps.cancelUnfulfillable(order, "reservation expired", answer))) {
			// The order moved on under us and is still live: its commit rows stay for the reconciler.
			log.error("checkout_unfulfillable_not_cancelled", { order_id: order.order_id, lost }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "commit" };
		}
		const undone = await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.cancelHold(w, order.order_id, linesAt.get(w))));
		const undoneIds = warehouseIds.filter((_, i) => undone[i]!.status === "fulfilled");
		await deps.store.cancelsDone(order.order_id, undoneIds).catch(() => {});
		log.warn("[place-order]", "cancelled_reservation_expired", { order_id: order.order_id, lost, shortages });
		return { ok: false, reason: "out_of_stock", shortages, cancelledOrderId: order.order_id };
	}
	if (done.length > 0) {
		// Clearing confirmed outbox rows is bookkeeping (a leftover row only costs the reconciler a replayed commit).
		if (deps.clearCommitsLater) deps.clearCommitsLater(order.order_id, done);
		else await deps.store.commitsDone(order.order_id, done).catch(() => {});
	}
	if (pending.length > 0) {
		const errors = warehouseIds.flatMap((w, i) => (commits[i]!.status === "rejected" ? [{ warehouse_id: w, error: String((commits[i] as PromiseRejectedResult).reason) }] : []));
		log.warn("[place-order]", "commit_deferred", { order_id: order.order_id, errors });
	}
	// One line per placed order, with every step's timing (the hot path logs once).
	log.info("[place-order]", "placed", {
		order_id: order.order_id,
		attempt: trace.attempt,
		warehouses: warehouseIds,
		tier: trace.tier,
		pending_commits: pending,
		steps: { ...trace.steps, commit_ms: Date.now() - commitStarted },
		ms: Date.now() - trace.started,
	});
	return { ok: true, order, pendingCommits: pending };
}
