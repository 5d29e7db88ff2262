/**
 * The gateway's event outbox: events are inserted into D1 in the same batch as
 * the change they describe (so a crash cannot lose them), sent to the queue
 * right after, and deleted once sent. The reconciler re-sends leftovers.
 * The checkout hot path sends through `publishSoon`, which gathers the events
 * of concurrent orders into one queue send and one D1 delete.
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import { Coalescer, coalescerPer, type WaitUntil } from "../shared/coalescer";
import type { StockgateEvent } from "./types";

/** How long an event waits for others before the batch goes out (the queue's own batching adds its timeout on top). */
export const PUBLISH_WINDOW_MS = 50;
/** A queue sendBatch takes at most 100 messages. */
const PUBLISH_MAX = 100;

export function eventStmt(db: D1Database, event: StockgateEvent): D1PreparedStatement {
	return db.prepare(`INSERT INTO event_outbox (event_id, payload, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`).bind(event.event_id, JSON.stringify(event), event.occurred_at);
}

/** Inserted only if the order still carries `changeId`, i.e. the change this event describes won. */
export function eventIfChangeStmt(db: D1Database, event: StockgateEvent, orderId: string, changeId: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO event_outbox (event_id, payload, created_at) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM orders WHERE order_id = ? AND change_id = ?) ON CONFLICT DO NOTHING`,
		)
		.bind(event.event_id, JSON.stringify(event), event.occurred_at, orderId, changeId);
}

/** Sends events to the queue and clears them from the outbox; failures stay for the reconciler. */
async function sendNow(env: Env, events: StockgateEvent[]): Promise<void> {
	if (events.length === 0) return;
	if (!env.EVENTS) {
		// Without a queue the log line is the delivery: clear the rows so they are not logged again every minute.
		log.info("[events]", "no_queue_binding", { events });
		await env.DB.prepare(`DELETE FROM event_outbox WHERE event_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(events.map((e) => e.event_id))).run();
		return;
	}
	try {
		await env.EVENTS.sendBatch(events.map((body) => ({ body, contentType: "json" as const })));
		await env.DB.prepare(`DELETE FROM event_outbox WHERE event_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(events.map((e) => e.event_id))).run();
		log.info("[events]", "published", { events: events.map((e) => ({ id: e.event_id, type: e.type })) });
	} catch (err) {
		log.warn("[events]", "publish_deferred", { error: String(err), events: events.map((e) => e.event_id) });
	}
}

const publisherOf = coalescerPer(
	(env: Env) =>
		new Coalescer<StockgateEvent>({
			flush: (events) => sendNow(env, events),
			// publish() logs and keeps its own failures; anything else left in the outbox is re-sent by the reconciler.
			onError: (err, events) => log.warn("[events]", "publish_deferred", { error: String(err), events: events.map((e) => e.event_id) }),
			windowMs: PUBLISH_WINDOW_MS,
			maxItems: PUBLISH_MAX,
		}),
);

/**
 * Publishes now, together with (and after) any events of this isolate still
 * waiting in `publishSoon`'s window, in the same send: a quick "cancelled" does
 * not overtake its order's "placed" that was still waiting. (One already being
 * sent by its window is in flight first; the queue never promised order anyway.)
 */
export async function publish(env: Env, events: StockgateEvent[]): Promise<void> {
	await publisherOf(env).flushWith(events);
}

/**
 * Publishes after the answer, together with the events other requests of this
 * isolate publish within PUBLISH_WINDOW_MS: one queue send and one outbox delete
 * for all of them. The events must already be in the outbox (same batch as their change).
 */
export function publishSoon(env: Env, events: StockgateEvent[], waitUntil: WaitUntil): void {
	publisherOf(env).add(events, waitUntil);
}

/**
 * Re-sends events left in the outbox (older than `olderThan`, so in-flight
 * requests finish their own). An order's "placed" event (id evt_placed_<order>)
 * waits while the order still has a commit to confirm: should its stock turn
 * out to be gone, the order is cancelled unannounced (src/checkout/unfulfillable.ts).
 */
export async function flushOutbox(env: Env, olderThan: string, limit = 100): Promise<number> {
	const { results } = await env.DB.prepare(
		`SELECT payload FROM event_outbox e WHERE created_at <= ?
		   AND NOT (substr(e.event_id, 1, 11) = 'evt_placed_' AND EXISTS (SELECT 1 FROM outbox o WHERE o.order_id = substr(e.event_id, 12) AND o.action = 'commit'))
		 ORDER BY created_at LIMIT ?`,
	)
		.bind(olderThan, limit)
		.all<{ payload: string }>();
	await publish(
		env,
		results.map((r) => JSON.parse(r.payload) as StockgateEvent),
	);
	return results.length;
}
