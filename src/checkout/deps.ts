/**
 * placeOrder's dependencies as production wires them: Warehouse RPC, the D1
 * order store (publishing events right away), the clock and the configuration.
 * Tests take the same wiring and override the parts they break.
 */
import { config } from "../config";
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { errorBody } from "../http/errors";
import { toApiError } from "../http/failures";
import { orderView } from "../orders/queries";
import type { PlaceOrderDeps } from "./placeOrder";
import { commitLater } from "./commitLater";
import { orderStore, warehousePort } from "./ports";

export function newOrderId(): string {
	return `ord_${crypto.randomUUID().replaceAll("-", "")}`;
}

export function checkoutDeps(env: Env, over: Partial<PlaceOrderDeps> = {}): PlaceOrderDeps {
	const cfg = config(env);
	return {
		warehouses: warehousePort(env),
		store: orderStore(env.DB, { onEvents: (events) => publish(env, events), waitUntil: over.defer }),
		now: () => new Date(),
		newOrderId,
		ttlMs: cfg.reservationTtlMs,
		taxRate: cfg.taxRate,
		currency: cfg.currency,
		rates: cfg.rates,
		answerBody: orderView,
		outOfStockBody: (shortages) => errorBody(toApiError({ ok: false, reason: "out_of_stock", shortages })),
		// Phase 2 after the answer needs the request's waitUntil to outlive it.
		...(cfg.commitAfterAnswer && over.defer ? { commitLater: commitLater(env, over.defer) } : {}),
		...over,
	};
}
