/**
 * How long the queue consumer remembers an event it delivered
 * (processed_events), and the prune that forgets older ones.
 *
 * A record only has to outlive the last copy of its event that can still
 * arrive: the queue's own redelivery (at most 5 tries, delays up to 300 s) and
 * the reconciler re-sending an outbox row whose delete failed (every minute)
 * both come within minutes. A day is kept: a wide margin over that, and over
 * the payment signature's 300 s tolerance for anything de-duplicated here
 * because of a provider's event (a replay older than 300 s is refused by the
 * signature check before any de-duplication is asked).
 */
export const PROCESSED_EVENTS_KEEP_MS = 24 * 60 * 60 * 1000;

/** Deletes up to `limit` records processed before `before`, oldest first; returns how many. */
export async function pruneProcessed(db: D1Database, before: string, limit: number): Promise<number> {
	const r = await db
		.prepare(`DELETE FROM processed_events WHERE event_id IN (SELECT event_id FROM processed_events WHERE processed_at < ? ORDER BY processed_at LIMIT ?)`)
		.bind(before, limit)
		.run();
	return r.meta.changes ?? 0;
}
