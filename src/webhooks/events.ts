/**
 * Which of stockgate's internal events the shop's systems hear about, and as
 * what: order.status_changed becomes order.placed / paid / cancelled /
 * shipped / delivered (the move to processing is not sent, so an endpoint's
 * sequence numbers of an order may skip it); stock and transfer events and
 * payment.refund_requested keep their type. Pure.
 */
import type { StockgateEvent } from "../events/types";
import type { OrderEventData, WebhookEvent, WebhookEventType } from "./schema";

const ORDER_TYPES: Partial<Record<string, WebhookEventType>> = {
	paid: "order.paid",
	cancelled: "order.cancelled",
	shipped: "order.shipped",
	delivered: "order.delivered",
};

function orderType(oldStatus: string | null, newStatus: string): WebhookEventType | null {
	if (oldStatus === newStatus) return null;
	if (newStatus === "pending") return oldStatus === null ? "order.placed" : null;
	return ORDER_TYPES[newStatus] ?? null;
}

/** The webhook event for `e`, or null when it is not one the shop's systems receive. */
export function toWebhookEvent(e: StockgateEvent): WebhookEvent | null {
	const base = { id: e.event_id, occurred_at: e.occurred_at };
	switch (e.type) {
		case "order.status_changed": {
			const type = orderType(e.old_status, e.new_status);
			if (!type) return null;
			return {
				...base,
				type,
				data: {
					order_id: e.order_id,
					user_id: e.user_id,
					status: e.new_status,
					previous_status: e.old_status,
					payment_status: e.payment_status,
					total: e.total,
					currency: e.currency,
					tracking_number: e.tracking_number,
					changed_by: e.changed_by,
					reason: e.reason,
					sequence: e.sequence ?? null,
				} satisfies OrderEventData,
			};
		}
		case "stock.low":
			return { ...base, type: "stock.low", data: { warehouse_id: e.warehouse_id, product_id: e.product_id, size: e.size, on_hand: e.on_hand, threshold: e.threshold } };
		case "stock.changed":
			return {
				...base,
				type: "stock.changed",
				data: { warehouse_id: e.warehouse_id, product_id: e.product_id, size: e.size, on_hand: e.on_hand, reserved: e.reserved, available: e.available },
			};
		case "transfer.updated":
			return { ...base, type: "transfer.updated", data: { ...e.transfer } };
		case "payment.refund_requested":
			return {
				...base,
				type: "payment.refund_requested",
				data: { order_id: e.order_id, payment_event_id: e.payment_event_id, amount: e.amount, currency: e.currency, reason: e.reason },
			};
	}
}
