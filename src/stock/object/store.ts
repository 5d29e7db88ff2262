/**
 * The Warehouse's SQLite storage: schema and every query over it (no other
 * module of the object holds SQL but ./changes.ts, for its own table). Only the
 * Warehouse object calls these, always inside one `transactionSync`, so a read
 * and the write that depends on it can never interleave with another request.
 *
 * Every change to a stock row goes through `applyDelta` (or `applyDeltas` for
 * several at once), which writes the ledger row in the same transaction:
 * on_hand == SUM(on_hand_delta) and reserved == SUM(reserved_delta) hold at
 * every instant.
 */
import type { HoldState, Level, LedgerEntry, Line, StockRow, Unit } from "../types";

const SCHEMA_VERSION = 2;

const SCHEMA = [
	`CREATE TABLE IF NOT EXISTS stock (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		on_hand INTEGER NOT NULL DEFAULT 0,
		reserved INTEGER NOT NULL DEFAULT 0,
		low_stock_threshold INTEGER,
		safety_stock INTEGER NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
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
	// Units that transfers in transit will bring here: shown as incoming, not available until received.
	`CREATE TABLE IF NOT EXISTS incoming (
		transfer_id TEXT NOT NULL,
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		quantity INTEGER NOT NULL CHECK (quantity > 0),
		from_warehouse_id TEXT NOT NULL,
		PRIMARY KEY (transfer_id, product_id, size)
	)`,
	// A unit split over shard objects (./pool.ts at the warehouse's own object, ./quota.ts at each shard).
	`CREATE TABLE IF NOT EXISTS unit_shards (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		shards INTEGER NOT NULL CHECK (shards BETWEEN 1 AND 64),
		generations TEXT NOT NULL,
		PRIMARY KEY (product_id, size)
	)`,
	`CREATE TABLE IF NOT EXISTS shard_reports (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		shard INTEGER NOT NULL,
		free INTEGER NOT NULL,
		on_hand INTEGER NOT NULL,
		reserved INTEGER NOT NULL,
		granted_in INTEGER NOT NULL,
		PRIMARY KEY (product_id, size, shard)
	)`,
	`CREATE TABLE IF NOT EXISTS grants (
		grant_id TEXT PRIMARY KEY,
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		shard INTEGER NOT NULL,
		units INTEGER NOT NULL CHECK (units > 0),
		delivered INTEGER NOT NULL DEFAULT 0,
		at INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS grants_pending ON grants (at) WHERE delivered = 0`,
	`CREATE TABLE IF NOT EXISTS give_backs (
		give_id TEXT PRIMARY KEY,
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		units INTEGER NOT NULL CHECK (units > 0),
		delivered INTEGER NOT NULL DEFAULT 0,
		at INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS give_backs_pending ON give_backs (at) WHERE delivered = 0`,
	`CREATE TABLE IF NOT EXISTS shard_quota (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		allowance INTEGER NOT NULL CHECK (allowance >= 0),
		granted_in INTEGER NOT NULL,
		PRIMARY KEY (product_id, size)
	)`,
	// A sharded unit's sold-out declarations by epoch: at the pool, the last one made and the last one revoked;
	// at a shard, the newest of each it heard. A declaration is live while declared > revoked.
	`CREATE TABLE IF NOT EXISTS sold_out (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		declared INTEGER NOT NULL DEFAULT 0,
		revoked INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (product_id, size)
	)`,
	// At the pool: the shards told of the live declaration (revoked there before units come back).
	`CREATE TABLE IF NOT EXISTS sold_out_told (
		product_id TEXT NOT NULL,
		size TEXT NOT NULL,
		shard INTEGER NOT NULL,
		PRIMARY KEY (product_id, size, shard)
	)`,
];

/** Columns added after a table was first created (CREATE TABLE IF NOT EXISTS leaves an old table as it is). */
const ADDED_COLUMNS: Array<{ table: string; column: string; ddl: string; backfill?: string[] }> = [
	{ table: "stock", column: "safety_stock", ddl: `ALTER TABLE stock ADD COLUMN safety_stock INTEGER NOT NULL DEFAULT 0 CHECK (safety_stock >= 0)` },
	{ table: "shard_reports", column: "version", ddl: `ALTER TABLE shard_reports ADD COLUMN version INTEGER NOT NULL DEFAULT 0` },
	{
		table: "shard_reports",
		column: "granted_out",
		ddl: `ALTER TABLE shard_reports ADD COLUMN granted_out INTEGER NOT NULL DEFAULT 0`,
		// The running total starts from the grants kept so far; delivered ones are then dropped.
		backfill: [
			`INSERT INTO shard_reports (product_id, size, shard, free, on_hand, reserved, granted_in, version)
			 SELECT DISTINCT product_id, size, shard, 0, 0, 0, 0, 0 FROM grants WHERE true ON CONFLICT DO NOTHING`,
			`UPDATE shard_reports SET granted_out = (SELECT COALESCE(SUM(g.units), 0) FROM grants g
			   WHERE g.product_id = shard_reports.product_id AND g.size = shard_reports.size AND g.shard = shard_reports.shard)`,
			`DELETE FROM grants WHERE delivered = 1`,
		],
	},
];

export function migrate(sql: SqlStorage): void {
	for (const stmt of SCHEMA) sql.exec(stmt);
	for (const c of ADDED_COLUMNS) {
		const has = sql.exec(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).toArray().length > 0;
		if (has) continue;
		sql.exec(c.ddl);
		for (const stmt of c.backfill ?? []) sql.exec(stmt);
	}
	sql.exec(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, String(SCHEMA_VERSION));
}

type Row = Record<string, SqlStorageValue>;

/** What online orders may take: never the reserved units, never the safety stock. */
export function availableOf(on_hand: number, reserved: number, safety_stock: number): number {
	return Math.max(0, on_hand - reserved - safety_stock);
}

function toLevel(r: Row): Level {
	const on_hand = Number(r.on_hand);
	const reserved = Number(r.reserved);
	return { product_id: String(r.product_id), size: String(r.size), on_hand, reserved, available: availableOf(on_hand, reserved, Number(r.safety_stock ?? 0)) };
}

export function getLevel(sql: SqlStorage, unit: Unit): Level {
	const rows = sql.exec(`SELECT product_id, size, on_hand, reserved, safety_stock FROM stock WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray();
	return rows[0] ? toLevel(rows[0]) : { product_id: unit.product_id, size: unit.size, on_hand: 0, reserved: 0, available: 0 };
}

function unitKey(productId: unknown, size: unknown): string {
	return `${String(productId)}\u0000${String(size)}`;
}

/** The levels of several units, in their order, with one statement (an operation's lines are read together). */
export function getLevels(sql: SqlStorage, units: Unit[]): Level[] {
	if (units.length <= 1) return units.map((u) => getLevel(sql, u));
	const rows = sql
		.exec(
			`SELECT product_id, size, on_hand, reserved, safety_stock FROM stock
			 WHERE (product_id, size) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`,
			JSON.stringify(units.map((u) => [u.product_id, u.size])),
		)
		.toArray();
	const found = new Map(rows.map((r) => [unitKey(r.product_id, r.size), toLevel(r)]));
	return units.map((u) => found.get(unitKey(u.product_id, u.size)) ?? { product_id: u.product_id, size: u.size, on_hand: 0, reserved: 0, available: 0 });
}

/** Units on hand that no open hold has reserved: what deduct, adjust and transfers may take (safety stock included). */
export function unreserved(sql: SqlStorage, unit: Unit): number {
	const l = getLevel(sql, unit);
	return l.on_hand - l.reserved;
}

export function allLevels(sql: SqlStorage): Level[] {
	return sql.exec(`SELECT product_id, size, on_hand, reserved, safety_stock FROM stock ORDER BY product_id, size`).toArray().map(toLevel);
}

/** Every stocked unit with its safety stock, low-stock threshold and incoming units, for the admin view. */
export function stockRows(sql: SqlStorage): StockRow[] {
	const incoming = new Map<string, number>();
	for (const r of sql.exec(`SELECT product_id, size, SUM(quantity) AS q FROM incoming GROUP BY product_id, size`).toArray()) {
		incoming.set(JSON.stringify([String(r.product_id), String(r.size)]), Number(r.q));
	}
	const rows = sql.exec(`SELECT product_id, size, on_hand, reserved, safety_stock, low_stock_threshold FROM stock ORDER BY product_id, size`).toArray();
	const out: StockRow[] = rows.map((r) => {
		const key = JSON.stringify([String(r.product_id), String(r.size)]);
		const row = { ...toLevel(r), safety_stock: Number(r.safety_stock), incoming: incoming.get(key) ?? 0, low_stock_threshold: r.low_stock_threshold === null ? null : Number(r.low_stock_threshold) };
		incoming.delete(key);
		return row;
	});
	// A unit never stocked here can still be on its way.
	for (const [key, q] of incoming) {
		const [product_id, size] = JSON.parse(key) as [string, string];
		out.push({ product_id, size, on_hand: 0, reserved: 0, available: 0, safety_stock: 0, incoming: q, low_stock_threshold: null });
	}
	return out.sort((a, b) => (a.product_id === b.product_id ? (a.size < b.size ? -1 : 1) : a.product_id < b.product_id ? -1 : 1));
}

export function setSafetyStock(sql: SqlStorage, unit: Unit, safety: number): void {
	sql.exec(`INSERT OR IGNORE INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, 0, 0)`, unit.product_id, unit.size);
	sql.exec(`UPDATE stock SET safety_stock = ? WHERE product_id = ? AND size = ?`, safety, unit.product_id, unit.size);
}

export function expectIncoming(sql: SqlStorage, transferId: string, fromWarehouseId: string, lines: Line[]): void {
	for (const l of lines) {
		sql.exec(
			`INSERT INTO incoming (transfer_id, product_id, size, quantity, from_warehouse_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			transferId,
			l.product_id,
			l.size,
			l.quantity,
			fromWarehouseId,
		);
	}
}

export function dropIncoming(sql: SqlStorage, transferId: string): void {
	sql.exec(`DELETE FROM incoming WHERE transfer_id = ?`, transferId);
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

/** A stock row after a change: what the low-stock check needs. */
export interface AfterChange {
	on_hand: number;
	threshold: number | null;
}

/**
 * Applies one change to a stock row and writes its ledger row; answers the row
 * as it is now (undefined for a change of nothing). The CHECK constraint is the
 * last line of defence.
 */
export function applyDelta(sql: SqlStorage, c: Change): AfterChange | undefined {
	if (c.on_hand_delta === 0 && c.reserved_delta === 0) return undefined;
	// Update first (the row almost always exists); insert only for a unit never stocked. Not an
	// upsert: SQLite checks CHECK constraints on the proposed insert row before resolving the conflict.
	const updated = sql
		.exec(
			`UPDATE stock SET on_hand = on_hand + ?, reserved = reserved + ? WHERE product_id = ? AND size = ? RETURNING on_hand, low_stock_threshold AS t`,
			c.on_hand_delta,
			c.reserved_delta,
			c.unit.product_id,
			c.unit.size,
		)
		.toArray()[0];
	let after: AfterChange;
	if (updated) {
		after = { on_hand: Number(updated.on_hand), threshold: updated.t === null ? null : Number(updated.t) };
	} else {
		sql.exec(`INSERT INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, ?, ?)`, c.unit.product_id, c.unit.size, c.on_hand_delta, c.reserved_delta);
		after = { on_hand: c.on_hand_delta, threshold: null };
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
	return after;
}

/** Per unit (its key, see unitKeyOf): the stock row after a set of changes. */
export type AfterChanges = Map<string, AfterChange>;

export function unitKeyOf(u: Unit): string {
	return unitKey(u.product_id, u.size);
}

/**
 * Applies several changes in one go, with one statement for the stock rows and
 * one for the ledger (statements are what an operation pays for): the ledger
 * gets a row per change, in order; each unit's row moves by the sum of its
 * changes. Callers pass changes that all move a unit the same way (an
 * operation's lines, a gathered commit's holds), so the sum passes the CHECK
 * exactly when every step would. Answers every changed unit's row as it is now.
 */
export function applyDeltas(sql: SqlStorage, changes: Change[]): AfterChanges {
	const real = changes.filter((c) => c.on_hand_delta !== 0 || c.reserved_delta !== 0);
	const out: AfterChanges = new Map();
	if (real.length === 1) {
		const c = real[0]!;
		out.set(unitKeyOf(c.unit), applyDelta(sql, c)!);
		return out;
	}
	if (real.length === 0) return out;
	const sums = new Map<string, { unit: Unit; on_hand: number; reserved: number }>();
	for (const c of real) {
		const k = unitKeyOf(c.unit);
		const sum = sums.get(k) ?? { unit: c.unit, on_hand: 0, reserved: 0 };
		sum.on_hand += c.on_hand_delta;
		sum.reserved += c.reserved_delta;
		sums.set(k, sum);
	}
	const moved = [...sums.values()].filter((m) => m.on_hand !== 0 || m.reserved !== 0);
	if (moved.length > 0) {
		const rows = sql
			.exec(
				`UPDATE stock SET on_hand = stock.on_hand + d.on_hand, reserved = stock.reserved + d.reserved
				 FROM (SELECT json_extract(value, '$[0]') AS product_id, json_extract(value, '$[1]') AS size,
				              json_extract(value, '$[2]') AS on_hand, json_extract(value, '$[3]') AS reserved FROM json_each(?)) AS d
				 WHERE stock.product_id = d.product_id AND stock.size = d.size
				 RETURNING stock.product_id AS product_id, stock.size AS size, stock.on_hand AS on_hand, stock.low_stock_threshold AS t`,
				JSON.stringify(moved.map((m) => [m.unit.product_id, m.unit.size, m.on_hand, m.reserved])),
			)
			.toArray();
		for (const r of rows) out.set(unitKey(r.product_id, r.size), { on_hand: Number(r.on_hand), threshold: r.t === null ? null : Number(r.t) });
		for (const m of moved) {
			const k = unitKeyOf(m.unit);
			if (out.has(k)) continue;
			// A unit never stocked here (the update found no row).
			sql.exec(`INSERT INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, ?, ?)`, m.unit.product_id, m.unit.size, m.on_hand, m.reserved);
			out.set(k, { on_hand: m.on_hand, threshold: null });
		}
	}
	sql.exec(
		`INSERT INTO ledger (at, product_id, size, on_hand_delta, reserved_delta, reason, ref, actor, note)
		 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
		        json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]')
		 FROM json_each(?) ORDER BY key`,
		JSON.stringify(real.map((c) => [c.at, c.unit.product_id, c.unit.size, c.on_hand_delta, c.reserved_delta, c.reason, c.ref, c.actor, c.note ?? null])),
	);
	return out;
}

export interface HoldRow {
	ref: string;
	state: HoldState;
	created_at: number;
	expires_at: number;
}

function toHold(r: Row): HoldRow {
	return { ref: String(r.ref), state: r.state as HoldState, created_at: Number(r.created_at), expires_at: Number(r.expires_at) };
}

export function getHold(sql: SqlStorage, ref: string): HoldRow | undefined {
	const r = sql.exec(`SELECT ref, state, created_at, expires_at FROM holds WHERE ref = ?`, ref).toArray()[0];
	return r ? toHold(r) : undefined;
}

export function holdLines(sql: SqlStorage, ref: string): Line[] {
	return sql
		.exec(`SELECT product_id, size, quantity FROM hold_lines WHERE ref = ? ORDER BY product_id, size`, ref)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.quantity) }));
}

/** The holds of these references that exist, by reference (one statement). */
export function getHolds(sql: SqlStorage, refs: string[]): Map<string, HoldRow> {
	if (refs.length === 1) {
		const h = getHold(sql, refs[0]!);
		return new Map(h ? [[h.ref, h]] : []);
	}
	const rows = sql.exec(`SELECT ref, state, created_at, expires_at FROM holds WHERE ref IN (SELECT value FROM json_each(?))`, JSON.stringify(refs)).toArray();
	return new Map(rows.map((r) => [String(r.ref), toHold(r)]));
}

/** The lines of these holds, by reference, each in holdLines' order (one statement). */
export function holdLinesOf(sql: SqlStorage, refs: string[]): Map<string, Line[]> {
	const out = new Map<string, Line[]>(refs.map((r) => [r, []]));
	if (refs.length === 1) {
		out.set(refs[0]!, holdLines(sql, refs[0]!));
		return out;
	}
	const rows = sql
		.exec(`SELECT ref, product_id, size, quantity FROM hold_lines WHERE ref IN (SELECT value FROM json_each(?)) ORDER BY ref, product_id, size`, JSON.stringify(refs))
		.toArray();
	for (const r of rows) out.get(String(r.ref))?.push({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.quantity) });
	return out;
}

/** Sets the state of these holds (one statement). */
export function setHoldStates(sql: SqlStorage, refs: string[], state: HoldState, now: number): void {
	if (refs.length === 1) return setHoldState(sql, refs[0]!, state, now);
	sql.exec(`UPDATE holds SET state = ?, resolved_at = ? WHERE ref IN (SELECT value FROM json_each(?))`, state, now, JSON.stringify(refs));
}

export function insertHold(sql: SqlStorage, ref: string, state: HoldState, now: number, expiresAt: number, lines: Line[]): void {
	sql.exec(`INSERT INTO holds (ref, state, created_at, expires_at, resolved_at) VALUES (?, ?, ?, ?, ?)`, ref, state, now, expiresAt, state === "held" ? null : now);
	insertLines(sql, ref, lines);
}

/** A hold's lines: one statement for all of them ([product_id, size, quantity] triples). */
function insertLines(sql: SqlStorage, ref: string, lines: Line[]): void {
	if (lines.length === 1) {
		const [l] = lines as [Line];
		sql.exec(`INSERT INTO hold_lines (ref, product_id, size, quantity) VALUES (?, ?, ?, ?)`, ref, l.product_id, l.size, l.quantity);
	} else if (lines.length > 1) {
		sql.exec(
			`INSERT INTO hold_lines (ref, product_id, size, quantity)
			 SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)`,
			ref,
			JSON.stringify(lines.map((l) => [l.product_id, l.size, l.quantity])),
		);
	}
}

/**
 * Inserts a new held hold with its lines; false (and nothing written) when the
 * reference is already known, whatever its state.
 */
export function insertHoldIfNew(sql: SqlStorage, ref: string, now: number, expiresAt: number, lines: Line[]): boolean {
	const inserted = sql.exec(`INSERT INTO holds (ref, state, created_at, expires_at, resolved_at) VALUES (?, 'held', ?, ?, NULL) ON CONFLICT (ref) DO NOTHING`, ref, now, expiresAt).rowsWritten;
	if (inserted === 0) return false;
	insertLines(sql, ref, lines);
	return true;
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

/** Whether (kind, ref) was applied. */
export function applied(sql: SqlStorage, kind: string, ref: string): boolean {
	return sql.exec(`SELECT 1 FROM applied_ops WHERE kind = ? AND ref = ?`, kind, ref).toArray().length > 0;
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

/** The units a reference moved with one reason, as positive quantities (e.g. what a transfer took out). */
export function ledgerLines(sql: SqlStorage, ref: string, reason: string): Line[] {
	return sql
		.exec(`SELECT product_id, size, -SUM(on_hand_delta) AS q FROM ledger WHERE ref = ? AND reason = ? GROUP BY product_id, size ORDER BY product_id, size`, ref, reason)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.q) }))
		.filter((l) => l.quantity > 0);
}

/** Sums of the ledger per unit, for invariant checks: replaying it must give today's stock. */
export function ledgerTotals(sql: SqlStorage): Array<Unit & { on_hand: number; reserved: number }> {
	return sql
		.exec(`SELECT product_id, size, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved FROM ledger GROUP BY product_id, size ORDER BY product_id, size`)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), on_hand: Number(r.on_hand), reserved: Number(r.reserved) }));
}

/** Units held by open holds, per unit: what `reserved` must equal. */
export function heldTotals(sql: SqlStorage): Array<Unit & { quantity: number }> {
	return sql
		.exec(`SELECT l.product_id, l.size, SUM(l.quantity) AS q FROM hold_lines l JOIN holds h ON h.ref = l.ref WHERE h.state = 'held' GROUP BY l.product_id, l.size`)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), quantity: Number(r.q) }));
}

/** The unit's low-stock threshold here (null: none set, or no row). */
export function thresholdOf(sql: SqlStorage, unit: Unit): number | null {
	const r = sql.exec(`SELECT low_stock_threshold AS t FROM stock WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray()[0];
	return r && r.t !== null ? Number(r.t) : null;
}

