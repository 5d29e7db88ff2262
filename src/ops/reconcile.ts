/**
 * The reconciler, run by the cron trigger every minute. In this foundation it
 * only asks every active warehouse to resolve its due holds (the same code path
 * as the Warehouse alarm), so a lost alarm cannot leave a hold behind for more
 * than one cron period. Outbox work is added with checkout.
 */
import type { Env } from "../env";
import { listWarehouses } from "../catalog/queries";
import { log } from "../http/log";
import { warehouseStub } from "../stock/client";

export async function reconcile(env: Env, now: number): Promise<{ warehouses: number; committed: number; expired: number }> {
	const warehouses = await listWarehouses(env.DB, true);
	const results = await Promise.allSettled(warehouses.map((w) => warehouseStub(env, w.warehouse_id).resolveDue(now)));
	let committed = 0;
	let expired = 0;
	results.forEach((r, i) => {
		if (r.status === "fulfilled") {
			committed += r.value.committed;
			expired += r.value.expired;
		} else {
			log.warn("[reconciler]", "resolve_failed", { warehouse_id: warehouses[i]!.warehouse_id, error: String(r.reason) });
		}
	});
	log.info("[reconciler]", "run", { warehouses: warehouses.length, committed, expired });
	return { warehouses: warehouses.length, committed, expired };
}
