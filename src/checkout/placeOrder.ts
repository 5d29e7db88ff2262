/**
 * Place-order, the two-phase checkout (presumed abort), in four steps, each
 * answering a union:
 *  1. plan and reserve   holds for the whole demand at the warehouses the plan
 *                        chose (./reserve.ts), after the cheap refusals
 *                        (unsellable lines, purchase limits already passed);
 *  2. decide             the order written as one D1 batch that the cart,
 *                        one-live-order and purchase-limit guards can refuse
 *                        (./decide.ts); refused, every hold is released;
 *  3. answer             now, with the commits gathered after it, or after them
 *                        when a hold could lapse first (`whenToAnswer`);
 *  4. commit             gathered after the answer (./commitLater.ts), or here
 *                        before it (./commit.ts).
 * It knows nothing of HTTP: the route turns its result into the answer
 * (./answers.ts), and `answers`, when given, into the stored idempotent answer.
 */
import type { Address } from "../cart/schema";
import type { PricedLine } from "../cart/view";
import { kitInfo, physicalDemand } from "../catalog/kits";
import type { Limits } from "../limits/queries";
import { anyLimited, type LimitExcess } from "../limits/rules";
import type { OrderRecord } from "../orders/queries";
import { log } from "../shared/log";
import type { Shortage } from "../stock/types";
import type { WarehousePlace } from "./allocation";
import { commitNow } from "./commit";
import { decide, limitExcesses } from "./decide";
import type { StoredAnswer } from "./idempotency";
import type { OrderStore, WarehousePort } from "./ports";
import type { RateTable, DeliveryMode } from "./rates";
import { planAndReserve } from "./reserve";

export { soleNearest } from "./reserve";

/** What the request answers for an outcome that lands in D1 with a change (the order, or its cancellation). */
export type Answers = (outcome: { ok: true; order: OrderRecord } | { ok: false; reason: "out_of_stock"; shortages: Shortage[] }) => StoredAnswer;

export interface PlaceOrderInput {
	userId: string;
	/** The buyer's email (token claim), kept on the order for notifications. */
	customerEmail?: string | null;
	cartId: string;
	/** The cart's version when its lines were read: the decision is refused if it moved since. */
	cartVersion: number;
	address: Address;
	lines: PricedLine[];
	/** Per-customer limits of the products the lines count (kit components too), from the catalog that priced the lines. */
	limits: Limits;
	mode: DeliveryMode;
	warehouses: WarehousePlace[];
	/** Given for a request with an Idempotency-Key: its answer is written with the decision (or the cancellation). */
	answers?: Answers;
}

export interface PlaceOrderDeps {
	warehouses: WarehousePort;
	store: OrderStore;
	/** Cancels a decided order whose stock could not be taken (the orders service); true once it is cancelled. */
	cancelUnfulfillable: (order: OrderRecord, reason: string, answer?: StoredAnswer) => Promise<boolean>;
	now: () => Date;
	/** A new order id in this customer's order shard. */
	newOrderId: (userId: string) => string;
	ttlMs: number;
	taxRate: number;
	currency: string;
	rates: RateTable;
	/** Keeps work alive after the answer (ctx.waitUntil): what commitLater and clearCommitsLater are wired with. */
	defer?: (work: Promise<unknown>) => void;
	/**
	 * Clears confirmed commits' outbox rows after the answer, gathered with other
	 * requests' (./commitLater.ts). Without it, they are cleared before the answer.
	 */
	clearCommitsLater?: (orderId: string, warehouseIds: string[]) => void;
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

/**
 * Commits go after the answer only while every hold has this long left: a hold
 * that could lapse first is committed before answering, so an order that cannot
 * be filled is still answered 409, never 201.
 */
export const COMMIT_LATER_MARGIN_MS = 30_000;

export async function placeOrder(input: PlaceOrderInput, deps: PlaceOrderDeps): Promise<PlaceOrderResult> {
	const started = Date.now();
	// Kits become their components, added up with plain lines that share a unit, before any check.
	const demand = physicalDemand(input.lines, kitInfo(input.lines));
	const refused = await refuseEarly(input, deps);
	if (refused) return refused;

	const reserved = await planAndReserve({ ...deps, newOrderId: () => deps.newOrderId(input.userId) }, input.warehouses, demand, input.address);
	if (!reserved.ok) return reserved;

	const decideStarted = Date.now();
	const decided = await decide(input, deps, reserved);
	if (!decided.ok) return decided;
	const { order } = decided;
	const trace = { started, attempt: reserved.attempt, tier: reserved.tier, steps: { ...reserved.steps, decide_ms: Date.now() - decideStarted } };

	if (deps.commitLater && whenToAnswer(true, reserved.expiresAt, deps.now().getTime()) === "before_commits") {
		deps.commitLater(order, reserved.warehouseIds);
		log.info("[place-order]", "placed", { order_id: order.order_id, attempt: trace.attempt, warehouses: reserved.warehouseIds, tier: trace.tier, commit: "after_answer", steps: trace.steps, ms: Date.now() - started });
		return { ok: true, order, pendingCommits: reserved.warehouseIds };
	}
	return commitNow(order, reserved.warehouseIds, input, deps, trace);
}

/**
 * Pure: whether the answer goes out before the commits (gathered after it) or
 * after them. Before only when commits can go later at all and every hold
 * outlives the margin.
 */
export function whenToAnswer(canCommitLater: boolean, holdsExpireAt: number, nowMs: number): "before_commits" | "after_commits" {
	return canCommitLater && holdsExpireAt - nowMs > COMMIT_LATER_MARGIN_MS ? "before_commits" : "after_commits";
}

/**
 * Refusals that need no warehouse: unsellable lines (inactive products, kits
 * with an inactive component) are short; limits the customer's live orders
 * already leave no room for (read only when a line's product has one or a line
 * is a kit). The decision's batch is what makes the limits exact.
 */
async function refuseEarly(input: PlaceOrderInput, deps: PlaceOrderDeps): Promise<PlaceOrderResult | undefined> {
	const inactive = input.lines.filter((l) => !l.sellable);
	if (inactive.length > 0) {
		const shortages = inactive.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 }));
		log.warn("[place-order]", "rejected_inactive_products", { shortages });
		return { ok: false, reason: "out_of_stock", shortages };
	}
	if (!anyLimited(input.lines)) return undefined;
	let over: LimitExcess[];
	try {
		over = await limitExcesses(input, deps);
	} catch (err) {
		log.error("checkout_limits_failed", { error: String(err) }, "[place-order]");
		return { ok: false, reason: "unavailable", step: "limits" };
	}
	if (over.length === 0) return undefined;
	log.info("[place-order]", "purchase_limit", { user_id: input.userId, excesses: over });
	return { ok: false, reason: "purchase_limit", excesses: over };
}
