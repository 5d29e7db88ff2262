/**
 * How the gateway reaches Warehouse objects: one stub per warehouse id, and the
 * fan-out read of availability over several warehouses (parallel RPC).
 */
import type { Env } from "../env";
import type { Level, Unit } from "./types";

export function warehouseStub(env: Env, warehouseId: string) {
	return env.WAREHOUSE.getByName(warehouseId);
}

/** Availability of `units` at each warehouse, read in parallel. */
export async function availabilityAt(env: Env, warehouseIds: string[], units: Unit[]): Promise<Map<string, Level[]>> {
	const levels = await Promise.all(warehouseIds.map((id) => warehouseStub(env, id).availability(units)));
	return new Map(warehouseIds.map((id, i) => [id, levels[i]!]));
}

/** Available units per unit key, summed over the given warehouses. */
export function sumAvailable(perWarehouse: Map<string, Level[]>): Map<string, number> {
	const total = new Map<string, number>();
	for (const levels of perWarehouse.values()) {
		for (const l of levels) {
			const key = JSON.stringify([l.product_id, l.size]);
			total.set(key, (total.get(key) ?? 0) + l.available);
		}
	}
	return total;
}
