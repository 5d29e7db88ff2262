/**
 * The consistency check the invariants ask for: replaying the ledger gives the
 * stock rows, `reserved` equals the sum of the open holds' lines, and no unit
 * is oversold.
 */
import type { Level } from "../types";
import * as store from "./store";

export interface Audit {
	ok: boolean;
	problems: string[];
	levels: Level[];
}

export function audit(sql: SqlStorage): Audit {
	const levels = store.allLevels(sql);
	const key = (u: { product_id: string; size: string }) => JSON.stringify([u.product_id, u.size]);
	const totals = new Map(store.ledgerTotals(sql).map((t) => [key(t), t]));
	const held = new Map(store.heldTotals(sql).map((h) => [key(h), h.quantity]));
	const problems: string[] = [];
	for (const l of levels) {
		const k = key(l);
		const t = totals.get(k);
		if (!t || t.on_hand !== l.on_hand || t.reserved !== l.reserved) problems.push(`${k}: ledger ${JSON.stringify(t)} != stock ${l.on_hand}/${l.reserved}`);
		if ((held.get(k) ?? 0) !== l.reserved) problems.push(`${k}: open holds ${held.get(k) ?? 0} != reserved ${l.reserved}`);
		if (l.reserved < 0 || l.on_hand < l.reserved) problems.push(`${k}: oversold ${l.on_hand}/${l.reserved}`);
	}
	return { ok: problems.length === 0, problems, levels };
}
