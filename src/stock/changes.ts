/**
 * Gathers `stock.changed` events inside a Warehouse: every stock change marks
 * its unit dirty (in the change's own transaction); `gatherDue()` then writes
 * one event per dirty unit carrying its current levels, but never more than one
 * per unit per GATHER_MS. A unit changed again within the window stays dirty
 * and gets a timer, so the last change of a burst goes out at most GATHER_MS
 * late. The timer is not the alarm (that belongs to holds); if the object is
 * evicted before it fires, the dirty mark is in storage and the next operation
 * or the reconciler's resolveDue sends the event.
 *
 * Events go to `events_out` like stock.low, so they reach the queue through the
 * Warehouse's existing send-and-retry path (`flush`).
 */
import type { StockChanged } from "../events/types";
import { log } from "../http/log";
import { getLevel, queueEvent } from "./store";
import type { Unit } from "./types";

export const GATHER_MS = 1000;

const SCHEMA = [
	`CREATE TABLE IF NOT EXISTS unit_changes (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		dirty INTEGER NOT NULL CHECK (dirty IN (0, 1)),
		sent_at INTEGER,
		PRIMARY KEY (product_id, size)
	)`,
	`CREATE INDEX IF NOT EXISTS unit_changes_dirty ON unit_changes (sent_at) WHERE dirty = 1`,
];

export class UnitChanges {
	private readonly sql: SqlStorage;
	/** Whether dirty units may exist (true after start: storage decides). */
	private pending = true;
	private timer: ReturnType<typeof setTimeout> | undefined;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly warehouseId: string,
		/** Sends what is in events_out (the Warehouse's flushEvents, which calls gatherDue first). */
		private readonly flush: () => Promise<void>,
	) {
		this.sql = storage.sql;
		for (const stmt of SCHEMA) this.sql.exec(stmt);
	}

	/** Inside the transaction of a change; a change that moves nothing (a level set to what it was) is no change. */
	mark(change: { unit: Unit; on_hand_delta: number; reserved_delta: number }): void {
		if (change.on_hand_delta !== 0 || change.reserved_delta !== 0) this.touch(change.unit);
	}

	/** Inside a transaction that changed what `available` is made of other than a delta (e.g. safety stock). */
	touch(unit: Unit): void {
		this.sql.exec(
			`INSERT INTO unit_changes (product_id, size, dirty) VALUES (?, ?, 1) ON CONFLICT (product_id, size) DO UPDATE SET dirty = 1`,
			unit.product_id,
			unit.size,
		);
		this.pending = true;
	}

	/** Queues the due stock.changed events in one transaction; returns how many (the caller then sends events_out). */
	gatherDue(now: number = Date.now()): number {
		if (!this.pending) return 0;
		const { queued, nextDue } = this.storage.transactionSync(() => this.gather(now));
		if (nextDue !== null && this.timer === undefined) {
			this.timer = setTimeout(() => {
				this.timer = undefined;
				this.flush().catch((err) => log.warn("[events]", "publish_deferred", { error: String(err) }));
			}, Math.max(0, nextDue - now));
		}
		return queued;
	}

	/** One event per dirty unit not sent within GATHER_MS before `now`; the earliest time a held-back unit is due. */
	private gather(now: number): { queued: number; nextDue: number | null } {
		let queued = 0;
		let nextDue: number | null = null;
		for (const r of this.sql.exec(`SELECT product_id, size, sent_at FROM unit_changes WHERE dirty = 1`).toArray()) {
			const sentAt = r.sent_at === null ? null : Number(r.sent_at);
			if (sentAt !== null && now - sentAt < GATHER_MS) {
				nextDue = Math.min(nextDue ?? Infinity, sentAt + GATHER_MS);
				continue;
			}
			const level = getLevel(this.sql, { product_id: String(r.product_id), size: String(r.size) });
			const event: StockChanged = {
				event_id: `evt_chg_${crypto.randomUUID()}`,
				type: "stock.changed",
				occurred_at: new Date(now).toISOString(),
				warehouse_id: this.warehouseId,
				product_id: level.product_id,
				size: level.size,
				on_hand: level.on_hand,
				reserved: level.reserved,
				available: level.available,
			};
			queueEvent(this.sql, event.event_id, event, now);
			this.sql.exec(`UPDATE unit_changes SET dirty = 0, sent_at = ? WHERE product_id = ? AND size = ?`, now, level.product_id, level.size);
			queued++;
		}
		this.pending = nextDue !== null;
		return { queued, nextDue };
	}
}
