/**
 * The object's event outbox: events are written to `events_out` in the
 * transaction of the change that made them (stock.low by ./tx.ts, stock.changed
 * by ./changes.ts) and sent to the queue after it. What fails to send stays for
 * the next write or the reconciler's resolveDue.
 */
import type { StockgateEvent } from "../../events/types";
import { log } from "../../shared/log";
import type { UnitChanges } from "./changes";
import * as store from "./store";
import type { WriteCounter } from "./writes";

const SEND_BATCH = 100;

export class EventOutbox {
	/** Whether events_out may hold events to send (true after start: storage decides). */
	private waiting = true;

	constructor(
		private readonly sql: SqlStorage,
		private readonly writes: WriteCounter,
		/** The EVENTS binding, read at each send (none in a set-up without a queue). */
		private readonly queue: () => Queue | undefined,
	) {}

	/** Events were queued (or an earlier send may have failed): the next flush looks. */
	markWaiting(): void {
		this.waiting = true;
	}

	/** Gathers the stock.changed events that are due, then sends what events_out holds. */
	async flush(changes: UnitChanges): Promise<void> {
		if (changes.due() && this.writes.run("events", () => changes.gatherDue()) > 0) this.waiting = true;
		if (!this.waiting) return;
		this.waiting = false;
		const pending = store.pendingEvents(this.sql, SEND_BATCH);
		if (pending.length === 0) return;
		const ids = pending.map((p) => p.event_id);
		const queue = this.queue();
		if (!queue) {
			log.info("[events]", "no_queue_binding", { events: ids });
			this.writes.run("events", () => store.dropEvents(this.sql, ids));
			return;
		}
		try {
			await queue.sendBatch(pending.map((p) => ({ body: JSON.parse(p.payload) as StockgateEvent, contentType: "json" as const })));
			this.writes.run("events", () => store.dropEvents(this.sql, ids));
			log.info("[events]", "published", { events: ids });
		} catch (err) {
			this.waiting = true;
			log.warn("[events]", "publish_deferred", { error: String(err), events: pending.length });
		}
	}
}
