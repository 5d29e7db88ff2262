/**
 * The two-phase checkout (presumed abort), independent of HTTP:
 *  1. plan     availability at every active warehouse, allocate; on the first
 *              attempt, when one warehouse alone is nearest (tier_1 or tier_2),
 *              reserve there directly and plan only if it is short
 *  2. reserve  at every planned warehouse in parallel; any shortage releases the holds
 *              taken (not where it was refused) and re-plans once (with a fresh order id) before giving up
 *  3. decide   one D1 batch: order + history + outbox + cart completed + idempotency
 *              + the customer's purchase counters (kit lines counted as their
 *              components too); refused when the cart changed since it was read
 *              (its version) or a product's max_per_customer would be passed
 *              (every hold is released, 409)
 *  4. commit   with `commitLater` (production): after the answer, gathered per
 *              warehouse (one RPC commits many holds) while every hold has 30 s
 *              to spare; otherwise at every warehouse in parallel before the answer.
 *              Confirmed outbox rows are deleted, the rest is left to the
 *              reconciler and the Warehouse alarm
 * Until the decision is written, any failure releases every hold; after it,
 * nothing is released: the order row is the commit decision. Purchase limits
 * are also checked before planning (only when a line's product has one or a
 * line is a kit), so the common refusal costs no warehouse work; the batch is
 * what makes it exact.
 */
import type { PricedLine } from "../cart/view";
import { log } from "../shared/log";
import type { OrderRecord } from "../orders/queries";
import type { Address } from "../cart/schema";
import { anyLimited, countedUnits, excesses, type LimitExcess } from "../limits/rules";
import { attribute, kitInfo, physicalDemand } from "../catalog/kits";
import type { Line, Shortage } from "../stock/types";
import type { Allocation, AllocationLine, WarehousePlace } from "./allocation";
import { deliveryQuote, totals } from "./pricing";
import type { DeliveryMode, RateTable } from "./rates";
import type { OrderStore, StoredAnswer, WarehousePort } from "./ports";
import { planToReserve, shortagesNow } from "./plan";
import type { IdempotencyScope } from "./idempotency";
import { tierFor, tierRank, type Place, type Tier } from "./tiers";

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

export interface PlaceOrderInput {
	userId: string;
	/** The buyer's email (token claim), kept on the order for notifications. */
	customerEmail?: string | null;
	cartId: string;
	/** The cart's version when its lines were read: the decision is refused if it moved since. */
	cartVersion: number;
	address: Address;
	lines: PricedLine[];
	mode: DeliveryMode;
	warehouses: WarehousePlace[];
	idempotency?: IdempotencyScope;
}

export interface PlaceOrderDeps {
	warehouses: WarehousePort;
	store: OrderStore;
	now: () => Date;
	newOrderId: () => string;
	ttlMs: number;
	taxRate: number;
	currency: string;
	rates: RateTable;
	/** How an order becomes the stored answer body (the HTTP view). */
	answerBody: (order: OrderRecord) => unknown;
	outOfStockBody: (shortages: Shortage[]) => unknown;
	/** Runs work after the answer (ctx.waitUntil); without it that work is awaited. */
	defer?: (work: Promise<unknown>) => void;
	/**
	 * Phase 2 after the answer: commits the decided order's holds later, gathered with
	 * other orders per warehouse (./commitLater.ts). Without it, phase 2 runs before the answer.
	 */
	commitLater?: (order: OrderRecord, warehouseIds: string[]) => void;
}

export type PlaceOrderResult =
	| { ok: true; order: OrderRecord; pendingCommits: string[] }
	/** `cancelledOrderId`: the order was decided, then cancelled because a hold lapsed (its answer is already stored). */
	| { ok: false; reason: "out_of_stock"; shortages: Shortage[]; cancelledOrderId?: string }
	| { ok: false; reason: "cart_taken" }
	/** A line or the address changed after the cart was read: nothing is held, nothing decided. */
	| { ok: false; reason: "cart_changed" }
	/** Units over a product's per-customer limit, counting the customer's live orders; nothing is held. */
	| { ok: false; reason: "purchase_limit"; excesses: LimitExcess[] }
	/** Infrastructure failed before a decision; nothing is held (or the alarm will release it). */
	| { ok: false; reason: "unavailable"; step: string };

const MAX_ATTEMPTS = 2;
/**
 * Commits go after the answer only while every hold has this long left: a hold
 * that could lapse first is committed before answering, so an order that cannot
 * be filled is still answered 409, never 201.
 */
export const COMMIT_LATER_MARGIN_MS = 30_000;

