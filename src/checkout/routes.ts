/**
 * Checkout endpoints: the fulfillment check and cart summary (read-only: they
 * hold nothing) and place-order, which runs the two-phase protocol with
 * Idempotency-Key semantics.
 */
import { loadActiveCart, loadCheckoutContext } from "../cart/load";
import { cartView, subtotalCents } from "../cart/view";
import { inactiveProducts, listWarehouses } from "../catalog/queries";
import { requireUnits } from "../catalog/units";
import { config } from "../config";
import type { Env } from "../env";
import { fail } from "../http/errors";
import { reply, route } from "../http/route";
import { validate } from "../http/validate";
import { placedEvent } from "../orders/placement";
import { customerDb } from "../orders/shards";
import { pricingCatalog } from "./catalog";
import { Order } from "../orders/schema";
import { toMajor } from "../shared/money";
import { sumDemand } from "../stock/demand";
import { kitInfo, physicalDemand, sellable } from "../catalog/kits";
import type { Shortage } from "../stock/types";
import type { Allocation, WarehousePlace } from "./allocation";
import { answered, recordAnswers, type CheckoutOutcome } from "./answers";
import { requestHash, withIdempotency, type IdempotencyScope } from "./idempotency";
import { plan } from "./plan";
import { placeOrder } from "./placeOrder";
import { publishSoon } from "../events/outbox";
import { checkoutDeps } from "./deps";
import { warehousePort } from "./ports";
import { deliveryOptions, deliveryQuote, totals } from "./pricing";
import type { DeliveryMode } from "./rates";
import { FulfillmentCheck, FulfillmentCheckBody, IdempotencyKeyHeader, PlaceOrderBody, Summary, SummaryQuery } from "./schema";
import type { Tier } from "./tiers";

/** Place-order for the user's active cart, as read now. */
async function checkout(env: Env, ctx: ExecutionContext, user: { id: string; email?: string | null }, mode: DeliveryMode, scope: IdempotencyScope | undefined): Promise<CheckoutOutcome> {
	// Prices come from a catalog at most PRICE_MAX_AGE_MS old (./catalog.ts); none that fresh, no order.
	const catalog = await pricingCatalog(env);
	if (!catalog) return { ok: false, reason: "unavailable", step: "catalog" };
	const { cart, lines, warehouses, limits } = await loadCheckoutContext(customerDb(env, user.id).db, env.DB, user.id, catalog);
	if (!cart || lines.length === 0) return { ok: false, reason: "cart_empty" };
	if (!cart.address) return { ok: false, reason: "address_required" };
	const defer = (work: Promise<unknown>) => ctx.waitUntil(work);
	const result = await placeOrder(
		{
			userId: user.id,
			customerEmail: user.email ?? null,
			cartId: cart.cart_id,
			cartVersion: cart.version,
			address: cart.address,
			lines,
			limits,
			mode,
			warehouses: warehouses.map(({ warehouse_id, postal_code, region, country }) => ({ warehouse_id, postal_code, region, country })),
			...(scope ? { answers: recordAnswers(scope) } : {}),
		},
		checkoutDeps(env, { defer }),
	);
	// With commits still unconfirmed, the gathered commit (or else the reconciler) announces the order once they are.
	if (result.ok && result.pendingCommits.length === 0) publishSoon(env, [placedEvent(result.order)], defer);
	return result;
}

async function activeWarehouses(env: Env): Promise<WarehousePlace[]> {
	return (await listWarehouses(env.DB, true)).map(({ warehouse_id, postal_code, region, country }) => ({ warehouse_id, postal_code, region, country }));
}

function allocationView(a: Allocation) {
	return a.ok
		? { available: true, allocations: a.allocations, shortages: [] as Shortage[] }
		: { available: false, allocations: [], shortages: a.shortages };
}