export function setThreshold(sql: SqlStorage, unit: Unit, threshold: number | null): void {
	sql.exec(`INSERT OR IGNORE INTO stock (product_id, size, on_hand, reserved) VALUES (?, ?, 0, 0)`, unit.product_id, unit.size);
	sql.exec(`UPDATE stock SET low_stock_threshold = ? WHERE product_id = ? AND size = ?`, threshold, unit.product_id, unit.size);
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

// ---- a unit split over shard objects ----------------------------------------------------------

export interface ShardConfig extends Unit {
	shards: number;
	/** Every shard count the unit has had (holds may still be open at shards of an earlier count). */
	generations: number[];
}

export function shardConfigs(sql: SqlStorage): ShardConfig[] {
	return sql
		.exec(`SELECT product_id, size, shards, generations FROM unit_shards ORDER BY product_id, size`)
		.toArray()
		.map((r) => ({ product_id: String(r.product_id), size: String(r.size), shards: Number(r.shards), generations: JSON.parse(String(r.generations)) as number[] }));
}

export function shardConfig(sql: SqlStorage, unit: Unit): ShardConfig | undefined {
	return shardConfigs(sql).find((c) => c.product_id === unit.product_id && c.size === unit.size);
}

export function setShardConfig(sql: SqlStorage, c: ShardConfig): void {
	sql.exec(
		`INSERT INTO unit_shards (product_id, size, shards, generations) VALUES (?, ?, ?, ?)
		 ON CONFLICT (product_id, size) DO UPDATE SET shards = excluded.shards, generations = excluded.generations`,
		c.product_id,
		c.size,
		c.shards,
		JSON.stringify(c.generations),
	);
}

/** What a shard last told its coordinator of itself. */
export interface ShardReport {
	free: number;
	on_hand: number;
	reserved: number;
	/** Units of every grant the shard has applied, ever. */
	granted_in: number;
	/** The shard's last ledger row when it reported: a report older than the one kept is ignored. */
	version: number;
}

/** The object's last ledger row (0 before any): every stock change writes one, so it orders a shard's reports. */
export function lastSeq(sql: SqlStorage): number {
	return Number(sql.exec(`SELECT COALESCE(MAX(seq), 0) AS n FROM ledger`).one().n);
}

/** Keeps a shard's report unless the one kept is newer (an ask and a reclaim may answer out of order). */
export function setReport(sql: SqlStorage, unit: Unit, shard: number, r: ShardReport): void {
	sql.exec(
		`INSERT INTO shard_reports (product_id, size, shard, free, on_hand, reserved, granted_in, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (product_id, size, shard) DO UPDATE SET free = excluded.free, on_hand = excluded.on_hand, reserved = excluded.reserved,
		   granted_in = excluded.granted_in, version = excluded.version
		 WHERE excluded.version >= shard_reports.version`,
		unit.product_id,
		unit.size,
		shard,
		r.free,
		r.on_hand,
		r.reserved,
		r.granted_in,
		r.version,
	);
}

/** Per shard of the unit: its last report (zeros before the first) and the units granted to it, ever (a running total: one row per shard). */
export function shardBooks(sql: SqlStorage, unit: Unit, count: number): Array<ShardReport & { granted_out: number }> {
	const books = Array.from({ length: count }, () => ({ free: 0, on_hand: 0, reserved: 0, granted_in: 0, version: 0, granted_out: 0 }));
	for (const r of sql
		.exec(`SELECT shard, free, on_hand, reserved, granted_in, version, granted_out FROM shard_reports WHERE product_id = ? AND size = ?`, unit.product_id, unit.size)
		.toArray()) {
		const b = books[Number(r.shard)];
		if (b) {
			Object.assign(b, {
				free: Number(r.free),
				on_hand: Number(r.on_hand),
				reserved: Number(r.reserved),
				granted_in: Number(r.granted_in),
				version: Number(r.version),
				granted_out: Number(r.granted_out),
			});
		}
	}
	return books;
}

/** A grant to a shard: kept until known applied there (for redelivery), and added to the shard's running total. */
export function insertGrant(sql: SqlStorage, grantId: string, unit: Unit, shard: number, units: number, now: number): void {
	sql.exec(`INSERT INTO grants (grant_id, product_id, size, shard, units, at) VALUES (?, ?, ?, ?, ?, ?)`, grantId, unit.product_id, unit.size, shard, units, now);
	sql.exec(
		`INSERT INTO shard_reports (product_id, size, shard, free, on_hand, reserved, granted_in, version, granted_out) VALUES (?, ?, ?, 0, 0, 0, 0, 0, ?)
		 ON CONFLICT (product_id, size, shard) DO UPDATE SET granted_out = shard_reports.granted_out + excluded.granted_out`,
		unit.product_id,
		unit.size,
		shard,
		units,
	);
}

export interface Grant extends Unit {
	grant_id: string;
	shard: number;
	units: number;
}

export function pendingGrants(sql: SqlStorage, before: number, limit: number): Grant[] {
	return sql
		.exec(`SELECT grant_id, product_id, size, shard, units FROM grants WHERE delivered = 0 AND at <= ? ORDER BY at LIMIT ?`, before, limit)
		.toArray()
		.map((r) => ({ grant_id: String(r.grant_id), product_id: String(r.product_id), size: String(r.size), shard: Number(r.shard), units: Number(r.units) }));
}

/** Grants to one shard of the unit not yet known applied there. */
export function pendingGrantsTo(sql: SqlStorage, unit: Unit, shard: number): Array<{ grant_id: string; units: number }> {
	return sql
		.exec(`SELECT grant_id, units FROM grants WHERE delivered = 0 AND product_id = ? AND size = ? AND shard = ? ORDER BY at`, unit.product_id, unit.size, shard)
		.toArray()
		.map((r) => ({ grant_id: String(r.grant_id), units: Number(r.units) }));
}

/**
 * A grant known applied is dropped: the shard's running total keeps its units,
 * and the shard's own record of the grant id (applied_ops) makes a late
 * redelivery a no-op. Only grants not known applied stay, so asks never scan a
 * sale's history.
 */
export function markGrantDelivered(sql: SqlStorage, grantId: string): void {
	sql.exec(`DELETE FROM grants WHERE grant_id = ?`, grantId);
}

/** Every grant to the shard is known applied there once its applied total reaches what was granted. */
export function markGrantsDelivered(sql: SqlStorage, unit: Unit, shard: number): void {
	sql.exec(`DELETE FROM grants WHERE product_id = ? AND size = ? AND shard = ? AND delivered = 0`, unit.product_id, unit.size, shard);
}

/** A unit's sold-out epochs (see the sold_out table): zeros before the first declaration. */
export function soldOut(sql: SqlStorage, unit: Unit): { declared: number; revoked: number } {
	const r = sql.exec(`SELECT declared, revoked FROM sold_out WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray()[0];
	return r ? { declared: Number(r.declared), revoked: Number(r.revoked) } : { declared: 0, revoked: 0 };
}

/** Raises a unit's declared and revoked epochs to at least the ones given (never lowers either). */
export function raiseSoldOut(sql: SqlStorage, unit: Unit, declared: number, revoked: number): void {
	sql.exec(
		`INSERT INTO sold_out (product_id, size, declared, revoked) VALUES (?, ?, ?, ?)
		 ON CONFLICT (product_id, size) DO UPDATE SET declared = MAX(sold_out.declared, excluded.declared), revoked = MAX(sold_out.revoked, excluded.revoked)`,
		unit.product_id,
		unit.size,
		declared,
		revoked,
	);
}

export function tellSoldOut(sql: SqlStorage, unit: Unit, shard: number): void {
	sql.exec(`INSERT INTO sold_out_told (product_id, size, shard) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, unit.product_id, unit.size, shard);
}

export function toldSoldOut(sql: SqlStorage, unit: Unit): number[] {
	return sql
		.exec(`SELECT shard FROM sold_out_told WHERE product_id = ? AND size = ? ORDER BY shard`, unit.product_id, unit.size)
		.toArray()
		.map((r) => Number(r.shard));
}

export function forgetToldSoldOut(sql: SqlStorage, unit: Unit): void {
	sql.exec(`DELETE FROM sold_out_told WHERE product_id = ? AND size = ?`, unit.product_id, unit.size);
}

export function quota(sql: SqlStorage, unit: Unit): { allowance: number; granted_in: number } {
	const r = sql.exec(`SELECT allowance, granted_in FROM shard_quota WHERE product_id = ? AND size = ?`, unit.product_id, unit.size).toArray()[0];
	return r ? { allowance: Number(r.allowance), granted_in: Number(r.granted_in) } : { allowance: 0, granted_in: 0 };
}

export function setQuota(sql: SqlStorage, unit: Unit, allowance: number, grantedIn: number): void {
	sql.exec(
		`INSERT INTO shard_quota (product_id, size, allowance, granted_in) VALUES (?, ?, ?, ?)
		 ON CONFLICT (product_id, size) DO UPDATE SET allowance = excluded.allowance, granted_in = excluded.granted_in`,
		unit.product_id,
		unit.size,
		allowance,
		grantedIn,
	);
}

export interface GiveBack extends Unit {
	give_id: string;
	units: number;
}

export function insertGiveBack(sql: SqlStorage, g: GiveBack, now: number): void {
	sql.exec(`INSERT INTO give_backs (give_id, product_id, size, units, at) VALUES (?, ?, ?, ?, ?)`, g.give_id, g.product_id, g.size, g.units, now);
}

export function getGiveBack(sql: SqlStorage, giveId: string): GiveBack | undefined {
	const r = sql.exec(`SELECT give_id, product_id, size, units FROM give_backs WHERE give_id = ?`, giveId).toArray()[0];
	return r && { give_id: String(r.give_id), product_id: String(r.product_id), size: String(r.size), units: Number(r.units) };
}

export function pendingGiveBacks(sql: SqlStorage, limit: number): GiveBack[] {
	return sql
		.exec(`SELECT give_id, product_id, size, units FROM give_backs WHERE delivered = 0 ORDER BY at LIMIT ?`, limit)
		.toArray()
		.map((r) => ({ give_id: String(r.give_id), product_id: String(r.product_id), size: String(r.size), units: Number(r.units) }));
}

export function markGiveBacksDelivered(sql: SqlStorage, ids: string[]): void {
	for (const id of ids) sql.exec(`UPDATE give_backs SET delivered = 1 WHERE give_id = ?`, id);
}

/** Grants or give-backs not yet known delivered: the alarm retries them. */
export function hasPendingDeliveries(sql: SqlStorage): boolean {
	return (
		sql.exec(`SELECT 1 FROM grants WHERE delivered = 0 LIMIT 1`).toArray().length > 0 || sql.exec(`SELECT 1 FROM give_backs WHERE delivered = 0 LIMIT 1`).toArray().length > 0
	);
}