function byWarehouse(allocations: AllocationLine[]): Map<string, Line[]> {
	const out = new Map<string, Line[]>();
	for (const a of allocations) {
		const list = out.get(a.warehouse_id) ?? [];
		list.push({ product_id: a.product_id, size: a.size, quantity: a.quantity });
		out.set(a.warehouse_id, list);
	}
	return out;
}

async function releaseAll(port: WarehousePort, orderId: string, warehouseIds: string[], why: string): Promise<void> {
	const results = await Promise.allSettled(warehouseIds.map((w) => port.release(w, orderId)));
	const failed = warehouseIds.filter((_, i) => results[i]!.status === "rejected");
	// A release that failed is not a leak: the hold expires and the alarm, finding no order, releases it.
	log.warn("[place-order]", "rollback", { order_id: orderId, why, warehouses: warehouseIds, release_failed: failed });
}

function buildOrder(input: PlaceOrderInput, deps: PlaceOrderDeps, orderId: string, allocations: AllocationLine[], tier: OrderRecord["delivery_tier"], now: Date): OrderRecord {
	const quote = deliveryQuote(input.mode, tier, now, deps.rates);
	const money = totals({
		lines: input.lines.map((l) => ({ unit_price_cents: l.unit_price_cents, quantity: l.quantity })),
		delivery_cost_cents: quote.delivery_cost_cents,
		tax_rate: deps.taxRate,
	});
	const at = now.toISOString();
	// Plain lines and kit components that share a unit share its allocations (kits.ts attribute()).
	const attributed = attribute(input.lines, kitInfo(input.lines), allocations);
	const products = input.lines.map((l, i) => ({
		product_id: l.product_id,
		size: l.size,
		name: l.name,
		quantity: l.quantity,
		unit_price_cents: l.unit_price_cents,
		allocations: attributed[i]!.allocations,
		...(attributed[i]!.components ? { components: attributed[i]!.components } : {}),
	}));
	return {
		order_id: orderId,
		user_id: input.userId,
		cart_id: input.cartId,
		status: "pending",
		payment_status: "pending",
		products,
		address: input.address,
		delivery_mode: input.mode,
		delivery_tier: tier,
		subtotal: money.subtotal,
		delivery_cost: money.delivery_cost,
		tax: money.tax,
		total: money.total,
		currency: deps.currency,
		estimated_delivery_date: quote.estimated_delivery_date,
		tracking_number: null,
		customer_email: input.customerEmail ?? null,
		event_seq: 1,
		created_at: at,
		updated_at: at,
	};
}

/**
 * The limited products this order would take past their limit, with the live
 * orders as they are now; a kit line counts as its kit and as its components.
 * `all`: list every limited product even when none is over any more (the
 * decision batch said one was: its counters moved since).
 */
async function limitExcesses(input: PlaceOrderInput, deps: PlaceOrderDeps, all = false): Promise<LimitExcess[]> {
	const requested = countedUnits(input.lines);
	const allowances = await deps.store.allowances(input.userId, [...requested.keys()]);
	const over = excesses(requested, allowances);
	if (over.length > 0 || !all) return over;
	return [...requested].flatMap(([product_id, units]) => {
		const a = allowances.get(product_id);
		return a && a.limit !== null ? [{ product_id, limit: a.limit, already: a.already, requested: units }] : [];
	});
}

