/**
 * placeOrder's dependencies as production wires them: Warehouse RPC, the
 * order store over the order shards, the orders service, the clock and the configuration.
 * Tests take the same wiring and override the parts they break.
 */
import { config } from "../config";
import type { Env } from "../env";
import { cancelUnfulfillable } from "../orders/service";
import { answerWith } from "./idempotency";
import type { PlaceOrderDeps } from "./placeOrder";
import { clearCommitsLater, commitLater } from "./commitLater";
import { customerDb, newOrderId } from "../orders/shards";
import { orderStore, warehousePort } from "./ports";

export function checkoutDeps(env: Env, over: Partial<PlaceOrderDeps> = {}): PlaceOrderDeps {
	const cfg = config(env);
	return {
		warehouses: warehousePort(env),
		store: orderStore(env),
		cancelUnfulfillable: (order, reason, answer) => cancelUnfulfillable(env, order, reason, answerWith(answer, order.order_id)),
		now: () => new Date(),
		// The order lives in its customer's shard, and its id says which.
		newOrderId: (userId) => newOrderId(customerDb(env, userId).index),
		ttlMs: cfg.reservationTtlMs,
		taxRate: cfg.taxRate,
		currency: cfg.currency,
		rates: cfg.rates,
		// Work after the answer needs the request's waitUntil to outlive it.
		...(over.defer ? { clearCommitsLater: clearCommitsLater(env, over.defer) } : {}),
		...(cfg.commitAfterAnswer && over.defer ? { commitLater: commitLater(env, over.defer) } : {}),
		...over,
	};
}
