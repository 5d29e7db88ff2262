/**
 * What else happens when a decided order is cancelled because its stock could
 * not be taken (a hold lapsed and its units were sold): statements that land
 * in the cancellation's own batch, each only if that cancellation won (the
 * order carries its change id), so a lost race writes nothing.
 *
 * - The cart comes back. The decision completed it; if the buyer has no active
 *   cart since, the same cart is active again with its lines (one LIVE order
 *   per cart, so it can be ordered again). If the buyer already started a new
 *   cart, that one stays active and gains the order's lines (a unit both have
 *   keeps the larger quantity; the merge may take the cart past the line cap,
 *   which then only refuses further new lines).
 * - The order is never announced. Its "placed" event is held back until its
 *   commits are confirmed (src/events/outbox.ts), so while it is still in the
 *   outbox (pending on the order row, or a row for an order placed before
 *   that) nobody was told: it is withdrawn (the flag cleared, the row deleted)
 *   together with the cancellation's status event. If it had already gone out
 *   (the buyer saw a 201), the cancellation is announced as usual.
 */
import { placedEventId } from "./placement";
import type { OrderRecord } from "./queries";

const WON = `EXISTS (SELECT 1 FROM orders WHERE order_id = ?4 AND change_id = ?5)`;

export function unfulfillableStmts(db: D1Database, order: OrderRecord, changeId: string, at: string): D1PreparedStatement[] {
	if (!order.cart_id) return [];
	const binds = [at, order.cart_id, order.user_id, order.order_id, changeId] as const;
	return [
		db
			.prepare(
				`UPDATE carts SET status = 'active', completed_at = NULL, updated_at = ?1
				 WHERE cart_id = ?2 AND status = 'completed' AND NOT EXISTS (SELECT 1 FROM carts WHERE user_id = ?3 AND status = 'active') AND ${WON}`,
			)
			.bind(...binds),
		db
			.prepare(
				`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
				 SELECT a.cart_id, i.product_id, i.size, i.quantity, ?1 FROM cart_items i JOIN carts a ON a.user_id = ?3 AND a.status = 'active' AND a.cart_id <> ?2
				 WHERE i.cart_id = ?2 AND ${WON}
				 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = MAX(quantity, excluded.quantity)`,
			)
			.bind(...binds),
		// Before the flag is cleared: the placed event still unsent is what the condition reads.
		db
			.prepare(
				`DELETE FROM event_outbox
				 WHERE json_extract(payload, '$.order_id') = ?4 AND json_extract(payload, '$.type') = 'order.status_changed'
				   AND (EXISTS (SELECT 1 FROM event_outbox WHERE event_id = ?6) OR EXISTS (SELECT 1 FROM orders WHERE order_id = ?4 AND announce_pending = 1))
				   AND ${WON}`,
			)
			.bind(...binds, placedEventId(order.order_id)),
		db.prepare(`UPDATE orders SET announce_pending = 0 WHERE order_id = ?4 AND announce_pending = 1 AND ${WON}`).bind(...binds),
	];
}

/** Which of these event rows are still in the outbox (the others were withdrawn with their order): for a change's own events, never a placed one. */
export async function stillQueued(db: D1Database, eventIds: string[]): Promise<Set<string>> {
	if (eventIds.length === 0) return new Set();
	const { results } = await db
		.prepare(`SELECT event_id FROM event_outbox WHERE event_id IN (SELECT value FROM json_each(?))`)
		.bind(JSON.stringify(eventIds))
		.all<{ event_id: string }>();
	return new Set(results.map((r) => r.event_id));
}
