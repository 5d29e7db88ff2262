/**
 * Each object's ledger on its own: it replays to the levels the stock read
 * answered, and no prefix of it ever had a unit oversold.
 */
import { groupBy, objectKey, unitKey, type History, type LedgerRow, type ObjectRef, type Unit } from "./history.js";
import { KNOWN } from "./reasons.js";
import type { Violation } from "./violation.js";

export interface Levels {
	on_hand: number;
	reserved: number;
}

/** The rows of one unit at one object, in the object's order. */
export interface Track {
	object: ObjectRef;
	unit: Unit;
	rows: LedgerRow[];
}

export const trackKey = (o: ObjectRef, u: Unit): string => `${objectKey(o)}|${unitKey(u)}`;

/** Every (object, unit) with its rows, in the order the ledger read gave them. */
export function tracks(ledger: LedgerRow[]): Track[] {
	return [...groupBy(ledger, (r) => trackKey(r.object, r)).values()].map((rows) => ({
		object: rows[0]!.object,
		unit: { product_id: rows[0]!.product_id, size: rows[0]!.size },
		rows,
	}));
}

export function replay(rows: LedgerRow[]): Levels {
	let on_hand = 0;
	let reserved = 0;
	for (const r of rows) {
		on_hand += r.on_hand_delta;
		reserved += r.reserved_delta;
	}
	return { on_hand, reserved };
}

/** Every ledger replays to the stock read: per object when the read names it, else summed over the unit's objects at the warehouse. */
export function checkReplay(h: History): Violation[] {
	const out: Violation[] = [];
	const all = tracks(h.ledger);
	const compared = new Set<string>();
	for (const s of h.stock) {
		const covered = all.filter(
			(t) => t.object.warehouse_id === s.object.warehouse_id && unitKey(t.unit) === unitKey(s) && (s.object.shard === undefined || t.object.shard === s.object.shard),
		);
		for (const t of covered) compared.add(trackKey(t.object, t.unit));
		const r = replay(covered.flatMap((t) => t.rows));
		if (r.on_hand !== s.on_hand || r.reserved !== s.reserved) {
			out.push({
				check: "replay",
				subject: `${unitKey(s)} at ${objectKey(s.object)}`,
				message: `ledger replays to on_hand ${r.on_hand} reserved ${r.reserved}, stock says on_hand ${s.on_hand} reserved ${s.reserved}`,
				detail: { objects: covered.map((t) => objectKey(t.object)), rows: covered.reduce((n, t) => n + t.rows.length, 0) },
			});
		}
	}
	for (const t of all) {
		const k = trackKey(t.object, t.unit);
		const r = replay(t.rows);
		if (!compared.has(k) && (r.on_hand !== 0 || r.reserved !== 0)) {
			out.push({ check: "replay", subject: `${unitKey(t.unit)} at ${objectKey(t.object)}`, message: `in the ledger (on_hand ${r.on_hand} reserved ${r.reserved}), not in the stock read` });
		}
		for (let i = 1; i < t.rows.length; i++) {
			if (t.rows[i]!.seq <= t.rows[i - 1]!.seq) {
				out.push({ check: "replay", subject: `${unitKey(t.unit)} at ${objectKey(t.object)}`, message: `ledger out of order: seq ${t.rows[i]!.seq} after ${t.rows[i - 1]!.seq}` });
			}
		}
		for (const row of t.rows) {
			if (!KNOWN.has(row.reason)) out.push({ check: "replay", subject: `${unitKey(t.unit)} at ${objectKey(t.object)}`, message: `unknown ledger reason ${row.reason}`, detail: row });
		}
	}
	return out;
}

/** 0 <= reserved <= on_hand after every row of every object's ledger (the first row that breaks it, per unit and object). */
export function checkOversold(h: History): Violation[] {
	const out: Violation[] = [];
	for (const t of tracks(h.ledger)) {
		let on_hand = 0;
		let reserved = 0;
		for (const [i, r] of t.rows.entries()) {
			on_hand += r.on_hand_delta;
			reserved += r.reserved_delta;
			if (reserved < 0 || reserved > on_hand) {
				out.push({
					check: "oversold",
					subject: `${unitKey(t.unit)} at ${objectKey(t.object)}`,
					message: `after row ${i + 1} of ${t.rows.length} (seq ${r.seq}, ${r.reason} ${r.ref}): on_hand ${on_hand}, reserved ${reserved}`,
					detail: t.rows.slice(Math.max(0, i - 2), i + 1),
				});
				break;
			}
		}
	}
	return out;
}
