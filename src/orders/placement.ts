/**
 * The checkout decision: one D1 batch that places an order, built here and
 * nowhere else, run on the customer's order shard (where the cart, counters
 * and idempotency key live, and the order id names). In order:
 *  1. the cart completed at the version it was read with: refused, failing the
 *     whole batch, when it is no longer active (CART_TAKEN) or changed since
 *     (CART_CHANGED), by the named CHECKs on carts.checkout_refusal (migration
 *     0017); first, so a cart that moved is refused before a limit is judged;
 *  2. the order row (the unique live order per cart refuses a second one);
 *  3. its units added to the customer's purchase counters (refused past a
 *     limit by the counters' CHECK `purchase_limit`);
 *  4. a `commit` outbox row per warehouse;
 *  then the caller's own statements (the idempotent answer).
 * Four statements, one per table; any refusal writes nothing. Changes write
 * their history rows, outbox rows and events with the same builders
 * (./rows.ts, ../limits, ../events).
 *
 * Two facts of a placement are no rows of their own, as the order row
 * determines them: its first history row (the view `order_history`, migration
 * 0021, derives it, as `placedHistory` describes it) and its "placed" event
 * (sequence 1: the order row says it is still to be sent, `announce_pending`
 * = 1, and `placedEvent` builds it from the row, which the event outbox reads
 * as one of its rows, ../events/outbox.ts).
 */
import type { OrderStatusChanged } from "../events/types";
import { countersStmt, type Limits } from "../limits/queries";
import { UNGATED } from "../shared/gate";
import { toMajor } from "../shared/money";
import type { OrderRecord } from "./queries";
import { outboxStmt, type HistoryRow } from "./rows";

/** The reason on a new order's history row (the view `order_history` spells it in SQL) and on its "placed" event. */
export const PLACED_REASON = "order placed";

export function placedEventId(orderId: string): string {
	return `evt_placed_${orderId}`;
}

/** What every order is when it is placed (../checkout/decide.ts builds it so), and so what its "placed" event says. */
export const PLACED_STATE = { status: "pending", payment_status: "pending" } as const;

/** What a "placed" event is built from: fields of the order row that never change after its creation. */
export type PlacedFacts = Pick<OrderRecord, "order_id" | "user_id" | "customer_email" | "total" | "currency" | "created_at">;

/**
 * The event of an order's creation: its id is derived from the order, so a
 * replayed decision cannot duplicate it. It says the order as placed
 * (PLACED_STATE), never its status now: the outbox builds it from the row
 * while the order may already have moved on.
 */
export function placedEvent(order: PlacedFacts): OrderStatusChanged {
	return {
		event_id: placedEventId(order.order_id),
		type: "order.status_changed",
		occurred_at: order.created_at,
		order_id: order.order_id,
		user_id: order.user_id,
		customer_email: order.customer_email,
		old_status: null,
		new_status: PLACED_STATE.status,
		payment_status: PLACED_STATE.payment_status,
		tracking_number: null,
		total: toMajor(order.total),
		currency: order.currency,
		changed_by: order.user_id,
		reason: PLACED_REASON,
		sequence: 1,
	};
}

/**
 * An order's first history row, as the view `order_history` derives it from the
 * order row (and as earlier versions stored it): the decision writes no row.
 */
export function placedHistory(order: PlacedFacts): HistoryRow {
	return { order_id: order.order_id, old_status: null, new_status: PLACED_STATE.status, changed_by: order.user_id, reason: PLACED_REASON, created_at: order.created_at };
}

export interface Placement {
	order: OrderRecord;
	/** The cart's version when its lines were read. */
	cartVersion: number;
	/** The warehouses whose holds the order promises to commit. */
	warehouseIds: readonly string[];
	/** Per-customer limits of the products the order counts, from the catalog that priced it: its counters' caps. */
	limits: Limits;
}

/** Completes the cart, or fails the batch when it is taken or moved (the constraint does the refusing). */
export function completeCartStmt(db: D1Database, cartId: string | null, cartVersion: number, at: string): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE carts SET status = 'completed', completed_at = ?1, updated_at = ?1,
			   checkout_refusal = CASE WHEN status <> 'active' THEN 'CART_TAKEN' WHEN version IS NOT ?2 THEN 'CART_CHANGED' END
			 WHERE cart_id = ?3`,
		)
		.bind(at, cartVersion, cartId);
}

export function insertOrderStmt(db: D1Database, o: OrderRecord): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO orders (order_id, user_id, cart_id, products, address, delivery_mode, delivery_tier, subtotal, delivery_cost, tax, total, currency,
			   status, payment_status, estimated_delivery_date, tracking_number, customer_email, event_seq, created_at, updated_at, announce_pending)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		)
		.bind(
			o.order_id,
			o.user_id,
			o.cart_id,
			JSON.stringify(o.products),
			JSON.stringify(o.address),
			o.delivery_mode,
			o.delivery_tier,
			o.subtotal,
			o.delivery_cost,
			o.tax,
			o.total,
			o.currency,
			o.status,
			o.payment_status,
			o.estimated_delivery_date,
			o.tracking_number,
			o.customer_email,
			o.event_seq,
			o.created_at,
			o.updated_at,
		);
}

/** The decision's statements, for one `db.batch` (the caller's `extra` last). */
export function placementStmts(db: D1Database, p: Placement, extra: readonly D1PreparedStatement[] = []): D1PreparedStatement[] {
	const { order } = p;
	const at = order.created_at;
	return [
		completeCartStmt(db, order.cart_id, p.cartVersion, at),
		insertOrderStmt(db, order),
		countersStmt(db, order, "add", UNGATED, p.limits),
		outboxStmt(db, order.order_id, p.warehouseIds, "commit", at),
		...extra,
	];
}

export type PlacementRefusal = "cart_taken" | "cart_changed" | "purchase_limit";

/** Which guard refused a failed decision batch; undefined for anything else (an infrastructure failure). */
export function placementRefusal(err: unknown): PlacementRefusal | undefined {
	const msg = err instanceof Error ? err.message : String(err);
	if (/CHECK constraint failed: CART_CHANGED/.test(msg)) return "cart_changed";
	if (/CHECK constraint failed: CART_TAKEN|UNIQUE constraint failed: orders\.cart_id/.test(msg)) return "cart_taken";
	if (/CHECK constraint failed: purchase_limit/.test(msg)) return "purchase_limit";
	return undefined;
}
