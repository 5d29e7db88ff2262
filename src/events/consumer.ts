/**
 * The `order-events` queue consumer. Delivery is at-least-once: an event whose
 * id is in `processed_events` is acknowledged without being delivered again;
 * one that fails is retried by the queue. Order emails go through the
 * `send_email` binding when it is configured, and are logged otherwise.
 * The batch's new events are first stored for the webhooks (one message per
 * subscribed endpoint, idempotently); their first attempts run after the mails.
 * Every record of an event (processed_events, the order's cursor and parked
 * events, its webhook messages) is in the database of its event: the order's
 * shard, or DB for the shop's own events (./stores.ts).
 *
 * An order's events are delivered in their sequence (./sequence.ts): one that
 * arrives before an earlier one of its order (the queue does not keep order;
 * a failed delivery is retried later) is parked in D1 and acked, and delivered
 * right after its predecessor, by whichever consumer delivers that one. A
 * failed event holds back the later ones of its order in the batch.
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import { attemptAll, storeMessages } from "../webhooks/delivery";
import type { Job } from "../webhooks/queries";
import { advanceDeliveredStmt, cursorsOf, deliveredSeqs, deliveredSeqsStmt, park, takeNextStmt, takenEvents, type CursorRow } from "./delivered";
import { emailFor } from "./email";
import { isSequenced, planOrder, type SequencedEvent } from "./sequence";
import { eventDb, namesItsShard, orderIdOf } from "./stores";
import type { StockgateEvent } from "./types";

/**
 * What the batch's records say before anything is delivered, in one D1 call:
 * which of these event ids were delivered before, and the last sequence
 * delivered for each of these orders.
 */
