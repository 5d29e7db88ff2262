/**
 * Step 1 of checkout, also used by the fulfillment check and the cart summary:
 * read availability of the demanded units at every candidate warehouse (in
 * parallel) and allocate. Holds nothing.
 */
import { unitKey, type Level, type Line, type Shortage } from "../stock/types";
import { allocate, type Allocation, type WarehousePlace } from "./allocation";
import type { WarehousePort } from "./ports";
import type { Place } from "./tiers";

export async function readAvailability(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[]): Promise<Map<string, Level[]>> {
	const units = demand.map(({ product_id, size }) => ({ product_id, size }));
	const levels = await Promise.all(warehouses.map((w) => port.availability(w.warehouse_id, units)));
	return new Map(warehouses.map((w, i) => [w.warehouse_id, levels[i]!]));
}

export async function plan(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[], address: Place | null): Promise<Allocation> {
	if (warehouses.length === 0) {
		return { ok: false, shortages: demand.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 })) };
	}
	const availability = await readAvailability(port, warehouses, demand);
	return allocate({ demand, warehouses, availability, address });
}

/** Shortages for `demand` given fresh availability summed over `warehouses`. */
export async function shortagesNow(port: WarehousePort, warehouses: WarehousePlace[], demand: Line[]): Promise<Shortage[]> {
	const availability = await readAvailability(port, warehouses, demand);
	const total = new Map<string, number>();
	for (const levels of availability.values()) for (const l of levels) total.set(unitKey(l), (total.get(unitKey(l)) ?? 0) + Math.max(0, l.available));
	return demand
		.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: total.get(unitKey(l)) ?? 0 }))
		.filter((s) => s.available < s.requested);
}
