/**
 * Phase 2 after the answer. The order row is the commit decision, so the 201
 * goes out right after the D1 batch; the holds are committed afterwards,
 * gathered per warehouse: the orders of an isolate decided within one window
 * are committed by one `commitMany` RPC (one Warehouse transaction for all).
 * Then their outbox rows are cleared, and each order whose every warehouse has
 * confirmed is announced (its "placed" event).
 *
 * Nothing depends on the window for correctness: every commit is promised by an
 * outbox row written with the decision. If the isolate dies first, or a commit
 * fails, the cron reconciler replays it (idempotent), and the Warehouse alarm
 * commits any hold whose order exists at its expiry; a hold that can no longer
 * be filled is cancelled as unfulfillable there, unannounced.
 */
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { log } from "../http/log";
import { deleteOutboxRows, type OrderRecord } from "../orders/queries";
import { Coalescer, type WaitUntil } from "../shared/coalescer";
import { warehouseStub } from "../stock/client";
import { placedEvent } from "./ports";

/** How long a decided order waits for company before its warehouse commits (the contract allows one second). */
export const COMMIT_WINDOW_MS = 100;
const COMMIT_MAX = 200;

class GatheredCommits {
	private readonly byWarehouse = new Map<string, Coalescer<OrderRecord>>();
	/** Per order: the warehouses that have not confirmed its commit yet (in this isolate). */
	private readonly waiting = new Map<string, Set<string>>();

	constructor(private readonly env: Env) {}

	add(order: OrderRecord, warehouseIds: string[], waitUntil: WaitUntil): void {
		this.waiting.set(order.order_id, new Set(warehouseIds));
		for (const w of warehouseIds) this.coalescer(w).add([order], waitUntil);
	}

	private coalescer(warehouseId: string): Coalescer<OrderRecord> {
		let c = this.byWarehouse.get(warehouseId);
		if (!c) {
			c = new Coalescer<OrderRecord>({
				flush: (orders) => this.flush(warehouseId, orders),
				onError: (err, orders) => {
					for (const o of orders) this.waiting.delete(o.order_id);
					log.warn("[place-order]", "commit_deferred", { warehouse_id: warehouseId, orders: orders.map((o) => o.order_id), error: String(err) });
				},
				windowMs: COMMIT_WINDOW_MS,
				maxItems: COMMIT_MAX,
			});
			this.byWarehouse.set(warehouseId, c);
		}
		return c;
	}

	private async flush(warehouseId: string, orders: OrderRecord[]): Promise<void> {
		const results = await warehouseStub(this.env, warehouseId).commitMany(
			orders.map((o) => o.order_id),
			{ actor: "checkout" },
		);
		const done = orders.filter((o) => results[o.order_id]?.ok);
		const refused = orders.filter((o) => !results[o.order_id]?.ok);
		const announce: OrderRecord[] = [];
		for (const o of done) {
			const left = this.waiting.get(o.order_id);
			left?.delete(warehouseId);
			if (left && left.size === 0) {
				this.waiting.delete(o.order_id);
				announce.push(o);
			}
		}
		for (const o of refused) this.waiting.delete(o.order_id);
		if (refused.length > 0) {
			// Left in the outbox: the reconciler retries, or cancels the order as unfulfillable.
			log.warn("[place-order]", "commit_deferred", { warehouse_id: warehouseId, orders: refused.map((o) => ({ order_id: o.order_id, result: results[o.order_id] ?? null })) });
		}
		if (done.length > 0) {
			await deleteOutboxRows(
				this.env.DB,
				"commit",
				done.map((o) => ({ order_id: o.order_id, warehouse_id: warehouseId })),
			);
		}
		log.info("[place-order]", "commits_gathered", { warehouse_id: warehouseId, orders: orders.length, committed: done.length, refused: refused.length });
		if (announce.length > 0) await publish(this.env, announce.map(placedEvent));
	}
}

/** One per binding (an isolate can serve several envs, e.g. in tests). */
const byEnv = new WeakMap<Env, GatheredCommits>();
function gatheredOf(env: Env): GatheredCommits {
	let g = byEnv.get(env);
	if (!g) byEnv.set(env, (g = new GatheredCommits(env)));
	return g;
}

/** placeOrder's `commitLater` as production wires it: work kept alive with the request's waitUntil. */
export function commitLater(env: Env, waitUntil: WaitUntil): (order: OrderRecord, warehouseIds: string[]) => void {
	return (order, warehouseIds) => gatheredOf(env).add(order, warehouseIds, waitUntil);
}
