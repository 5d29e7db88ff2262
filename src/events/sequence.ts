/**
 * An order's events go out in their sequence. Pure rules shared by the
 * gateway's outbox (which events may be handed to the queue now) and the queue
 * consumer (which arrived events may be delivered now, which wait for an
 * earlier one).
 */
import type { OrderStatusChanged, StockgateEvent } from "./types";

/** An order event with its sequence (events written before sequences existed have none). */
export type SequencedEvent = OrderStatusChanged & { sequence: number };

export function isSequenced(e: StockgateEvent): e is SequencedEvent {
	return e.type === "order.status_changed" && typeof e.sequence === "number" && Number.isInteger(e.sequence) && e.sequence >= 1;
}

/** An order's event still in the gateway's outbox. */
export interface OutboxEntry {
	order_id: string;
	sequence: number;
	/** Not to be sent yet: the order's "placed" event while its commits are unconfirmed (it may still be withdrawn). */
	held: boolean;
}

/**
 * Pure: which outbox entries may go to the queue now, in the order to send
 * them. Per order, in sequence, up to the first held one: a later event never
 * leaves while an earlier one of its order is still in the outbox, unless that
 * one goes in the same send, before it.
 */
export function releasable<T extends OutboxEntry>(entries: readonly T[]): T[] {
	const byOrder = new Map<string, T[]>();
	for (const e of entries) {
		const list = byOrder.get(e.order_id);
		if (list) list.push(e);
		else byOrder.set(e.order_id, [e]);
	}
	const out: T[] = [];
	for (const list of byOrder.values()) {
		list.sort((a, b) => a.sequence - b.sequence);
		for (const e of list) {
			if (e.held) break;
			out.push(e);
		}
	}
	return out;
}

/** What the consumer does with an order's arrived events, given the last sequence it delivered for that order. */
export interface ConsumerPlan<T> {
	/** In sequence, each the successor of the one before (the first follows `delivered`). */
	deliver: T[];
	/** Already delivered (a redelivery or a duplicate). */
	duplicate: T[];
	/** Ahead of a missing earlier one: kept until that one has been delivered. */
	park: T[];
}

/** Pure: sorts one order's arrived events against its delivered sequence (0: none yet). */
export function planOrder<T extends { sequence: number }>(delivered: number, arrived: readonly T[]): ConsumerPlan<T> {
	const plan: ConsumerPlan<T> = { deliver: [], duplicate: [], park: [] };
	let next = delivered + 1;
	for (const e of [...arrived].sort((a, b) => a.sequence - b.sequence)) {
		if (e.sequence < next) plan.duplicate.push(e);
		else if (e.sequence === next) {
			plan.deliver.push(e);
			next++;
		} else plan.park.push(e);
	}
	return plan;
}
