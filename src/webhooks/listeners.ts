/**
 * Tells every Warehouse object whether anyone wants `stock.changed`: yes while
 * at least one active endpoint subscribes to it. The objects produce those
 * events only then (src/stock/object/changes.ts), so a shop without such an endpoint
 * spends nothing on them. Called after an endpoint is created or deleted, and
 * on every reconciler run, which also covers endpoints disabled for failing,
 * warehouses created later and a call that failed here.
 */
import { listWarehouses } from "../catalog/queries";
import type { Env } from "../env";
import { log } from "../shared/log";
import { warehouseStub } from "../stock/client";
import { listEndpoints } from "./queries";

export interface ListenerSync {
	listening: boolean;
	/** Warehouses whose setting this call changed. */
	changed: string[];
	/** Warehouses that could not be told (the next reconciler run tries again). */
	failed: string[];
}

export async function syncStockListeners(env: Env): Promise<ListenerSync> {
	const [endpoints, warehouses] = await Promise.all([listEndpoints(env.DB, { activeOnly: true }), listWarehouses(env.DB)]);
	const listening = endpoints.some((e) => e.events.includes("stock.changed"));
	const results = await Promise.allSettled(warehouses.map((w) => warehouseStub(env, w.warehouse_id).listenForChanges(listening)));
	const sync: ListenerSync = { listening, changed: [], failed: [] };
	results.forEach((r, i) => {
		const id = warehouses[i]!.warehouse_id;
		if (r.status === "rejected") sync.failed.push(id);
		else if (r.value.changed) sync.changed.push(id);
	});
	if (sync.changed.length > 0) log.info("[webhooks]", "stock_changed_listening", { listening, warehouses: sync.changed });
	if (sync.failed.length > 0) log.warn("[webhooks]", "stock_changed_listening_failed", { listening, warehouses: sync.failed });
	return sync;
}
