/**
 * The gateway's event outbox: events are inserted into D1 in the same batch as
 * the change they describe (so a crash cannot lose them), sent to the queue
 * right after, and deleted once sent. The reconciler re-sends leftovers. An
 * order's events are in its shard's `event_outbox`, the shop's own in DB's
 * (./stores.ts). The checkout hot path sends through `publishSoon`, which
 * gathers the events of concurrent orders into one queue send and one delete
 * per database.
 *
 * An order's events (those with a `sequence`) leave in sequence: whoever
 * publishes one sends, from the outbox, every event of that order that may go
 * now (./sequence.ts `releasable`), so a later one waits while an earlier one
 * is still in the outbox, and goes out with it once it is released. Events are
 * deleted only after the queue took them, so "gone from the outbox" means
 * "handed to the queue".
 *
 * An order's "placed" event is not a row: the decision marks its order row
 * (`announce_pending` = 1) and the event is built from that row
 * (../orders/placement.ts `placedEvent`). Every read of the outbox counts it
 * as a row, and sending it clears the flag as sending a row deletes the row.
 * Orders placed before that have their placed event as a row, read as any.
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import { Coalescer, coalescerPer, type WaitUntil } from "../shared/coalescer";
import { UNGATED, type Gate } from "../shared/gate";
import { placedEvent, placedEventId } from "../orders/placement";
import { isSequenced, releasable, type OutboxEntry } from "./sequence";
import { byDatabase, eventDatabases, eventDb, orderIdOf } from "./stores";
import type { StockgateEvent } from "./types";

/** How long an event waits for others before the batch goes out (the queue's own batching adds its timeout on top). */
export const PUBLISH_WINDOW_MS = 50;
/** A queue sendBatch takes at most 100 messages. */
const PUBLISH_MAX = 100;

/** The event's outbox row, only where `gate` holds (a change's events land only if the change won). */
export function eventStmt(db: D1Database, event: StockgateEvent, gate: Gate = UNGATED): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO event_outbox (event_id, payload, created_at) SELECT ?, ?, ? WHERE ${gate.sql} ON CONFLICT DO NOTHING`)
		.bind(event.event_id, JSON.stringify(event), event.occurred_at, ...gate.binds);
}

/** An event to hand to the queue, with the database whose outbox holds it: as an event_outbox row, or as its order row's flag. */
interface Outgoing {
	db: D1Database;
	event: StockgateEvent;
	/** The order row's pending "placed" event, not an event_outbox row. */
	fromOrder?: true;
}

/** Sends events to the queue, in order, and clears them from their outboxes; failures stay for the reconciler. */
async function sendNow(env: Env, out: Outgoing[]): Promise<void> {
	// A later chunk only after the earlier one was taken: an order's events may span two.
	for (let i = 0; i < out.length; i += PUBLISH_MAX) {
		if (!(await sendChunk(env, out.slice(i, i + PUBLISH_MAX)))) return;
	}
}

/** Clears sent events from each outbox that held them: their rows deleted and their orders' flags cleared, one step per database. */
async function clearSent(out: Outgoing[]): Promise<void> {
	await Promise.all([...byDatabase(out, (o) => o.db)].map(([db, sent]) => clearSentIn(db, sent)));
}

async function clearSentIn(db: D1Database, sent: Outgoing[]): Promise<void> {
	const rows = sent.filter((o) => !o.fromOrder).map((o) => o.event.event_id);
	const orders = sent.filter((o) => o.fromOrder).map((o) => orderIdOf(o.event)!);
	const stmts = [
		...(rows.length > 0 ? [db.prepare(`DELETE FROM event_outbox WHERE event_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(rows))] : []),
		...(orders.length > 0
			? [db.prepare(`UPDATE orders SET announce_pending = 0 WHERE order_id IN (SELECT value FROM json_each(?)) AND announce_pending = 1`).bind(JSON.stringify(orders))]
			: []),
	];
	if (stmts.length === 1) await stmts[0]!.run();
	else if (stmts.length > 1) await db.batch(stmts);
}

/** True when the queue took the chunk. */
async function sendChunk(env: Env, out: Outgoing[]): Promise<boolean> {
	if (out.length === 0) return true;
	const events = out.map((o) => o.event);
	if (!env.EVENTS) {
		// Without a queue the log line is the delivery: clear the rows so they are not logged again every minute.
		log.info("[events]", "no_queue_binding", { events });
		await clearSent(out);
		return true;
	}
	try {
		await env.EVENTS.sendBatch(events.map((body) => ({ body, contentType: "json" as const })));
		await clearSent(out);
		log.info("[events]", "published", { events: events.map((e) => ({ id: e.event_id, type: e.type, ...(isSequenced(e) ? { sequence: e.sequence } : {}) })) });
		return true;
	} catch (err) {
		log.warn("[events]", "publish_deferred", { error: String(err), events: events.map((e) => e.event_id) });
		return false;
	}
}

