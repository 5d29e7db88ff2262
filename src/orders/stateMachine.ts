/**
 * The order state machine, pure. Fulfilment: pending -> paid -> processing ->
 * shipped -> delivered; pending, paid or processing -> cancelled. Payment:
 * pending -> paid | failed, failed -> paid (a retried payment), paid -> refunded
 * when a paid order is cancelled. Anything else is invalid_transition.
 */
import type { OrderStatus, PaymentStatus } from "./schema";

export interface OrderState {
	status: OrderStatus;
	payment_status: PaymentStatus;
}

export type OrderEvent =
	| { type: "set_status"; to: OrderStatus }
	| { type: "cancel" }
	| { type: "payment_succeeded" }
	| { type: "payment_failed" };

export type Transition =
	| { ok: true; next: OrderState; refund: boolean; restock: boolean }
	| { ok: false; reason: "invalid_transition"; from: OrderState; event: OrderEvent["type"] };

const FORWARD: Record<OrderStatus, OrderStatus[]> = {
	pending: ["paid", "cancelled"],
	paid: ["processing", "cancelled"],
	processing: ["shipped", "cancelled"],
	shipped: ["delivered"],
	delivered: [],
	cancelled: [],
};

export function canMove(from: OrderStatus, to: OrderStatus): boolean {
	return FORWARD[from].includes(to);
}

function invalid(from: OrderState, event: OrderEvent): Transition {
	return { ok: false, reason: "invalid_transition", from, event: event.type };
}

function cancel(from: OrderState, event: OrderEvent): Transition {
	if (!canMove(from.status, "cancelled")) return invalid(from, event);
	const refund = from.payment_status === "paid";
	return { ok: true, next: { status: "cancelled", payment_status: refund ? "refunded" : from.payment_status }, refund, restock: true };
}

export function transition(from: OrderState, event: OrderEvent): Transition {
	switch (event.type) {
		case "cancel":
			return cancel(from, event);
		case "set_status": {
			if (event.to === "cancelled") return cancel(from, event);
			if (!canMove(from.status, event.to)) return invalid(from, event);
			// Marking an order paid by hand records the payment too.
			const payment_status: PaymentStatus = event.to === "paid" ? "paid" : from.payment_status;
			if (event.to === "paid" && from.payment_status === "refunded") return invalid(from, event);
			return { ok: true, next: { status: event.to, payment_status }, refund: false, restock: false };
		}
		case "payment_succeeded": {
			if (from.payment_status !== "pending" && from.payment_status !== "failed") return invalid(from, event);
			if (from.status === "pending") return { ok: true, next: { status: "paid", payment_status: "paid" }, refund: false, restock: false };
			// Money arrived for an order already cancelled: take it and give it straight back.
			if (from.status === "cancelled") return { ok: true, next: { status: "cancelled", payment_status: "refunded" }, refund: true, restock: false };
			return { ok: true, next: { status: from.status, payment_status: "paid" }, refund: false, restock: false };
		}
		case "payment_failed": {
			if (from.payment_status !== "pending") return invalid(from, event);
			return { ok: true, next: { status: from.status, payment_status: "failed" }, refund: false, restock: false };
		}
	}
}
