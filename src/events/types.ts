/**
 * Events published to the `order-events` queue. Every event has a unique
 * `event_id`; consumers de-duplicate on it (delivery is at-least-once).
 */
import type { Transfer } from "../transfers/schema";

export interface OrderStatusChanged {
	event_id: string;
	type: "order.status_changed";
	occurred_at: string;
	order_id: string;
	user_id: string;
	customer_email: string | null;
	old_status: string | null;
	new_status: string;
	payment_status: string;
	tracking_number: string | null;
	total: number;
	currency: string;
	changed_by: string;
	reason: string | null;
	/**
	 * The order's events are numbered 1 ("placed"), 2, 3... in the order they
	 * happened; receivers are handed them in that order. Absent only on events
	 * written before sequences existed.
	 */
	sequence?: number;
}

/** Asks the shop's payment system (the generic provider) to give a charge back; confirmed by refund.succeeded on POST /payments/webhook. */
export interface RefundRequested {
	event_id: string;
	type: "payment.refund_requested";
	occurred_at: string;
	order_id: string;
	/** The payment event whose charge is given back; null for an order marked paid by hand. */
	payment_event_id: string | null;
	amount: number;
	currency: string;
	reason: "order_cancelled" | "double_charge" | "paid_after_cancel";
}

export interface StockLow {
	event_id: string;
	type: "stock.low";
	occurred_at: string;
	warehouse_id: string;
	product_id: string;
	size: string;
	on_hand: number;
	threshold: number;
}

/** A unit's levels at a warehouse after a change; gathered by the Warehouse (at most one per unit per second). */
export interface StockChanged {
	event_id: string;
	type: "stock.changed";
	occurred_at: string;
	warehouse_id: string;
	product_id: string;
	size: string;
	on_hand: number;
	reserved: number;
	available: number;
}

/** A transfer between warehouses went in transit, was received or was cancelled; `transfer` is its API view. */
export interface TransferUpdated {
	event_id: string;
	type: "transfer.updated";
	occurred_at: string;
	transfer: Transfer;
}

export type StockgateEvent = OrderStatusChanged | RefundRequested | StockLow | StockChanged | TransferUpdated;
