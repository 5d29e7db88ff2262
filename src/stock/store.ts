/**
 * The Warehouse's SQLite storage: schema and the plain queries over it. Only the
 * Warehouse object calls these, always inside one `transactionSync`, so a read
 * and the write that depends on it can never interleave with another request.
 *
 * Every change to a stock row goes through `applyDelta`, which writes the ledger
 * row in the same transaction: on_hand == SUM(on_hand_delta) and
 * reserved == SUM(reserved_delta) hold at every instant.
 */
import type { HoldState, Level, LedgerEntry, Line, Unit } from "./types";

const SCHEMA_VERSION = 1;

const SCHEMA = [
	`CREATE TABLE IF NOT EXISTS stock (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		on_hand INTEGER NOT NULL DEFAULT 0,
		reserved INTEGER NOT NULL DEFAULT 0,
		low_stock_threshold INTEGER,
		PRIMARY KEY (product_id, size),
		CHECK (reserved >= 0 AND on_hand >= reserved)
	)`,
	`CREATE TABLE IF NOT EXISTS holds (
		ref TEXT PRIMARY KEY,
		state TEXT NOT NULL CHECK (state IN ('held', 'committed', 'released', 'expired')),
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		resolved_at INTEGER
	)`,
	`CREATE INDEX IF NOT EXISTS holds_open ON holds (expires_at) WHERE state = 'held'`,
	`CREATE TABLE IF NOT EXISTS hold_lines (
		ref TEXT NOT NULL REFERENCES holds (ref),
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		quantity INTEGER NOT NULL CHECK (quantity > 0),
		PRIMARY KEY (ref, product_id, size)
	)`,
	`CREATE TABLE IF NOT EXISTS ledger (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		at INTEGER NOT NULL,
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		on_hand_delta INTEGER NOT NULL,
		reserved_delta INTEGER NOT NULL,
		reason TEXT NOT NULL,
		ref TEXT NOT NULL,
		actor TEXT NOT NULL,
		note TEXT
	)`,
	`CREATE TABLE IF NOT EXISTS applied_ops (
		kind TEXT NOT NULL,
		ref TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (kind, ref)
	)`,
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS events_out (event_id TEXT PRIMARY KEY, payload TEXT NOT NULL, at INTEGER NOT NULL)`,
];

export function migrate(sql: SqlStorage): void {
	for (const stmt of SCHEMA) sql.exec(stmt);
	sql.exec(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, String(SCHEMA_VERSION));
}

type Row = Record<string, SqlStorageValue>;

function toLevel(r: Row): Level {
	const on_hand = Number(r.on_hand);
	const reserved = Number(r.reserved);
	return { product_id: String(r.product_id), size: String(r.size), on_hand, reserved, available: on_hand - reserved };
}

export function getLevel(sql: SqlStorage, unit: Unit): Level {
	const rows = sql.exec(`SELECT product_id, size, on_hand, reserved FROM stock WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray();
	return rows[0] ? toLevel(rows[0]) : { product_id: unit.product_id, size: unit.size, on_hand: 0, reserved: 0, available: 0 };
}

export function allLevels(sql: SqlStorage): Level[] {
	return sql.exec(`SELECT product_id, size, on_hand, reserved FROM stock ORDER BY product_id, size`).toArray().map(toLevel);
}

export interface Change {
	unit: Unit;
	on_hand_delta: number;
	reserved_delta: number;
	reason: string;
	ref: string;
	actor: string;
	note?: string | null;
	at: number;
}

/** Applies one change to a stock row and writes its ledger row. The CHECK constraint is the last line of defence. */
export function applyDelta(sql: SqlStorage, c: Change): void {
	if (c.on_hand_delta === 0 && c.reserved_delta === 0) return;
	// Update first (the row almost always exists); insert only for a unit never stocked. Not an
	// upsert: SQLite checks CHECK constraints on the proposed insert row before resolving the conflict.
	const updated = sql.exec(
		`UPDATE stock SET on_hand = on_hand + ?, reserved = reserved + ? WHERE product_id = ? AND size = ?`,
		c.on_hand_delta,
		c.reserved_delta,
		c.unit.product_id,
		c.unit.size,
	).rowsWritten;
	if (updated === 0) {
		sql.exec(`INSERT INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, ?, ?)`, c.unit.product_id, c.unit.size, c.on_hand_delta, c.reserved_delta);
	}
	sql.exec(
		`INSERT INTO ledger (at, product_id, size, on_hand_delta, reserved_delta, reason, ref, actor, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.at,
		c.unit.product_id,
		c.unit.size,
		c.on_hand_delta,
		c.reserved_delta,
		c.reason,
		c.ref,
		c.actor,
		c.note ?? null,
	);
}

export interface HoldRow {
	ref: string;
	state: HoldState;
	created_at: number;
	expires_at: number;
}

export function getHold(sql: SqlStorage, ref: string): HoldRow | undefined {
	const r = sql.exec(`SELECT ref, state, created_at, expires_at FROM holds WHERE ref = ?`, ref).toArray()[0];
	return r ? { ref: String(r.ref), state: r.state as HoldState, created_at: Number(r.created_at), expires_at: Number(r.expires_at) } : undefined;
}

export function holdLines(sql: SqlStorage, ref: string): Line[] {
	return sql
		.exec(`SELECT product_id, size, quantity FROM hold_lines WHERE ref = ? ORDER BY product_id, size`, ref)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.quantity) }));
}

export function insertHold(sql: SqlStorage, ref: string, state: HoldState, now: number, expiresAt: number, lines: Line[]): void {
	sql.exec(`INSERT INTO holds (ref, state, created_at, expires_at, resolved_at) VALUES (?, ?, ?, ?, ?)`, ref, state, now, expiresAt, state === "held" ? null : now);
	for (const l of lines) {
		sql.exec(`INSERT INTO hold_lines (ref, product_id, size, quantity) VALUES (?, ?, ?, ?)`, ref, l.product_id, l.size, l.quantity);
	}
}

export function setHoldState(sql: SqlStorage, ref: string, state: HoldState, now: number): void {
	sql.exec(`UPDATE holds SET state = ?, resolved_at = ? WHERE ref = ?`, state, now, ref);
}

export function dueHolds(sql: SqlStorage, now: number, limit: number): string[] {
	return sql
		.exec(`SELECT ref FROM holds WHERE state = 'held' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, now, limit)
		.toArray()
		.map((r) => String(r.ref));
}

