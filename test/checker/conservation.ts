/**
 * Conservation per unit over every warehouse, once settled:
 *   on_hand (every object: shards and pool) + in transit (grants, give-backs, transfers)
 *     == loaded + adjustments - sold
 * where `loaded` is what the ledgers' `set` rows put in (checked against the
 * set-up's PUT when one PUT alone set a unit), `adjustments` what the clients
 * saw answered 200 (checked row for row against the ledger) and `sold` the
 * units of the live orders.
 */
import { add, unitKey, type History, type Op, type Product } from "./history.js";
import { inTransit } from "./legs.js";
import { isLive, kindOf, takenBy, warehouseOf } from "./ops.js";
import { ADJUST, MOVE, SET } from "./reasons.js";
import type { Violation } from "./violation.js";

interface Moved {
	warehouse_id: string;
	unit: string;
	delta: number;
	op: number;
}

/**
 * Adjustments, deducts and restores answered 200, by reference (a repeated
 * reference moves once). One sent without a reference gets a generated one
 * (`adjust:<uuid>`...), so those are matched by warehouse, unit and delta.
 */
function movesAnswered(ops: Op[]): { done: Map<string, Moved>; unnamed: Map<string, number>; maybe: Set<string>; refused: Set<string> } {
	const done = new Map<string, Moved>();
	const unnamed = new Map<string, number>();
	const maybe = new Set<string>();
	const refused = new Set<string>();
	for (const op of ops) {
		const kind = kindOf(op);
		if (kind !== "adjust" && kind !== "deduct" && kind !== "restore") continue;
		const b = op.body as { product_id: string; size: string; delta?: number; quantity?: number; reference?: string };
		const delta = kind === "adjust" ? b.delta! : kind === "deduct" ? -b.quantity! : b.quantity!;
		const ref = b.reference;
		if (!ref) {
			if (op.answer?.status === 200) add(unnamed, `${warehouseOf(op)}|${unitKey(b)}|${delta}`, 1);
			continue;
		}
		if (op.answer === null) maybe.add(ref);
		else if (op.answer.status === 200) done.set(ref, { warehouse_id: warehouseOf(op)!, unit: unitKey(b), delta, op: op.id });
		else refused.add(ref);
	}
	return { done, unnamed, maybe, refused };
}

const GENERATED = /^(adjust|deduct|restore):/;

export function checkConservation(h: History): Violation[] {
	if (!h.settled) return [];
	const out: Violation[] = [];
	const catalog = new Map<string, Product>(h.products.map((p) => [p.product_id, p]));

	const onHand = new Map<string, number>();
	for (const s of h.stock) add(onHand, unitKey(s), s.on_hand);
	const transit = inTransit(h.ledger);

	const loaded = new Map<string, number>();
	const setAt = new Map<string, number>();
	for (const r of h.ledger) {
		if (r.reason !== SET) continue;
		add(loaded, unitKey(r), r.on_hand_delta);
		add(setAt, `${r.object.warehouse_id}|${unitKey(r)}`, r.on_hand_delta);
	}
	const puts = new Map<string, number[]>();
	for (const op of h.ops) {
		if (kindOf(op) !== "set-stock" || op.answer === null) continue;
		for (const item of (op.body as { items: Array<{ product_id: string; size: string; on_hand: number }> }).items) {
			const k = `${warehouseOf(op)}|${unitKey(item)}`;
			if (op.answer.status === 200) (puts.get(k) ?? puts.set(k, []).get(k)!).push(item.on_hand);
		}
	}
	for (const [k, levels] of puts) {
		if (levels.length === 1 && (setAt.get(k) ?? 0) !== levels[0]) {
			out.push({ check: "conservation", subject: k, message: `set to ${levels[0]} by its only PUT answered 200, the ledger's set rows add up to ${setAt.get(k) ?? 0}` });
		}
	}

	const { done, unnamed, maybe, refused } = movesAnswered(h.ops);
	const adjusted = new Map<string, number>();
	for (const m of done.values()) add(adjusted, m.unit, m.delta);
	for (const [k, n] of unnamed) add(adjusted, k.split("|")[1]!, Number(k.split("|")[2]) * n);
	const inLedger = new Map<string, Array<{ warehouse_id: string; unit: string; delta: number }>>();
	for (const r of h.ledger) {
		if (!ADJUST.has(r.reason) && !MOVE.has(r.reason)) continue;
		(inLedger.get(r.ref) ?? inLedger.set(r.ref, []).get(r.ref)!).push({ warehouse_id: r.object.warehouse_id, unit: unitKey(r), delta: r.on_hand_delta });
		if (maybe.has(r.ref) && !done.has(r.ref)) add(adjusted, unitKey(r), r.on_hand_delta);
	}
	for (const [ref, m] of done) {
		const rows = inLedger.get(ref) ?? [];
		if (rows.length !== 1 || rows[0]!.warehouse_id !== m.warehouse_id || rows[0]!.unit !== m.unit || rows[0]!.delta !== m.delta) {
			out.push({ check: "conservation", subject: `adjustment ${ref}`, message: `answered 200 (${m.unit} at ${m.warehouse_id}, ${m.delta}), the ledger has ${rows.length} rows`, detail: rows });
		}
	}
	for (const [ref, rows] of inLedger) {
		if (done.has(ref) || maybe.has(ref)) continue;
		const k = rows.length === 1 ? `${rows[0]!.warehouse_id}|${rows[0]!.unit}|${rows[0]!.delta}` : "";
		if (GENERATED.test(ref) && (unnamed.get(k) ?? 0) > 0) {
			unnamed.set(k, unnamed.get(k)! - 1);
			continue;
		}
		out.push({ check: "conservation", subject: `adjustment ${ref}`, message: `in the ledger, ${refused.has(ref) ? "answered with a refusal" : "never answered 200"}`, detail: rows });
	}

	for (const [k, n] of unnamed) if (n > 0) out.push({ check: "conservation", subject: `adjustment ${k}`, message: `${n} answered 200 without a reference, not in the ledger` });

	const sold = new Map<string, number>();
	for (const o of h.orders) if (isLive(o)) for (const t of takenBy(o, catalog)) add(sold, unitKey(t), t.quantity);

	// More arrived than was sent (a leg received twice) would balance itself out of the sum below.
	for (const [u, n] of transit) if (n < 0) out.push({ check: "conservation", subject: u, message: `${-n} more units arrived by grants, give-backs and transfers than were sent` });

	const units = new Set([...onHand.keys(), ...loaded.keys(), ...sold.keys(), ...adjusted.keys(), ...transit.keys()]);
	for (const u of units) {
		const have = (onHand.get(u) ?? 0) + (transit.get(u) ?? 0);
		const want = (loaded.get(u) ?? 0) + (adjusted.get(u) ?? 0) - (sold.get(u) ?? 0);
		if (have !== want) {
			out.push({
				check: "conservation",
				subject: u,
				message: `on_hand ${onHand.get(u) ?? 0} + in transit ${transit.get(u) ?? 0} = ${have}, but loaded ${loaded.get(u) ?? 0} + adjusted ${adjusted.get(u) ?? 0} - sold ${sold.get(u) ?? 0} = ${want}`,
			});
		}
	}
	return out;
}