async function readBefore(db: D1Database, eventIds: string[], orderIds: string[]): Promise<{ done: Set<string>; cursors: Map<string, number> }> {
	const stmts = [
		db.prepare(`SELECT event_id FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(eventIds)),
		...(orderIds.length > 0 ? [deliveredSeqsStmt(db, orderIds)] : []),
	];
	const [done, cursors] = await db.batch<Record<string, unknown>>(stmts);
	return {
		done: new Set((done?.results ?? []).map((r) => String(r.event_id))),
		cursors: cursorsOf((cursors?.results ?? []) as CursorRow[]),
	};
}

/** Records delivered events (a later copy is then acked undelivered). */
function markProcessedStmt(db: D1Database, events: StockgateEvent[], at: string): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO processed_events (event_id, type, processed_at)
			 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?) WHERE true
			 ON CONFLICT DO NOTHING`,
		)
		.bind(at, JSON.stringify(events.map((e) => [e.event_id, e.type])));
}

/**
 * After a round of deliveries, in one D1 call (one transaction): its events
 * recorded as delivered, the orders' cursors advanced, then the parked events
 * that now come next for the orders in `check` taken (the next round).
 */
async function closeRound(db: D1Database, delivered: StockgateEvent[], upTo: Map<string, number>, check: string[]): Promise<SequencedEvent[]> {
	const stmts = [
		...(delivered.length > 0 ? [markProcessedStmt(db, delivered, new Date().toISOString())] : []),
		...(upTo.size > 0 ? [advanceDeliveredStmt(db, upTo)] : []),
		...(check.length > 0 ? [takeNextStmt(db, check)] : []),
	];
	if (stmts.length === 0) return [];
	const results = await db.batch<{ payload: string }>(stmts);
	return check.length > 0 ? takenEvents(results[results.length - 1]?.results ?? []) : [];
}

/** What delivering one event did, for the batch's summary line. */
type Outcome = "mailed" | "mail_logged" | "no_recipient" | "no_mail" | "logged" | "webhooks_only";

async function deliver(env: Env, e: StockgateEvent): Promise<Outcome> {
	switch (e.type) {
		case "order.status_changed": {
			const mail = emailFor(e);
			if (!mail) return "no_mail";
			// A token without an email claim leaves nobody to write to: counted in the batch line, not logged one by one.
			if (!e.customer_email) return "no_recipient";
			if (env.MAILER) {
				await env.MAILER.send({ from: env.MAIL_FROM ?? "orders@stockgate.local", to: e.customer_email, subject: mail.subject, text: mail.text });
				log.info("[events]", "email_sent", { event_id: e.event_id, order_id: e.order_id, subject: mail.subject });
				return "mailed";
			}
			log.info("[events]", "email_logged", { event_id: e.event_id, order_id: e.order_id, to: e.customer_email, subject: mail.subject, text: mail.text });
			return "mail_logged";
		}
		case "payment.refund_requested":
			// Delivered to the endpoints subscribed to payment.refund_requested (the webhooks stored above).
			log.info("[payments]", "refund_requested", { event_id: e.event_id, order_id: e.order_id, payment_event_id: e.payment_event_id, amount: e.amount, currency: e.currency, reason: e.reason });
			return "webhooks_only";
		case "transfer.updated":
			log.info("[transfer]", "event", { event_id: e.event_id, transfer_id: e.transfer.transfer_id, status: e.transfer.status });
			return "logged";
		case "stock.low":
			log.warn("[stock]", "low_stock", { event_id: e.event_id, warehouse_id: e.warehouse_id, product_id: e.product_id, size: e.size, on_hand: e.on_hand, threshold: e.threshold });
			return "logged";
		case "stock.changed":
			return "webhooks_only";
	}
}

/**
 * The delivery attempt after which an order event that keeps failing is given
 * up (wrangler.toml: max_retries = 5, so the queue would drop its message after
 * this one): its order's later events then go on instead of waiting forever.
 */
export const LAST_ATTEMPT = 5;

/** One event to deliver: from a message of this batch, or taken from the parked ones. */
interface Item {
	event: StockgateEvent;
	msg?: Message<StockgateEvent>;
}

/** What a batch did, summed over its databases, for the batch's log line. */
interface Tally {
	delivered: number;
	duplicates: number;
	parked: number;
	retried: number;
	outcomes: Record<string, number>;
}

/**
 * Consumes a batch: its events are grouped by the database holding their
 * records (an order's shard, or DB for the shop's own events: ./stores.ts),
 * and each group is de-duplicated, sequenced and delivered against its own
 * database, so an order's events touch no shop-wide table and a shop-wide
 * event costs DB one statement per step for the whole batch.
 */
export async function consume(batch: MessageBatch<StockgateEvent>, env: Env): Promise<void> {
	const tally: Tally = { delivered: 0, duplicates: 0, parked: 0, retried: 0, outcomes: {} };
	const groups = new Map<D1Database, Array<Message<StockgateEvent>>>();
	for (const msg of batch.messages) {
		const e = msg.body;
		if (!e || typeof e.event_id !== "string") {
			log.warn("[events]", "malformed_event", { message_id: msg.id });
			msg.ack();
			continue;
		}
		const db = eventDb(env, e);
		if (!db) {
			// Its order names a shard this Worker is not bound to: nothing here can record or deliver it.
			log.error("event_without_database", { event_id: e.event_id, order_id: orderIdOf(e) }, "[events]");
			msg.ack();
			continue;
		}
		groups.set(db, [...(groups.get(db) ?? []), msg]);
	}
	const jobs = (await Promise.all([...groups].map(([db, msgs]) => consumeIn(env, db, msgs, tally)))).flat();
	// First attempts last, so a slow receiver does not hold up the mails; each attempt is bounded and recorded.
	const webhooks = await attemptAll(env, jobs, Date.now());
	// One line per batch: what each event led to, and which were duplicates of earlier deliveries.
	log.info("[events]", "batch_consumed", { messages: batch.messages.length, ...tally, webhooks });
}

/** Delivers one database's events of the batch; returns their webhook messages' first attempts. */
async function consumeIn(env: Env, db: D1Database, messages: Array<Message<StockgateEvent>>, tally: Tally): Promise<Job[]> {
	const sequencedOrders = [...new Set(messages.map((m) => m.body).filter(isSequenced).map((e) => e.order_id))];
	const { done, cursors } = await readBefore(
		db,
		messages.map((m) => m.body.event_id),
		sequencedOrders,
	);
	const seenHere = new Set<string>();
	const plain: Item[] = [];
	const byOrder = new Map<string, Array<{ sequence: number; msg: Message<StockgateEvent>; event: SequencedEvent }>>();
	for (const msg of messages) {
		const e = msg.body;
		if (done.has(e.event_id) || seenHere.has(e.event_id)) {
			tally.duplicates++;
			msg.ack();
			continue;
		}
		seenHere.add(e.event_id);
		if (!isSequenced(e)) plain.push({ event: e, msg });
		else byOrder.set(e.order_id, [...(byOrder.get(e.order_id) ?? []), { sequence: e.sequence, msg, event: e }]);
	}

	// An order's events are delivered in sequence: one ahead of a missing earlier one is parked until that one was delivered.
	// An order from the single-database layout may have its cursor in DB still: read there (DB is not written) until its shard has one.
	const legacy = [...byOrder.keys()].filter((id) => !cursors.has(id) && !namesItsShard(id));
	if (legacy.length > 0 && db !== env.DB) for (const [id, seq] of await deliveredSeqs(env.DB, legacy)) cursors.set(id, seq);
	const ordered: Item[] = [];
	const parked: Array<{ msg: Message<StockgateEvent>; event: SequencedEvent }> = [];
	for (const [orderId, arrived] of byOrder) {
		const plan = planOrder(cursors.get(orderId) ?? 0, arrived);
		for (const d of plan.duplicate) {
			tally.duplicates++;
			d.msg.ack();
		}
		parked.push(...plan.park);
		ordered.push(...plan.deliver);
	}
	// Stored before anything is delivered: if this throws, the queue retries the batch.
	await park(db, parked.map((p) => p.event), new Date().toISOString());
	for (const p of parked) p.msg.ack();
	tally.parked += parked.length;

	let deliveredCount = 0;
	const webhookJobs: Job[] = [];
	const reparked: SequencedEvent[] = [];
	let round: Item[] = [...plain, ...ordered];
	// Orders whose parked successors may be due: those delivered to, and those that parked (another consumer may have caught up).
	let check = new Set(parked.map((p) => p.event.order_id));
	try {
		// A batch that only parked still claims once: its orders' predecessors may have been delivered meanwhile.
		while (round.length > 0 || check.size > 0) {
			// Stored before anything is mailed, in sequence (storing again adds nothing); first attempts come last.
			webhookJobs.push(...(await storeMessages(env, round.map((i) => i.event), Date.now())));
			const blocked = new Set<string>();
			const upTo = new Map<string, number>();
			const delivered: StockgateEvent[] = [];
			for (const item of round) {
				const e = item.event;
				const giveBack = (attempts: number) => {
					if (item.msg) item.msg.retry({ delaySeconds: Math.min(300, 10 * attempts) });
					else if (isSequenced(e)) reparked.push(e);
				};
				if (isSequenced(e) && blocked.has(e.order_id)) {
					// An earlier event of its order failed just now: this one waits for it.
					giveBack(item.msg?.attempts ?? 1);
					continue;
				}
				try {
					const outcome = await deliver(env, e);
					tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
					delivered.push(e);
					item.msg?.ack();
					if (isSequenced(e)) {
						upTo.set(e.order_id, e.sequence);
						check.add(e.order_id);
					}
				} catch (err) {
					if (isSequenced(e) && item.msg && item.msg.attempts >= LAST_ATTEMPT) {
						log.error("event_given_up", { event_id: e.event_id, order_id: e.order_id, sequence: e.sequence, error: String(err), attempts: item.msg.attempts }, "[events]");
						item.msg.ack();
						upTo.set(e.order_id, e.sequence);
						check.add(e.order_id);
						continue;
					}
					tally.retried++;
					log.warn("[events]", "delivery_failed", { event_id: e.event_id, error: String(err), attempts: item.msg?.attempts ?? null });
					if (isSequenced(e)) blocked.add(e.order_id);
					giveBack(item.msg?.attempts ?? 1);
				}
			}
			for (const id of blocked) check.delete(id);
			// Should this write fail, the round's events stay delivered and acked (those taken from parked are parked again, below); a later duplicate could be delivered again (at-least-once).
			round = (await closeRound(db, delivered, upTo, [...check])).map((event) => ({ event }));
			deliveredCount += delivered.length;
			check = new Set();
		}
	} catch (err) {
		// Events taken from order_event_parked are nowhere else: those of the round in hand, and those given back, are parked
		// again before the batch fails, else their order's later events wait forever. One already delivered goes back too:
		// its delivery was not recorded and the order's cursor waits on it (delivered again: at-least-once).
		const taken = round.flatMap((i) => (!i.msg && isSequenced(i.event) ? [i.event] : []));
		await park(db, [...taken, ...reparked], new Date().toISOString()).catch((parkErr: unknown) =>
			log.error("parked_events_lost", { events: [...taken, ...reparked].map((e) => e.event_id), error: String(parkErr) }, "[events]"),
		);
		throw err;
	}
	await park(db, reparked, new Date().toISOString());
	tally.delivered += deliveredCount;
	return webhookJobs;
}
