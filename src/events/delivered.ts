/**
 * D1 queries of the consumer's per-order sequence (migration 0014): the last
 * sequence delivered per order, and the events parked because they arrived
 * before an earlier one of their order.
 */
import type { SequencedEvent } from "./sequence";

/** The last delivered sequence of each of these orders (absent: none yet). */
export async function deliveredSeqs(db: D1Database, orderIds: string[]): Promise<Map<string, number>> {
	if (orderIds.length === 0) return new Map();
	return cursorsOf((await deliveredSeqsStmt(db, orderIds).all<CursorRow>()).results);
}

export type CursorRow = { order_id: string; delivered_seq: number };

export function deliveredSeqsStmt(db: D1Database, orderIds: string[]): D1PreparedStatement {
	return db.prepare(`SELECT order_id, delivered_seq FROM order_event_cursor WHERE order_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(orderIds));
}

export function cursorsOf(rows: readonly CursorRow[]): Map<string, number> {
	return new Map(rows.map((r) => [r.order_id, Number(r.delivered_seq)]));
}

/** Records what was delivered; a cursor never moves back (a concurrent consumer may have gone further). */
export function advanceDeliveredStmt(db: D1Database, upTo: Map<string, number>): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO order_event_cursor (order_id, delivered_seq)
			 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true
			 ON CONFLICT (order_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq)`,
		)
		.bind(JSON.stringify([...upTo]));
}

/** Keeps events until their predecessor has been delivered (a second copy of one adds nothing). */
export async function park(db: D1Database, events: SequencedEvent[], at: string): Promise<void> {
	if (events.length === 0) return;
	await db
		.prepare(
			`INSERT INTO order_event_parked (order_id, sequence, payload, parked_at)
			 SELECT json_extract(value, '$.order_id'), json_extract(value, '$.sequence'), value, ? FROM json_each(?) WHERE true
			 ON CONFLICT DO NOTHING`,
		)
		.bind(at, JSON.stringify(events))
		.run();
}

/**
 * Takes the parked events that come next for these orders: the one after each
 * order's last delivered sequence as stored now (the caller's own reading may be
 * stale). Deleting is the claim, so of two consumers only one gets each event.
 */
export function takeNextStmt(db: D1Database, orderIds: string[]): D1PreparedStatement {
	return db
		.prepare(
			`DELETE FROM order_event_parked
			 WHERE (order_id, sequence) IN (
			   SELECT ids.value, COALESCE(c.delivered_seq, 0) + 1 FROM json_each(?) ids LEFT JOIN order_event_cursor c ON c.order_id = ids.value)
			 RETURNING payload`,
		)
		.bind(JSON.stringify(orderIds));
}

export function takenEvents(rows: ReadonlyArray<{ payload: string }>): SequencedEvent[] {
	return rows.map((r) => JSON.parse(r.payload) as SequencedEvent);
}

/**
 * Deletes up to `limit` cursors of finished orders (delivered or cancelled:
 * no status change, so no event, can follow) whose every event was delivered
 * and whose last change is older than `before` (no copy of their events can
 * still arrive), with any parked copies; returns how many cursors went. An
 * order's cursor is in its own shard, next to the order.
 */
export async function pruneFinishedCursors(db: D1Database, before: string, limit: number): Promise<number> {
	const finished = `SELECT c.order_id FROM order_event_cursor c JOIN orders o ON o.order_id = c.order_id
	  WHERE o.status IN ('delivered', 'cancelled') AND o.updated_at < ? AND c.delivered_seq >= o.event_seq LIMIT ?`;
	const [, cursors] = await db.batch([
		db.prepare(`DELETE FROM order_event_parked WHERE order_id IN (${finished})`).bind(before, limit),
		db.prepare(`DELETE FROM order_event_cursor WHERE order_id IN (${finished})`).bind(before, limit),
	]);
	return cursors?.meta.changes ?? 0;
}
