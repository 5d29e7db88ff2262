/**
 * Step 1 of place-order, plan and reserve: holds for the whole demand, or a
 * reason there are none. The first attempt goes straight to the one nearest
 * warehouse when there is one (what allocate() would pick first), and plans
 * only if it is short. A lost race (a warehouse short at reserve time) gives
 * back the holds taken and re-plans once, from fresh levels, under a fresh id.
 * Any other failure releases every hold taken.
 */
import { log } from "../shared/log";
import type { Line, ReserveResult, Shortage } from "../stock/types";
import type { AllocationLine, WarehousePlace } from "./allocation";
import { planToReserve, shortagesNow } from "./plan";
import type { WarehousePort } from "./ports";
import { tierFor, tierRank, type Place, type Tier } from "./tiers";

export interface Reserved {
	ok: true;
	orderId: string;
	allocations: AllocationLine[];
	tier: Tier;
	warehouseIds: string[];
	/** The earliest expiry of the holds (ms since the epoch). */
	expiresAt: number;
	attempt: number;
	steps: Record<string, number>;
}

export type ReserveOutcome = Reserved | { ok: false; reason: "out_of_stock"; shortages: Shortage[] } | { ok: false; reason: "unavailable"; step: "plan" | "reserve" };

export interface ReserveDeps {
	warehouses: WarehousePort;
	newOrderId: () => string;
	ttlMs: number;
}

const MAX_ATTEMPTS = 2;

/**
 * The warehouse allocate() would pick first if it can ship the whole order: the
 * only one in the best tier for this address. Undefined when the best tier has
 * several (then stock breaks the tie, so the full plan is needed) or none is near.
 */
export function soleNearest(warehouses: WarehousePlace[], address: Place | null): (WarehousePlace & { tier: Tier }) | undefined {
	if (!address || warehouses.length === 0) return undefined;
	const ranked = warehouses.map((w) => ({ ...w, tier: tierFor(w, address) }));
	const best = Math.min(...ranked.map((w) => tierRank(w.tier)));
	const top = ranked.filter((w) => tierRank(w.tier) === best);
	return top.length === 1 && top[0]!.tier !== "tier_3" ? top[0] : undefined;
}

export function byWarehouse(allocations: AllocationLine[]): Map<string, Line[]> {
	const out = new Map<string, Line[]>();
	for (const a of allocations) {
		const list = out.get(a.warehouse_id) ?? [];
		list.push({ product_id: a.product_id, size: a.size, quantity: a.quantity });
		out.set(a.warehouse_id, list);
	}
	return out;
}

/** `linesAt`: what was asked of each warehouse, so a sharded unit's release goes only where it can be held. */
export async function releaseAll(port: WarehousePort, orderId: string, warehouseIds: string[], why: string, linesAt?: ReadonlyMap<string, Line[]>): Promise<void> {
	const results = await Promise.allSettled(warehouseIds.map((w) => port.release(w, orderId, linesAt?.get(w))));
	const failed = warehouseIds.filter((_, i) => results[i]!.status === "rejected");
	// A release that failed is not a leak: the hold expires and the alarm, finding no order, releases it.
	log.warn("[place-order]", "rollback", { order_id: orderId, why, warehouses: warehouseIds, release_failed: failed });
}

/** The shortcut: reserve everything at the one nearest warehouse. "none" when there is none, or it is short (it then holds nothing). */
async function reserveAtNearest(deps: ReserveDeps, warehouses: WarehousePlace[], demand: Line[], address: Place, started: number): Promise<ReserveOutcome | "none"> {
	const nearest = soleNearest(warehouses, address);
	if (!nearest) return "none";
	const orderId = deps.newOrderId();
	let held: ReserveResult;
	try {
		held = await deps.warehouses.reserve(nearest.warehouse_id, orderId, demand, deps.ttlMs);
	} catch (err) {
		await releaseAll(deps.warehouses, orderId, [nearest.warehouse_id], "reserve_failed", new Map([[nearest.warehouse_id, demand]]));
		log.error("checkout_reserve_failed", { order_id: orderId, errors: [{ warehouse_id: nearest.warehouse_id, error: String(err) }] }, "[place-order]");
		return { ok: false, reason: "unavailable", step: "reserve" };
	}
	if (!held.ok) return "none";
	return {
		ok: true,
		orderId,
		allocations: demand.map((l) => ({ ...l, warehouse_id: nearest.warehouse_id, tier: nearest.tier })),
		tier: nearest.tier,
		warehouseIds: [nearest.warehouse_id],
		expiresAt: held.expires_at,
		attempt: 1,
		steps: { plan_ms: 0, reserve_ms: Date.now() - started },
	};
}

