/**
 * The `order-events` queue as tests drive it: one batch handed to the Worker's
 * queue handler as the queue would deliver it, and an order's status events
 * numbered as the gateway numbers them.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import type { OrderStatusChanged, StockgateEvent } from "../../src/events/types";
import worker from "../../src/index";
import { newOrderId } from "../../src/orders/shards";
import { uid } from "./http";

/** Delivers `bodies` as one batch (each message on its `attempts`-th try); the messages' ids and what the handler acked or retried. */
export async function deliverBatch(bodies: unknown[], e: Env = env, attempts = 1) {
	const batch = createMessageBatch<StockgateEvent>(
		"order-events",
		bodies.map((body) => ({ id: uid("qmsg"), timestamp: new Date(), attempts, body: body as StockgateEvent })),
	);
	const ctx = createExecutionContext();
	await (worker.queue as ExportedHandlerQueueHandler<Env, StockgateEvent>)(batch, e, ctx);
	const result = await getQueueResult(batch, ctx);
	return { ids: batch.messages.map((m) => m.id), result };
}

/**
 * A new order's status events on `shard`: placed (sequence 1, `evt_placed_<id>`),
 * then one per status of `path`, each paid after the placement (a cancellation
 * keeps it pending).
 */
export function orderStatusEvents(path: string[], opts: { shard?: number; email?: string | null } = {}): OrderStatusChanged[] {
	const order_id = newOrderId(opts.shard ?? 1);
	let previous: string | null = null;
	return ["pending", ...path].map((status, i) => {
		const e: OrderStatusChanged = {
			event_id: i === 0 ? `evt_placed_${order_id}` : uid("evt_test"),
			type: "order.status_changed",
			occurred_at: new Date(Date.now() + i).toISOString(),
			order_id,
			user_id: "user-1",
			customer_email: opts.email === undefined ? "ada@example.com" : opts.email,
			old_status: previous,
			new_status: status,
			payment_status: status === "cancelled" ? "pending" : i > 0 ? "paid" : "pending",
			tracking_number: status === "shipped" ? "1Z-ORDER" : null,
			total: 10,
			currency: "USD",
			changed_by: "admin-1",
			reason: null,
			sequence: i + 1,
		};
		previous = status;
		return e;
	});
}
