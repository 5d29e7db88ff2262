/**
 * The transfers table in D1: the saga's record. Every status or step change is
 * one conditional UPDATE that stamps a fresh `change_id`; an event that
 * describes the change is inserted only if the row still carries that id, so a
 * change that lost a race writes nothing.
 */
import type { TransferUpdated } from "../events/types";
import type { Line } from "../stock/types";
import type { Transfer, TransferStatus } from "./schema";

/** The warehouse work the current status still needs ("done": none). */
export type TransferStep = "out" | "incoming" | "receive" | "cancel" | "done";

export interface TransferRecord extends Transfer {
	step: TransferStep;
	attempts: number;
	next_attempt_at: string;
}

type Row = Record<string, unknown>;

function toRecord(r: Row): TransferRecord {
	return {
		transfer_id: String(r.transfer_id),
		from_warehouse_id: String(r.from_warehouse_id),
		to_warehouse_id: String(r.to_warehouse_id),
		items: JSON.parse(String(r.items)) as Line[],
		status: r.status as TransferStatus,
		reference: r.reference === null ? null : String(r.reference),
		note: r.note === null ? null : String(r.note),
		created_by: String(r.created_by),
		created_at: String(r.created_at),
		updated_at: String(r.updated_at),
		step: r.step as TransferStep,
		attempts: Number(r.attempts),
		next_attempt_at: String(r.next_attempt_at),
	};
}

/** The API view: the saga's bookkeeping stays inside. */
export function transferView(t: TransferRecord): Transfer {
	const { step: _step, attempts: _attempts, next_attempt_at: _next, ...view } = t;
	return view;
}

export function transferEvent(t: TransferRecord, at: string): TransferUpdated {
	return { event_id: `evt_transfer_${t.transfer_id}_${t.status}`, type: "transfer.updated", occurred_at: at, transfer: transferView(t) };
}

export async function getTransfer(db: D1Database, transferId: string): Promise<TransferRecord | null> {
	const r = await db.prepare(`SELECT * FROM transfers WHERE transfer_id = ?`).bind(transferId).first<Row>();
	return r ? toRecord(r) : null;
}

export async function getTransferByReference(db: D1Database, reference: string): Promise<TransferRecord | null> {
	const r = await db.prepare(`SELECT * FROM transfers WHERE reference = ?`).bind(reference).first<Row>();
	return r ? toRecord(r) : null;
}

/** Inserts a new transfer (status in_transit, step out); false when its reference is taken. */
export async function insertTransfer(db: D1Database, t: TransferRecord): Promise<boolean> {
	const res = await db
		.prepare(
			`INSERT INTO transfers (transfer_id, from_warehouse_id, to_warehouse_id, items, status, step, reference, note, created_by, change_id, next_attempt_at, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING`,
		)
		.bind(t.transfer_id, t.from_warehouse_id, t.to_warehouse_id, JSON.stringify(t.items), t.status, t.step, t.reference, t.note, t.created_by, crypto.randomUUID(), t.next_attempt_at, t.created_at, t.updated_at)
		.run();
	return res.meta.changes > 0;
}

/**
 * Moves a transfer from one of `from` (its status and one of its steps) to `to`
 * in one batch, with the `transfer.updated` event when `announce` (written only
 * if this change won). Answers the row after the change, or null when the row
 * was elsewhere (another request or the reconciler moved it first).
 */
export async function moveTransfer(
	db: D1Database,
	t: TransferRecord,
	from: { status: TransferStatus; steps: TransferStep[] },
	to: { status: TransferStatus; step: TransferStep },
	at: string,
	announce: boolean,
): Promise<TransferRecord | null> {
	const changeId = crypto.randomUUID();
	const statements = [
		db
			.prepare(
				`UPDATE transfers SET status = ?, step = ?, change_id = ?, updated_at = ?, attempts = 0, last_error = NULL, next_attempt_at = ?
				 WHERE transfer_id = ? AND status = ? AND step IN (SELECT value FROM json_each(?)) RETURNING *`,
			)
			.bind(to.status, to.step, changeId, at, at, t.transfer_id, from.status, JSON.stringify(from.steps)),
	];
	if (announce) {
		const event = transferEvent({ ...t, status: to.status, updated_at: at }, at);
		statements.push(
			db
				.prepare(
					`INSERT INTO event_outbox (event_id, payload, created_at) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM transfers WHERE transfer_id = ? AND change_id = ?) ON CONFLICT DO NOTHING`,
				)
				.bind(event.event_id, JSON.stringify(event), at, t.transfer_id, changeId),
		);
	}
	const [updated] = await db.batch<Row>(statements);
	const row = updated?.results[0];
	return row ? toRecord(row) : null;
}

/** Forgets a transfer whose units never left (its source refused): only while it is still at step "out". */
export async function discardTransfer(db: D1Database, transferId: string): Promise<boolean> {
	const res = await db.prepare(`DELETE FROM transfers WHERE transfer_id = ? AND status = 'in_transit' AND step = 'out'`).bind(transferId).run();
	return res.meta.changes > 0;
}

/** Transfers with warehouse work left, due and older than `olderThan` (younger ones belong to a request still running). */
export async function unfinishedTransfers(db: D1Database, now: string, olderThan: string, limit: number): Promise<TransferRecord[]> {
	const { results } = await db
		.prepare(`SELECT * FROM transfers WHERE step <> 'done' AND next_attempt_at <= ? AND updated_at <= ? ORDER BY next_attempt_at LIMIT ?`)
		.bind(now, olderThan, limit)
		.all<Row>();
	return results.map(toRecord);
}

export async function deferTransfer(db: D1Database, transferId: string, error: string, nextAttemptAt: string): Promise<void> {
	await db.prepare(`UPDATE transfers SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE transfer_id = ?`).bind(error.slice(0, 500), nextAttemptAt, transferId).run();
}

/** Newest first, keyset-paginated on (created_at, transfer_id). */
export async function listTransfers(
	db: D1Database,
	status: TransferStatus | undefined,
	cursor: { created_at: string; id: string } | null,
	limit: number,
): Promise<{ transfers: TransferRecord[]; next: { created_at: string; id: string } | null }> {
	const where: string[] = [];
	const binds: unknown[] = [];
	if (status) {
		where.push("status = ?");
		binds.push(status);
	}
	if (cursor) {
		where.push("(created_at < ? OR (created_at = ? AND transfer_id < ?))");
		binds.push(cursor.created_at, cursor.created_at, cursor.id);
	}
	const { results } = await db
		.prepare(`SELECT * FROM transfers ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, transfer_id DESC LIMIT ?`)
		.bind(...binds, limit + 1)
		.all<Row>();
	const transfers = results.slice(0, limit).map(toRecord);
	const last = transfers[transfers.length - 1];
	return { transfers, next: results.length > limit && last ? { created_at: last.created_at, id: last.transfer_id } : null };
}