export function nextExpiry(sql: SqlStorage): number | null {
	const r = sql.exec(`SELECT MIN(expires_at) AS next FROM holds WHERE state = 'held'`).toArray()[0];
	return r && r.next !== null ? Number(r.next) : null;
}

export function countHeld(sql: SqlStorage): number {
	return Number(sql.exec(`SELECT COUNT(*) AS n FROM holds WHERE state = 'held'`).one().n);
}

/** Marks (kind, ref) applied; false when it already was. */
export function claimOp(sql: SqlStorage, kind: string, ref: string, now: number): boolean {
	const rows = sql.exec(`INSERT INTO applied_ops (kind, ref, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING ref`, kind, ref, now).toArray();
	return rows.length > 0;
}

export function ledgerPage(sql: SqlStorage, after: number, limit: number): LedgerEntry[] {
	return sql
		.exec(
			`SELECT seq, at, product_id, size, on_hand_delta, reserved_delta, reason, ref, actor, note FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?`,
			after,
			limit,
		)
		.toArray()
		.map((r) => ({
			seq: Number(r.seq),
			at: new Date(Number(r.at)).toISOString(),
			product_id: String(r.product_id),
			size: String(r.size),
			on_hand_delta: Number(r.on_hand_delta),
			reserved_delta: Number(r.reserved_delta),
			reason: String(r.reason),
			ref: String(r.ref),
			actor: String(r.actor),
			note: r.note === null ? null : String(r.note),
		}));
}

/** Sums of the ledger per unit, for invariant checks: replaying it must give today's stock. */
export function ledgerTotals(sql: SqlStorage): Array<Unit & { on_hand: number; reserved: number }> {
	return sql
		.exec(`SELECT product_id, size, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved FROM ledger GROUP BY product_id, size ORDER BY product_id, size`)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), on_hand: Number(r.on_hand), reserved: Number(r.reserved) }));
}

/** on_hand and the low-stock threshold of a unit, in one read (null threshold: none set). */
export function onHandAndThreshold(sql: SqlStorage, unit: Unit): { on_hand: number; threshold: number | null } {
	const r = sql.exec(`SELECT on_hand, low_stock_threshold AS t FROM stock WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray()[0];
	return { on_hand: r ? Number(r.on_hand) : 0, threshold: r && r.t !== null ? Number(r.t) : null };
}

export function setThreshold(sql: SqlStorage, unit: Unit, threshold: number | null): void {
	sql.exec(`INSERT OR IGNORE INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, 0, 0)`, unit.product_id, unit.size);
	sql.exec(`UPDATE stock SET low_stock_threshold = ? WHERE product_id = ? AND size = ?`, threshold, unit.product_id, unit.size);
}

export function thresholds(sql: SqlStorage): Map<string, number> {
	const out = new Map<string, number>();
	for (const r of sql.exec(`SELECT product_id, size, low_stock_threshold AS t FROM stock WHERE low_stock_threshold IS NOT NULL`).toArray()) {
		out.set(JSON.stringify([String(r.product_id), String(r.size)]), Number(r.t));
	}
	return out;
}

/** Events wait here, written in the same transaction as their change, until the queue has them. */
export function queueEvent(sql: SqlStorage, eventId: string, payload: unknown, at: number): void {
	sql.exec(`INSERT OR IGNORE INTO events_out (event_id, payload, at) VALUES (?, ?, ?)`, eventId, JSON.stringify(payload), at);
}

export function pendingEvents(sql: SqlStorage, limit: number): Array<{ event_id: string; payload: string }> {
	return sql
		.exec(`SELECT event_id, payload FROM events_out ORDER BY at LIMIT ?`, limit)
		.toArray()
		.map((r) => ({ event_id: String(r.event_id), payload: String(r.payload) }));
}

export function dropEvents(sql: SqlStorage, ids: string[]): void {
	for (const id of ids) sql.exec(`DELETE FROM events_out WHERE event_id = ?`, id);
}