export const checkoutRoutes = [
	route({
		method: "post",
		path: "/api/fulfillment/check",
		tag: "checkout",
		summary: "Which warehouses would ship these items (holds nothing)",
		access: "user",
		body: FulfillmentCheckBody,
		responses: { 200: { description: "Allocation or shortages", schema: FulfillmentCheck } },
		errors: ["VALIDATION_ERROR", "NOT_FOUND"],
		handler: async ({ env, body }) => {
			const warehouses = await activeWarehouses(env);
			const countries = [...new Set(warehouses.map((w) => w.country))];
			const country = body.country ?? (countries.length === 1 ? countries[0]! : "");
			const address = body.postal_code || body.region ? { postal_code: body.postal_code ?? "", region: body.region ?? "", country } : null;
			const products = await requireUnits(env.DB, body.items, "items");
			// Inactive products and kits with an inactive component cannot be bought: report them short, as place-order would.
			const off = await inactiveProducts(
				env.DB,
				[...products.values()].flatMap((p) => (p.components ?? []).map((c) => c.product_id)),
			);
			const inactive = sumDemand(body.items).filter((l) => !sellable(products.get(l.product_id)!, (id) => !off.has(id)));
			if (inactive.length > 0) {
				return reply({ available: false, allocations: [], shortages: inactive.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 })) });
			}
			const demand = physicalDemand(body.items, products);
			return reply(allocationView(await plan(warehousePort(env), warehouses, demand, address)));
		},
	}),
	route({
		method: "get",
		path: "/cart/summary",
		tag: "checkout",
		summary: "Totals, delivery options and availability for the active cart (holds nothing)",
		access: "user",
		query: SummaryQuery,
		responses: { 200: { description: "The summary", schema: Summary } },
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, user, query }) => {
			const cfg = config(env);
			const { cart, lines } = await loadActiveCart(env, user.id);
			const view = cartView(cart, lines, cfg.currency);
			const demand = physicalDemand(lines, kitInfo(lines));
			// Inactive products and kits with an inactive component cannot be sold: the same shortages place-order answers with.
			const inactive = lines.filter((l) => !l.sellable).map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: 0 }));
			const allocation: Allocation =
				demand.length === 0
					? { ok: false, shortages: [] }
					: inactive.length > 0
						? { ok: false, shortages: inactive }
						: await plan(warehousePort(env), await activeWarehouses(env), demand, cart.address);
			// Without a plan (empty cart, shortages) the quote assumes the farthest tier.
			const tier: Tier = allocation.ok ? allocation.tier : "tier_3";
			const now = new Date();
			const quote = deliveryQuote(query.delivery_mode, tier, now, cfg.rates);
			const money = totals({ lines: lines.map((l) => ({ unit_price_cents: l.unit_price_cents, quantity: l.quantity })), delivery_cost_cents: quote.delivery_cost_cents, tax_rate: cfg.taxRate });
			const stock = allocationView(allocation);
			return reply({
				items: view.items,
				address: cart.address,
				delivery_mode: query.delivery_mode,
				delivery_tier: tier,
				delivery_cost: toMajor(money.delivery_cost),
				subtotal: toMajor(subtotalCents(lines)),
				tax: toMajor(money.tax),
				total: toMajor(money.total),
				currency: cfg.currency,
				estimated_delivery_date: quote.estimated_delivery_date,
				available: demand.length > 0 && stock.available,
				allocations: stock.allocations,
				shortages: stock.shortages,
				delivery_options: deliveryOptions(tier, now, cfg.rates).map((o) => ({
					delivery_mode: o.delivery_mode,
					delivery_cost: toMajor(o.delivery_cost_cents),
					estimated_delivery_date: o.estimated_delivery_date,
				})),
			});
		},
	}),
	route({
		method: "post",
		path: "/cart/place-order",
		tag: "checkout",
		summary: "Place an order for the active cart (two-phase reserve/commit across warehouses)",
		access: "user",
		body: PlaceOrderBody,
		headers: { "Idempotency-Key": { description: "1 to 255 characters; a retry with the same key replays the first answer" } },
		responseHeaders: { "Idempotent-Replayed": { description: "\"true\" when this answer is the stored answer of an earlier request with the same Idempotency-Key" } },
		responses: {
			201: {
				description:
					"The order. Its stock is held at once; by default (COMMIT_AFTER_ANSWER) the holds are committed after this answer, gathered per warehouse, within about a second. With COMMIT_AFTER_ANSWER=false they are committed before it",
				schema: Order,
			},
		},
		errors: ["VALIDATION_ERROR", "CART_EMPTY", "ADDRESS_REQUIRED", "OUT_OF_STOCK", "PURCHASE_LIMIT", "CART_CHANGED", "CONFLICT", "IDEMPOTENCY_KEY_REUSED", "SERVICE_UNAVAILABLE"],
		handler: async ({ env, ctx, user, body, request }) => {
			const rawKey = request.headers.get("idempotency-key");
			const key = rawKey === null ? undefined : { userId: user.id, key: validate(IdempotencyKeyHeader, rawKey, "header"), hash: await requestHash({ path: "/cart/place-order", body }) };
			// The key lives in the customer's shard, with the decision batch that stores its answer.
			const done = await withIdempotency(customerDb(env, user.id).db, key, async (scope) => answered(await checkout(env, ctx, user, body.delivery_mode, scope)));
			if (done.kind === "mismatch") fail("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different request.");
			if (done.kind === "running") fail("CONFLICT", "A request with this Idempotency-Key is still in progress.");
			return reply(done.answer.body, done.answer.status, done.replayed ? { "Idempotent-Replayed": "true" } : undefined);
		},
	}),
];