/**
 * The events of these orders that may go to the queue now, read from the
 * outbox (its rows, and each order row's pending "placed" event), in send
 * order: one query per database. An order's "placed" event is held while the
 * order still has a commit to confirm: should its stock turn out to be gone,
 * the order is cancelled unannounced (src/orders/unfulfillable.ts). Events in
 * `confirmed` are not held: their publisher saw the commits confirmed (the
 * outbox rows saying so may still be waiting to be cleared).
 */
async function releasedOf(db: D1Database, orderIds: string[], confirmed: ReadonlySet<string> = new Set()): Promise<Outgoing[]> {
	if (orderIds.length === 0) return [];
	const { results } = await db
		.prepare(
			`SELECT e.event_id, e.order_id, e.sequence, e.payload, NULL AS user_id, NULL AS customer_email, NULL AS total, NULL AS currency, NULL AS created_at,
			        (e.sequence = 1 AND EXISTS (SELECT 1 FROM outbox c WHERE c.order_id = e.order_id AND c.action = 'commit')) AS held
			 FROM event_outbox e WHERE e.order_id IN (SELECT value FROM json_each(?1)) AND e.sequence IS NOT NULL
			 UNION ALL
			 SELECT NULL, o.order_id, 1, NULL, o.user_id, o.customer_email, o.total, o.currency, o.created_at,
			        EXISTS (SELECT 1 FROM outbox c WHERE c.order_id = o.order_id AND c.action = 'commit')
			 FROM orders o WHERE o.order_id IN (SELECT value FROM json_each(?1)) AND o.announce_pending = 1`,
		)
		.bind(JSON.stringify(orderIds))
		.all<OutboxRead>();
	// The event id tells a confirmed event: each payload is parsed (each placed event built) once, and only if it goes.
	const entries = results.map(
		(r): OutboxEntry & { read: OutboxRead } => ({
			order_id: r.order_id,
			sequence: Number(r.sequence),
			held: Number(r.held) === 1 && !confirmed.has(r.event_id ?? placedEventId(r.order_id)),
			read: r,
		}),
	);
	return releasable(entries).map(({ read }) => (read.payload === null ? { db, event: placedOfRow(read), fromOrder: true } : { db, event: JSON.parse(read.payload) as StockgateEvent }));
}

/** One of an order's events as `releasedOf` reads it: an event_outbox row (payload) or an order row whose placed event is pending (payload NULL). */
interface OutboxRead {
	event_id: string | null;
	order_id: string;
	sequence: number;
	payload: string | null;
	user_id: string | null;
	customer_email: string | null;
	total: number | null;
	currency: string | null;
	created_at: string | null;
	held: number;
}

function placedOfRow(r: OutboxRead): StockgateEvent {
	return placedEvent({ order_id: r.order_id, user_id: String(r.user_id), customer_email: r.customer_email, total: Number(r.total), currency: String(r.currency), created_at: String(r.created_at) });
}

/** Each event with the database whose outbox holds it; one naming a shard this Worker lacks is logged and left. */
function located(env: Env, events: StockgateEvent[]): Outgoing[] {
	return events.flatMap((event) => {
		const db = eventDb(env, event);
		if (db) return [{ db, event }];
		log.error("event_without_database", { event_id: event.event_id, order_id: orderIdOf(event) }, "[events]");
		return [];
	});
}

/**
 * Sends `events`: the others as they are, each order event with whatever of
 * its order may go now, in sequence, read from its order's shard. A "placed"
 * event handed to `publish` is one whose commits its publisher saw confirmed.
 */
async function sendInOrder(env: Env, events: StockgateEvent[]): Promise<void> {
	const plain = located(
		env,
		events.filter((e) => !isSequenced(e)),
	);
	const sequenced = located(env, events.filter(isSequenced));
	const confirmed = new Set(sequenced.filter((o) => isSequenced(o.event) && o.event.sequence === 1).map((o) => o.event.event_id));
	const released = await Promise.all(
		[...byDatabase(sequenced, (o) => o.db)].map(([db, out]) => releasedOf(db, [...new Set(out.map((o) => orderIdOf(o.event)!))], confirmed)),
	);
	await sendNow(env, [...plain, ...released.flat()]);
}

