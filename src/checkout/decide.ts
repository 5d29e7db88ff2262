/**
 * Step 2 of place-order, decide: the order built from the holds (pure), then
 * written as one D1 batch (../orders/placement.ts) that every guard can refuse.
 * Until the batch lands, any failure releases every hold; once it has, nothing
 * is released: the order row is the commit decision. A batch whose outcome was
 * lost is resolved by asking whether the order row exists.
 */
import { attribute, kitInfo } from "../catalog/kits";
import { countedUnits, excesses, type LimitExcess } from "../limits/rules";
import { PLACED_STATE } from "../orders/placement";
import type { OrderRecord } from "../orders/queries";
import { log } from "../shared/log";
import type { StoredAnswer } from "./idempotency";
import type { PlaceOrderDeps, PlaceOrderInput } from "./placeOrder";
import { deliveryQuote, totals } from "./pricing";
import { REFUSALS, type Refused } from "./refusals";
import { byWarehouse, releaseAll, type Reserved } from "./reserve";

export type Decided = { ok: true; order: OrderRecord } | Refused | { ok: false; reason: "unavailable"; step: "build" | "decide" };

/** The order this attempt's holds make, priced at `now`. Pure. */
export function buildOrder(input: PlaceOrderInput, config: Pick<PlaceOrderDeps, "rates" | "taxRate" | "currency">, reserved: Pick<Reserved, "orderId" | "allocations" | "tier">, now: Date): OrderRecord {
	const quote = deliveryQuote(input.mode, reserved.tier, now, config.rates);
	const money = totals({
		lines: input.lines.map((l) => ({ unit_price_cents: l.unit_price_cents, quantity: l.quantity })),
		delivery_cost_cents: quote.delivery_cost_cents,
		tax_rate: config.taxRate,
	});
	const at = now.toISOString();
	// Plain lines and kit components that share a unit share its allocations (kits.ts attribute()).
	const attributed = attribute(input.lines, kitInfo(input.lines), reserved.allocations);
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
		order_id: reserved.orderId,
		user_id: input.userId,
		cart_id: input.cartId,
		...PLACED_STATE,
		products,
		address: input.address,
		delivery_mode: input.mode,
		delivery_tier: reserved.tier,
		subtotal: money.subtotal,
		delivery_cost: money.delivery_cost,
		tax: money.tax,
		total: money.total,
		currency: config.currency,
		estimated_delivery_date: quote.estimated_delivery_date,
		tracking_number: null,
		customer_email: input.customerEmail ?? null,
		event_seq: 1,
		created_at: at,
		updated_at: at,
	};
}

/**
 * The limited products these lines would take past their limit, with the live
 * orders as they are now; a kit line counts as its kit and as its components.
 * `all`: list every limited product even when none is over any more (the
 * decision batch said one was: its counters moved since).
 */
export async function limitExcesses(input: Pick<PlaceOrderInput, "lines" | "userId" | "limits">, deps: Pick<PlaceOrderDeps, "store">, all = false): Promise<LimitExcess[]> {
	const requested = countedUnits(input.lines);
	const allowances = await deps.store.allowances(input.userId, [...requested.keys()], input.limits);
	const over = excesses(requested, allowances);
	if (over.length > 0 || !all) return over;
	return [...requested].flatMap(([product_id, units]) => {
		const a = allowances.get(product_id);
		return a && a.limit !== null ? [{ product_id, limit: a.limit, already: a.already, requested: units }] : [];
	});
}

export async function decide(input: PlaceOrderInput, deps: PlaceOrderDeps, reserved: Reserved): Promise<Decided> {
	const { orderId, warehouseIds } = reserved;
	const linesAt = byWarehouse(reserved.allocations);
	let order: OrderRecord;
	let answer: StoredAnswer | undefined;
	try {
		order = buildOrder(input, deps, reserved, deps.now());
		answer = input.answers?.({ ok: true, order });
	} catch (err) {
		// A bug, but the holds are ours and nothing was decided: give them back now, not at their ttl.
		await releaseAll(deps.warehouses, orderId, warehouseIds, "build_failed", linesAt);
		log.error("checkout_build_failed", { order_id: orderId, error: String(err), stack: err instanceof Error ? err.stack : undefined }, "[place-order]");
		return { ok: false, reason: "unavailable", step: "build" };
	}
	let decided: Awaited<ReturnType<typeof deps.store.decide>>;
	try {
		decided = await deps.store.decide({ order, cartVersion: input.cartVersion, warehouseIds, limits: input.limits }, answer);
	} catch (err) {
		// The batch may have landed even though we saw an error: ask before releasing anything.
		const exists = await deps.store.orderExists(orderId).catch(() => undefined);
		if (exists === undefined) {
			// Unknown outcome: keep the holds; at expiry the alarm reads D1 and commits or releases.
			log.error("checkout_decision_unknown", { order_id: orderId, error: String(err) }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "decide" };
		}
		if (!exists) {
			await releaseAll(deps.warehouses, orderId, warehouseIds, "decision_failed", linesAt);
			log.error("checkout_decision_failed", { order_id: orderId, error: String(err) }, "[place-order]");
			return { ok: false, reason: "unavailable", step: "decide" };
		}
		decided = "ok";
	}
	if (decided === "ok") return { ok: true, order };
	const refusal = REFUSALS[decided];
	await releaseAll(deps.warehouses, orderId, warehouseIds, refusal.why, linesAt);
	log.warn("[place-order]", "race_lost", { order_id: orderId, why: refusal.why });
	const over = refusal.readsLimits ? await limitExcesses(input, deps, true).catch(() => [] as LimitExcess[]) : [];
	return refusal.result(over);
}