export async function placeOrder(input: PlaceOrderInput, deps: PlaceOrderDeps): Promise<PlaceOrderResult> {
	const started = Date.now();
	// Kits become their components, added up with plain lines that share a unit, before any check.
	const demand = physicalDemand(input.lines, kitInfo(input.lines));
	// Inactive products, and kits with an inactive component, cannot be sold: those lines are short.
	const inactive = input.lines.filter((l) => !l.sellable);
	if (inactive.length > 0) {
		const shortages = inactive.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 }));
		log.warn("[place-order]", "rejected_inactive_products", { shortages });
		return { ok: false, reason: "out_of_stock", shortages };
	}
	if (anyLimited(input.lines)) {
		let over: LimitExcess[];
		try {
			over = await limitExcesses(input, deps);
		} catch (err) {
			log.error("checkout_limits_failed", { error: String(err) }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "limits" };
		}
		if (over.length > 0) {
			log.info("[place-order]", "purchase_limit", { user_id: input.userId, excesses: over });
			return { ok: false, reason: "purchase_limit", excesses: over };
		}
	}

	for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
		// ---- 1. plan (or, first time, the shortcut: reserve straight at the one nearest warehouse)
		const planStarted = Date.now();
		let allocation: Allocation | undefined;
		let orderId = deps.newOrderId();
		/** The earliest expiry of this attempt's holds (ms since the epoch). */
		let holdsExpireAt = Number.POSITIVE_INFINITY;
		if (attempt === 1) {
			const nearest = soleNearest(input.warehouses, input.address);
			if (nearest) {
				let held;
				try {
					held = await deps.warehouses.reserve(nearest.warehouse_id, orderId, demand, deps.ttlMs);
				} catch (err) {
					await releaseAll(deps.warehouses, orderId, [nearest.warehouse_id], "reserve_failed");
					log.error("checkout_reserve_failed", { order_id: orderId, errors: [{ warehouse_id: nearest.warehouse_id, error: String(err) }] }, "[place-order]");
					return { ok: false, reason: "unavailable", step: "reserve" };
				}
				// The one best-tier warehouse can ship everything: exactly what allocate() would choose.
				if (held.ok) {
					holdsExpireAt = held.expires_at;
					allocation = {
						ok: true,
						allocations: demand.map((l) => ({ ...l, warehouse_id: nearest.warehouse_id, tier: nearest.tier })),
						tier: nearest.tier,
						warehouses: [nearest.warehouse_id],
					};
				} else {
					orderId = deps.newOrderId(); // it held nothing; plan from scratch under a fresh id
				}
			}
		}
		const reservedAlready = allocation !== undefined;
		if (!allocation) {
			try {
				// The first plan reads the availability cache; a re-plan after a lost race reads fresh levels.
				allocation = await planToReserve(deps.warehouses, input.warehouses, demand, input.address, { fresh: attempt > 1 });
			} catch (err) {
				log.error("checkout_plan_failed", { error: String(err) }, "[place-order]");
				return { ok: false, reason: "unavailable", step: "plan" };
			}
		}
		if (!allocation.ok) {
			log.info("[place-order]", "out_of_stock", { attempt, shortages: allocation.shortages, ms: Date.now() - started });
			return { ok: false, reason: "out_of_stock", shortages: allocation.shortages };
		}
		const perWarehouse = byWarehouse(allocation.allocations);
		const warehouseIds = [...perWarehouse.keys()];
		const steps: Record<string, number> = { plan_ms: Date.now() - planStarted };

		// ---- 2. reserve, in parallel
		const reserveStarted = Date.now();
		const reserves = reservedAlready
			? []
			: await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.reserve(w, orderId, perWarehouse.get(w)!, deps.ttlMs)));
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
			await releaseAll(deps.warehouses, orderId, heldOrUnknown, crashed ? "reserve_failed" : "reserve_short");
			if (crashed) {
				const errors = reserves.flatMap((r, i) => (r.status === "rejected" ? [{ warehouse_id: warehouseIds[i], error: String(r.reason) }] : []));
				log.error("checkout_reserve_failed", { order_id: orderId, errors }, "[place-order]");
				return { ok: false, reason: "unavailable", step: "reserve" };
			}
			log.warn("[place-order]", "race_lost", { order_id: orderId, attempt, replan: attempt < MAX_ATTEMPTS });
			if (attempt < MAX_ATTEMPTS) continue;
			const fresh = await shortagesNow(deps.warehouses, input.warehouses, demand).catch(() => [] as Shortage[]);
			// Stock freed since the race was lost: still answer with what the warehouses refused.
			const shortages = fresh.length > 0 ? fresh : reserves.flatMap((r) => (r.status === "fulfilled" && !r.value.ok && r.value.reason === "insufficient_stock" ? r.value.shortages : []));
			return { ok: false, reason: "out_of_stock", shortages };
		}
		for (const r of reserves) if (r.status === "fulfilled" && r.value.ok) holdsExpireAt = Math.min(holdsExpireAt, r.value.expires_at);
		steps.reserve_ms = Date.now() - reserveStarted;

		// ---- 3. decide
		let order: OrderRecord;
		let answer: StoredAnswer | undefined;
		try {
			order = buildOrder(input, deps, orderId, allocation.allocations, allocation.tier, deps.now());
			answer = input.idempotency ? { scope: input.idempotency, status: 201, body: deps.answerBody(order) } : undefined;
		} catch (err) {
			// A bug, but the holds are ours and nothing was decided: give them back now, not at their ttl.
			await releaseAll(deps.warehouses, orderId, warehouseIds, "build_failed");
			log.error("checkout_build_failed", { order_id: orderId, error: String(err), stack: err instanceof Error ? err.stack : undefined }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "build" };
		}
		const decideStarted = Date.now();
		let decided: "ok" | "cart_taken" | "cart_changed" | "purchase_limit";
		try {
			decided = await deps.store.decide(order, warehouseIds, input.cartVersion, answer);
		} catch (err) {
			// The batch may have landed even though we saw an error: ask before releasing anything.
			const exists = await deps.store.orderExists(orderId).catch(() => undefined);
			if (exists === false) {
				await releaseAll(deps.warehouses, orderId, warehouseIds, "decision_failed");
				log.error("checkout_decision_failed", { order_id: orderId, error: String(err) }, "[place-order]");
				return { ok: false, reason: "unavailable", step: "decide" };
			}
			if (exists === undefined) {
				// Unknown outcome: keep the holds; at expiry the alarm reads D1 and commits or releases.
				log.error("checkout_decision_unknown", { order_id: orderId, error: String(err) }, "[place-order]");
				return { ok: false, reason: "unavailable", step: "decide" };
			}
			decided = "ok";
		}
		if (decided === "cart_changed") {
			await releaseAll(deps.warehouses, orderId, warehouseIds, "cart_changed");
			log.warn("[place-order]", "race_lost", { order_id: orderId, why: "cart_changed" });
			return { ok: false, reason: "cart_changed" };
		}
		if (decided === "cart_taken") {
			await releaseAll(deps.warehouses, orderId, warehouseIds, "cart_already_ordered");
			log.warn("[place-order]", "race_lost", { order_id: orderId, why: "cart_already_ordered" });
			return { ok: false, reason: "cart_taken" };
		}
		if (decided === "purchase_limit") {
			// Another order of this customer's was decided since the pre-check (or the limit was lowered).
			await releaseAll(deps.warehouses, orderId, warehouseIds, "purchase_limit");
			log.warn("[place-order]", "race_lost", { order_id: orderId, why: "purchase_limit" });
			const over = await limitExcesses(input, deps, true).catch(() => [] as LimitExcess[]);
			return { ok: false, reason: "purchase_limit", excesses: over };
		}
		steps.decide_ms = Date.now() - decideStarted;

		// ---- 4. commit: after the answer, gathered per warehouse, while the holds have time to spare
		if (deps.commitLater && holdsExpireAt - deps.now().getTime() > COMMIT_LATER_MARGIN_MS) {
			deps.commitLater(order, warehouseIds);
			log.info("[place-order]", "placed", { order_id: orderId, attempt, warehouses: warehouseIds, tier: allocation.tier, commit: "after_answer", steps, ms: Date.now() - started });
			return { ok: true, order, pendingCommits: warehouseIds };
		}
		return finishCommits(order, warehouseIds, deps, input.idempotency, started, { attempt, tier: allocation.tier, steps });
	}
	throw new Error("unreachable: checkout attempts exhausted");
}

