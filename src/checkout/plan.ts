/**
 * Step 1 of checkout, also used by the fulfillment check and the cart summary:
 * read availability of the demanded units at every candidate warehouse (in
 * parallel) and allocate. Holds nothing.
 *
 * Reads come from the availability cache (a view at most AVAILABILITY_TTL_MS
 * old) unless `fresh` is asked. A plan is only a guess: `reserve` decides, and a
 * checkout whose cached plan comes up short asks the objects before it answers.
 */
import type { ReadOptions } from "../stock/cache";
import { unitKey, type Level, type Line, type Shortage } from "../stock/types";
import { allocate, type Allocation, type WarehousePlace } from "./allocation";
import type { WarehousePort } from "./ports";
import type { Place } from "./tiers";

export async function readAvailability(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[], opts: ReadOptions = {}): Promise<Map<string, Level[]>> {
	const units = demand.map(({ product_id, size }) => ({ product_id, size }));
	const levels = await Promise.all(warehouses.map((w) => port.availability(w.warehouse_id, units, opts)));
	return new Map(warehouses.map((w, i) => [w.warehouse_id, levels[i]!]));
}

export async function plan(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[], address: Place | null, opts: ReadOptions = {}): Promise<Allocation> {
	if (warehouses.length === 0) {
		return { ok: false, shortages: demand.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 })) };
	}
	const availability = await readAvailability(port, warehouses, demand, opts);
	return allocate({ demand, warehouses, availability, address });
}

/**
 * Checkout's plan: from the cache (or fresh when re-planning after a lost race).
 * A shortage the cache shows is checked with fresh levels first: a stale view
 * may plan a reserve that fails, but never turns a buyer away.
 */
export async function planToReserve(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[], address: Place | null, opts: ReadOptions = {}): Promise<Allocation> {
	const planned = await plan(port, warehouses, demand, address, opts);
	if (planned.ok || opts.fresh) return planned;
	return plan(port, warehouses, demand, address, { fresh: true });
}

/** Shortages for `demand` given fresh availability summed over `warehouses` (the true numbers of a 409). */
export async function shortagesNow(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[]): Promise<Shortage[]> {
	const availability = await readAvailability(port, warehouses, demand, { fresh: true });
	const total = new Map<string, number>();
	for (const levels of availability.values()) for (const l of levels) total.set(unitKey(l), (total.get(unitKey(l)) ?? 0) + Math.max(0, l.available));
	return demand
		.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: total.get(unitKey(l)) ?? 0 }))
		.filter((s) => s.available < s.requested);
}
