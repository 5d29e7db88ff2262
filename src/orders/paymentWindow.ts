/**
 * The payment window, pure: an order still `pending` whose payment is `pending`
 * or `failed` when the window has passed since it was placed is overdue, and
 * the reconciler cancels it. A window of 0 disables it.
 */
import type { OrderState } from "./stateMachine";

export const PAYMENT_WINDOW_REASON = "payment_window_elapsed";

/** Orders placed before this instant (ISO) are past the window; null when the window is off. */
export function windowCutoff(nowMs: number, windowMs: number): string | null {
	if (windowMs <= 0) return null;
	return new Date(nowMs - windowMs).toISOString();
}

/** Whether the order is still waiting for its money (the only state the window cancels). */
export function awaitingPayment(order: OrderState): boolean {
	return order.status === "pending" && (order.payment_status === "pending" || order.payment_status === "failed");
}

/** Whether the order is overdue at `cutoff` (see windowCutoff). */
export function overdue(order: OrderState & { created_at: string }, cutoff: string | null): boolean {
	return cutoff !== null && awaitingPayment(order) && order.created_at < cutoff;
}