/** Phase 2 for a decided order; shared with the reconciler's view of the same rules. */
async function finishCommits(
	order: OrderRecord,
	warehouseIds: string[],
	deps: PlaceOrderDeps,
	scope: IdempotencyScope | undefined,
	started: number,
	trace: { attempt: number; tier: string; steps: Record<string, number> },
): Promise<PlaceOrderResult> {
	const commitStarted = Date.now();
	const commits = await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.commit(w, order.order_id)));
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
		const answer = scope ? { scope, status: 409, body: deps.outOfStockBody(shortages) } : undefined;
		if (!(await deps.store.cancelUnfulfillable(order, "reservation expired", answer))) {
			// The order moved on under us and is still live: its commit rows stay for the reconciler.
			log.error("checkout_unfulfillable_not_cancelled", { order_id: order.order_id, lost }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "commit" };
		}
		const undone = await Promise.allSettled(warehouseIds.map((w) => deps.warehouses.cancelHold(w, order.order_id)));
		const undoneIds = warehouseIds.filter((_, i) => undone[i]!.status === "fulfilled");
		await deps.store.cancelsDone(order.order_id, undoneIds).catch(() => {});
		log.warn("[place-order]", "cancelled_reservation_expired", { order_id: order.order_id, lost, shortages });
		return { ok: false, reason: "out_of_stock", shortages, cancelledOrderId: order.order_id };
	}
	if (done.length > 0) {
		// Clearing confirmed outbox rows is bookkeeping (a leftover row only costs the reconciler a replayed commit).
		const cleared = deps.store.commitsDone(order.order_id, done).catch(() => {});
		if (deps.defer) deps.defer(cleared);
		else await cleared;
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
		ms: Date.now() - started,
	});
	return { ok: true, order, pendingCommits: pending };
}
