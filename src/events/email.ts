/**
 * Customer emails for order events: placed, shipped (with tracking number),
 * cancelled. Pure composition; sending is the consumer's job.
 */
import { PAYMENT_WINDOW_REASON } from "../orders/paymentWindow";
import type { OrderStatusChanged } from "./types";

export interface Email {
	to: string;
	subject: string;
	text: string;
}

function money(total: number, currency: string): string {
	return `${total.toFixed(2)} ${currency}`;
}

/** The email for a status change, or null when that change is not mailed. */
export function emailFor(e: OrderStatusChanged): Omit<Email, "to"> | null {
	if (e.old_status === e.new_status) return null;
	switch (e.new_status) {
		case "pending":
			return e.old_status === null
				? { subject: `Order ${e.order_id} received`, text: `Thank you for your order ${e.order_id} (${money(e.total, e.currency)}). We will email you when it ships.` }
				: null;
		case "shipped":
			return {
				subject: `Order ${e.order_id} has shipped`,
				text: `Your order ${e.order_id} is on its way.${e.tracking_number ? ` Tracking number: ${e.tracking_number}.` : ""}`,
			};
		case "cancelled":
			return {
				subject: `Order ${e.order_id} cancelled`,
				text: `Your order ${e.order_id} was cancelled${e.reason === PAYMENT_WINDOW_REASON ? " because its payment did not arrive in time" : e.reason ? ` (${e.reason})` : ""}.${e.payment_status === "refund_pending" || e.payment_status === "refunded" ? ` Your payment of ${money(e.total, e.currency)} will be refunded.` : ""}`,
			};
		default:
			return null;
	}
}