/** Plans, then reserves at every planned warehouse in parallel. "lost" carries what the warehouses refused. */
async function planThenReserve(
	deps: ReserveDeps,
	warehouses: WarehousePlace[],
	demand: Line[],
	address: Place,
	attempt: number,
): Promise<ReserveOutcome | { ok: false; reason: "lost"; refused: Shortage[] }> {
	const planStarted = Date.now();
	let planned;
	try {
		// The first plan reads the availability cache; a re-plan after a lost race reads fresh levels.
		planned = await planToReserve(deps.warehouses, warehouses, demand, address, { fresh: attempt > 1 });
	} catch (err) {
		log.error("checkout_plan_failed", { error: String(err) }, "[place-order]");
		return { ok: false, reason: "unavailable", step: "plan" };
	}
	if (!planned.ok) {
		log.info("[place-order]", "out_of_stock", { attempt, shortages: planned.shortages });
		return { ok: false, reason: "out_of_stock", shortages: planned.shortages };
	}
	const orderId = deps.newOrderId();
	const perWarehouse = byWarehouse(planned.allocations);
	const warehouseIds = [...perWarehouse.keys()];
	const reserveStarted = Date.now();
	const reserves = await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.reserve(w, orderId, perWarehouse.get(w)!, deps.ttlMs)));
	const crashed = reserves.some((r) => r.status === "rejected");
	const short = reserves.some((r) => r.status === "fulfilled" && !r.value.ok);
	if (crashed || short) {
		// A warehouse that refused holds nothing for this id, and no reserve of it is in flight there (each attempt
		// has a new id): only holds, and answers that never came, are released. A tombstone where nothing can
		// arrive late is a write for nothing, and in a stampede lost races are most of the traffic.
		const heldOrUnknown = warehouseIds.filter((_, i) => {
			const r = reserves[i]!;
			return r.status === "rejected" || r.value.ok;
		});
		await releaseAll(deps.warehouses, orderId, heldOrUnknown, crashed ? "reserve_failed" : "reserve_short", perWarehouse);
		if (crashed) {
			const errors = reserves.flatMap((r, i) => (r.status === "rejected" ? [{ warehouse_id: warehouseIds[i], error: String(r.reason) }] : []));
			log.error("checkout_reserve_failed", { order_id: orderId, errors }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "reserve" };
		}
		log.warn("[place-order]", "race_lost", { order_id: orderId, attempt, replan: attempt < MAX_ATTEMPTS });
		const refused = reserves.flatMap((r) => (r.status === "fulfilled" && !r.value.ok && r.value.reason === "insufficient_stock" ? r.value.shortages : []));
		return { ok: false, reason: "lost", refused };
	}
	let expiresAt = Number.POSITIVE_INFINITY;
	for (const r of reserves) if (r.status === "fulfilled" && r.value.ok) expiresAt = Math.min(expiresAt, r.value.expires_at);
	return {
		ok: true,
		orderId,
		allocations: planned.allocations,
		tier: planned.tier,
		warehouseIds,
		expiresAt,
		attempt,
		steps: { plan_ms: reserveStarted - planStarted, reserve_ms: Date.now() - reserveStarted },
	};
}

export async function planAndReserve(deps: ReserveDeps, warehouses: WarehousePlace[], demand: Line[], address: Place): Promise<ReserveOutcome> {
	const shortcut = await reserveAtNearest(deps, warehouses, demand, address, Date.now());
	if (shortcut !== "none") return shortcut;
	for (let attempt = 1; ; attempt++) {
		const r = await planThenReserve(deps, warehouses, demand, address, attempt);
		if (r.ok || r.reason !== "lost") return r;
		if (attempt < MAX_ATTEMPTS) continue;
		const fresh = await shortagesNow(deps.warehouses, warehouses, demand).catch(() => [] as Shortage[]);
		// Stock freed since the race was lost: still answer with what the warehouses refused.
		return { ok: false, reason: "out_of_stock", shortages: fresh.length > 0 ? fresh : r.refused };
	}
}
