/**
 * Gathers `stock.changed` events inside a Warehouse: every stock change marks
 * its unit dirty (in the change's own transaction); `gatherDue()` then writes
 * one event per dirty unit carrying its current levels, but never more than one
 * per unit per GATHER_MS. A fresh change waits SEND_DELAY_MS first, so the
 * changes that a burst of operations makes to many units leave together (one
 * gathering transaction and one queue send, not one per operation: in a busy
 * catalog that was most of the object's work). A unit changed again within its
 * window stays dirty until its window ends, so the last change of a burst goes
 * out at most GATHER_MS late. The timer is not the alarm (that belongs to
 * holds); if the object is evicted before it fires, the dirty mark is in
 * storage and the next operation or the reconciler's resolveDue sends it.
 *
 * Events go to `events_out` like stock.low, so they reach the queue through the
 * Warehouse's existing send-and-retry path (`flush`).
 *
 * Nobody may want them: units are marked only while the object is told that an
 * active webhook endpoint subscribes to stock.changed (`setListening`, kept in
 * `meta`; src/webhooks/listeners.ts tells every warehouse). A shop without such
 * an endpoint pays nothing for them.
 */
import type { StockChanged } from "../../events/types";
import { log } from "../../shared/log";
import { getLevel, queueEvent } from "./store";
import type { Level, Unit } from "../types";

export const GATHER_MS = 1000;
const LISTENING_KEY = "stock_changed_listening";

/** How long a fresh change waits for others to leave with it. */
export const SEND_DELAY_MS = 100;

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
	/** Whether stock.changed is wanted; read from `meta` at the first change (the table exists once the object has migrated). */
	private listening: boolean | undefined;
	/** The earliest time a gathering can find a unit due (0 after start: storage decides). */
	private dueAt = 0;
	private timer: ReturnType<typeof setTimeout> | undefined;
	private timerAt = Number.POSITIVE_INFINITY;

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly warehouseId: string,
		/** Sends what is in events_out (the Warehouse's flushEvents, which calls gatherDue first). */
		private readonly flush: () => Promise<void>,
		/** The object's SQL (the Warehouse's counting one); the storage's own by default. */
		sql: SqlStorage = storage.sql,
		/** The object's clock. */
		private readonly now: () => number = Date.now,
		/** A unit's levels for its event (the Warehouse sums a sharded unit's pool and shards). */
		private readonly levelOf: (unit: Unit) => Level = (unit) => getLevel(this.sql, unit),
	) {
		this.sql = sql;
		for (const stmt of SCHEMA) this.sql.exec(stmt);
	}

	/** Whether an active webhook endpoint subscribes to stock.changed, as this object was last told. */
	get listens(): boolean {
		this.listening ??= this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = ?`, LISTENING_KEY).toArray()[0]?.value === "1";
		return this.listening;
	}

	/** Starts or stops marking changes; true when the setting changed. Units already marked are still sent. */
	setListening(on: boolean): boolean {
		if (this.listens === on) return false;
		this.sql.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, LISTENING_KEY, on ? "1" : "0");
		this.listening = on;
		return true;
	}

	/** Inside the transaction of a change; a change that moves nothing (a level set to what it was) is no change. */
	mark(change: { unit: Unit; on_hand_delta: number; reserved_delta: number }): void {
		if (change.on_hand_delta !== 0 || change.reserved_delta !== 0) this.touch(change.unit);
	}

	/** Inside a transaction that changed what `available` is made of other than a delta (e.g. safety stock). */
	touch(unit: Unit): void {
		if (!this.listens) return;
		this.sql.exec(
			`INSERT INTO unit_changes (product_id, size, dirty) VALUES (?, ?, 1) ON CONFLICT (product_id, size) DO UPDATE SET dirty = 1`,
			unit.product_id,
			unit.size,
		);
		this.pending = true;
		// Should the transaction roll back, the early gathering finds nothing: harmless.
		const at = this.now() + SEND_DELAY_MS;
		if (at < this.dueAt) this.dueAt = at;
		this.wakeAt(at);
	}

	/** Queues the due stock.changed events in one transaction; returns how many (the caller then sends events_out). */
	/** Whether `gatherDue` would find something to do now (a check in memory, no statement). */
	due(now: number = this.now()): boolean {
		return this.pending && now >= this.dueAt;
	}

	gatherDue(now: number = this.now()): number {
		if (!this.due(now)) return 0;
		const { queued, nextDue } = this.storage.transactionSync(() => this.gather(now));
		this.dueAt = nextDue ?? Number.POSITIVE_INFINITY;
		if (nextDue !== null) this.wakeAt(nextDue);
		return queued;
	}

	/** Runs the flush at `at` (or earlier, if a timer is already set for earlier). */
	private wakeAt(at: number): void {
		if (this.timer !== undefined && this.timerAt <= at) return;
		if (this.timer !== undefined) clearTimeout(this.timer);
		this.timerAt = at;
		this.timer = setTimeout(
			() => {
				this.timer = undefined;
				this.timerAt = Number.POSITIVE_INFINITY;
				// The runtime's clock may read a hair before `at` here: gather regardless (what is not due is re-timed).
				this.dueAt = 0;
				this.flush().catch((err) => log.warn("[events]", "publish_deferred", { error: String(err) }));
			},
			Math.max(0, at - this.now()),
		);
	}

	/** One event per dirty unit not sent within GATHER_MS before `now`; the earliest time a held-back unit is due. */
	private gather(now: number): { queued: number; nextDue: number | null } {
		let queued = 0;
		const due = this.sql
			.exec(`SELECT product_id, size FROM unit_changes WHERE dirty = 1 AND (sent_at IS NULL OR sent_at <= ?)`, now - GATHER_MS)
			.toArray();
		for (const r of due) {
			const level = this.levelOf({ product_id: String(r.product_id), size: String(r.size) });
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
		// What is still dirty was sent within its window: the earliest of those windows to end.
		const held = this.sql.exec<{ first: number | null }>(`SELECT MIN(sent_at) AS first FROM unit_changes WHERE dirty = 1`).one().first;
		const nextDue = held === null ? null : Number(held) + GATHER_MS;
		this.pending = nextDue !== null;
		return { queued, nextDue };
	}
}