const publisherOf = coalescerPer(
	(env: Env) =>
		new Coalescer<StockgateEvent>({
			flush: (events) => sendInOrder(env, events),
			// publish() logs and keeps its own failures; anything else left in the outbox is re-sent by the reconciler.
			onError: (err, events) => log.warn("[events]", "publish_deferred", { error: String(err), events: events.map((e) => e.event_id) }),
			windowMs: PUBLISH_WINDOW_MS,
			maxItems: PUBLISH_MAX,
		}),
);

/**
 * Publishes now, together with (and after) any events of this isolate still
 * waiting in `publishSoon`'s window, in the same send. An order event takes
 * its order's earlier events still in the outbox with it (or waits for them):
 * a quick "cancelled" never overtakes its order's "placed". An order's
 * "placed" event is handed over only once its commits are confirmed.
 */
export async function publish(env: Env, events: StockgateEvent[]): Promise<void> {
	await publisherOf(env).flushWith(events);
}

/**
 * Publishes after the answer, together with the events other requests of this
 * isolate publish within PUBLISH_WINDOW_MS: one queue send and one outbox delete
 * for all of them. The events must already be in the outbox (same batch as their change);
 * an order event goes out in its order's sequence, as with `publish`.
 */
export function publishSoon(env: Env, events: StockgateEvent[], waitUntil: WaitUntil): void {
	publisherOf(env).add(events, waitUntil);
}

/**
 * Re-sends events left in the outboxes of DB and of every shard, in parallel,
 * at most `limit` per database (older than `olderThan`, so in-flight requests
 * finish their own); an order's events in sequence, as `publish` does. An
 * order's "placed" event waits while the order still has a commit to confirm
 * (pending on its order row, a row of sequence 1, or a row written before
 * sequences existed with the id evt_placed_<order>). Returns how many were
 * read.
 */
export async function flushOutbox(env: Env, olderThan: string, limit = 100): Promise<number> {
	// One database that fails leaves the others' work done; its rows wait for the next run.
	const counts = await Promise.allSettled((await eventDatabases(env)).map((db) => flushOne(env, db, olderThan, limit)));
	let read = 0;
	for (const c of counts) {
		if (c.status === "fulfilled") read += c.value;
		else log.warn("[events]", "flush_failed", { error: String(c.reason) });
	}
	return read;
}

async function flushOne(env: Env, db: D1Database, olderThan: string, limit: number): Promise<number> {
	// Event rows, and orders whose placed event is pending and whose commits are all confirmed, oldest first.
	// Rows held behind an unconfirmed placed event are left out: read, they would fill the limit and send nothing.
	const { results } = await db
		.prepare(
			`SELECT payload, NULL AS placed_order, created_at FROM event_outbox e WHERE created_at <= ?1
			   AND NOT (e.sequence IS NULL AND substr(e.event_id, 1, 11) = 'evt_placed_'
			            AND EXISTS (SELECT 1 FROM outbox c WHERE c.order_id = substr(e.event_id, 12) AND c.action = 'commit'))
			   AND NOT (e.sequence IS NOT NULL
			            AND EXISTS (SELECT 1 FROM outbox c WHERE c.order_id = e.order_id AND c.action = 'commit')
			            AND (e.sequence = 1
			                 OR EXISTS (SELECT 1 FROM orders o WHERE o.order_id = e.order_id AND o.announce_pending = 1)
			                 OR EXISTS (SELECT 1 FROM event_outbox p WHERE p.order_id = e.order_id AND p.sequence = 1)))
			 UNION ALL
			 SELECT NULL, o.order_id, o.created_at FROM orders o WHERE o.announce_pending = 1 AND o.created_at <= ?1
			   AND NOT EXISTS (SELECT 1 FROM outbox c WHERE c.order_id = o.order_id AND c.action = 'commit')
			 ORDER BY created_at LIMIT ?2`,
		)
		.bind(olderThan, limit)
		.all<{ payload: string | null; placed_order: string | null }>();
	const events = results.flatMap((r) => (r.payload === null ? [] : [JSON.parse(r.payload) as StockgateEvent]));
	// The rows are cleared from the database they were read from, whatever the event names.
	const plain = events.filter((e) => !isSequenced(e)).map((event) => ({ db, event }));
	// Not as `publish` does: nothing here vouches for an order's commits.
	const orderIds = [...new Set([...events.filter(isSequenced).map((e) => e.order_id), ...results.flatMap((r) => (r.placed_order === null ? [] : [r.placed_order]))])];
	await sendNow(env, [...plain, ...(await releasedOf(db, orderIds))]);
	return results.length;
}
