/**
 * The order state machine, pure. Fulfilment: pending -> paid -> processing ->
 * shipped -> delivered; pending, paid or processing -> cancelled. Payment:
 * pending -> paid | failed, failed -> paid (a retried payment); money to give
 * back (a paid order cancelled, a double charge, a payment after cancellation)
 * -> refund_pending, with the refund's cause; refund_pending -> refunded once
 * the provider has confirmed every refund of the order, and back to
 * refund_pending when one fails. Anything else is invalid_transition.
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
	| { type: "payment_failed" }
	/** A successful payment for an order whose money was already taken. */
	| { type: "double_charge" }
	/** The provider confirmed or failed a refund; `outstanding`: the order's refunds not yet confirmed, as of now. */
	| { type: "refunds_settled"; outstanding: number };

/** Why money goes back; each names the charge to refund (see src/payments/refunds.ts). */
export type RefundCause = "order_cancelled" | "double_charge" | "paid_after_cancel";

export type Transition =
	| { ok: true; next: OrderState; refund: RefundCause | null; restock: boolean }
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

/** The order's own charge is held: paid, or paid with another charge being (or already) given back. */
export function moneyTaken(p: PaymentStatus): boolean {
	return p === "paid" || p === "refund_pending" || p === "refunded";
}

function cancel(from: OrderState, event: OrderEvent): Transition {
	if (!canMove(from.status, "cancelled")) return invalid(from, event);
	const refund = moneyTaken(from.payment_status);
	return { ok: true, next: { status: "cancelled", payment_status: refund ? "refund_pending" : from.payment_status }, refund: refund ? "order_cancelled" : null, restock: true };
}

function settled(from: OrderState, event: OrderEvent & { type: "refunds_settled" }): Transition {
	if (from.payment_status !== "refund_pending" && from.payment_status !== "refunded") return invalid(from, event);
	const payment_status: PaymentStatus = event.outstanding > 0 ? "refund_pending" : "refunded";
	return { ok: true, next: { status: from.status, payment_status }, refund: null, restock: false };
}

export function transition(from: OrderState, event: OrderEvent): Transition {
	switch (event.type) {
		case "cancel":
			return cancel(from, event);
		case "set_status": {
			if (event.to === "cancelled") return cancel(from, event);
			if (!canMove(from.status, event.to)) return invalid(from, event);
			// Marking an order paid by hand records the payment too.
			if (event.to === "paid" && (from.payment_status === "refund_pending" || from.payment_status === "refunded")) return invalid(from, event);
			const payment_status: PaymentStatus = event.to === "paid" ? "paid" : from.payment_status;
			return { ok: true, next: { status: event.to, payment_status }, refund: null, restock: false };
		}
		case "payment_succeeded": {
			if (from.payment_status !== "pending" && from.payment_status !== "failed") return invalid(from, event);
			if (from.status === "pending") return { ok: true, next: { status: "paid", payment_status: "paid" }, refund: null, restock: false };
			// Money arrived for an order already cancelled: take it and give it straight back.
			if (from.status === "cancelled") return { ok: true, next: { status: "cancelled", payment_status: "refund_pending" }, refund: "paid_after_cancel", restock: false };
			return { ok: true, next: { status: from.status, payment_status: "paid" }, refund: null, restock: false };
		}
		case "payment_failed": {
			if (from.payment_status !== "pending") return invalid(from, event);
			return { ok: true, next: { status: from.status, payment_status: "failed" }, refund: null, restock: false };
		}
		case "double_charge": {
			if (!moneyTaken(from.payment_status)) return invalid(from, event);
			return { ok: true, next: { status: from.status, payment_status: "refund_pending" }, refund: "double_charge", restock: false };
		}
		case "refunds_settled":
			return settled(from, event);
	}
}
