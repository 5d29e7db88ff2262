/**
 * No false 409: a checkout may be answered 409 OUT_OF_STOCK only if, at some
 * instant between its invoke and its answer, a unit it asked for had less
 * free stock (on_hand - reserved - safety_stock, summed over every object of
 * the unit: shards and pool, at every active warehouse it could ship from)
 * than it asked. The refusal is called false only when the lower bounds of
 * each object's free stock over that window (timeline.ts) already make room
 * for the whole request: plain units summed over the warehouses, kits as
 * whole kits per warehouse (each component at that warehouse). Anything
 * less certain counts as a legal refusal.
 */
import { add, type History, type Line, type Op, type Product, unitKey } from "./history.js";
import { tracks } from "./ledgers.js";
import { kindOf, replayed } from "./ops.js";
import { Timeline, type Slack } from "./timeline.js";
import type { Violation } from "./violation.js";

interface Asked {
	plain: Map<string, number>;
	kits: Array<{ kit: string; quantity: number; components: Line[] }>;
}

/**
 * What the checkout asked for: its recorded cart lines, else the refusal's own
 * details. A product the catalog does not know as a kit counts as a plain unit
 * (a kit missing from the catalog then has no ledger, so no room: inconclusive).
 */
function askedBy(op: Op, catalog: Map<string, Product>): Asked {
	const lines: Line[] =
		op.asked ?? ((op.answer?.body?.details ?? []) as Array<{ product_id: string; size: string; requested: number }>).map((d) => ({ product_id: d.product_id, size: d.size, quantity: d.requested }));
	const out: Asked = { plain: new Map(), kits: [] };
	for (const l of lines) {
		const components = catalog.get(l.product_id)?.components;
		if (components) out.kits.push({ kit: l.product_id, quantity: l.quantity, components });
		else add(out.plain, unitKey(l), l.quantity);
	}
	return out;
}

export function checkFalseRefusals(h: History, slack: Slack): Violation[] {
	const out: Violation[] = [];
	const catalog = new Map<string, Product>(h.products.map((p) => [p.product_id, p]));
	const active = h.warehouses.filter((w) => w.active).map((w) => w.warehouse_id);
	const byUnitAt = new Map<string, Timeline[]>(); // warehouse|unit -> the timelines of its objects
	for (const t of tracks(h.ledger)) {
		const k = `${t.object.warehouse_id}|${unitKey(t.unit)}`;
		(byUnitAt.get(k) ?? byUnitAt.set(k, []).get(k)!).push(new Timeline(t.rows, slack, h.read_at));
	}
	const safety = new Map<string, number>();
	for (const s of h.stock) safety.set(`${s.object.warehouse_id}|${unitKey(s)}`, Math.max(safety.get(`${s.object.warehouse_id}|${unitKey(s)}`) ?? 0, s.safety_stock));

	for (const op of h.ops) {
		if (kindOf(op) !== "place-order" || op.answer?.status !== 409 || op.answer.body?.code !== "OUT_OF_STOCK" || replayed(op) || op.complete === null) continue;
		const asked = askedBy(op, catalog);
		const from = op.invoke;
		const to = op.complete;
		// Lower bounds of free stock over the window, per warehouse and unit.
		const room = new Map<string, number>();
		const freeAt = (w: string, u: string): number => {
			const k = `${w}|${u}`;
			if (!room.has(k)) {
				const lows = (byUnitAt.get(k) ?? []).map((tl) => tl.minFreeDuring(from, to));
				room.set(k, Math.max(0, lows.reduce((a, b) => a + b, 0) - (safety.get(k) ?? 0)));
			}
			return room.get(k)!;
		};
		let fits = true;
		const kitsTaken: Array<{ kit: string; warehouse_id: string; kits: number }> = [];
		for (const kit of asked.kits) {
			let need = kit.quantity;
			for (const w of active) {
				if (need === 0) break;
				const can = Math.min(need, ...kit.components.map((c) => Math.floor(freeAt(w, unitKey(c)) / c.quantity)));
				if (can <= 0) continue;
				for (const c of kit.components) room.set(`${w}|${unitKey(c)}`, freeAt(w, unitKey(c)) - can * c.quantity);
				kitsTaken.push({ kit: kit.kit, warehouse_id: w, kits: can });
				need -= can;
			}
			if (need > 0) fits = false;
		}
		const units: Record<string, { asked: number; free_at_least: Record<string, number> }> = {};
		for (const [u, n] of asked.plain) {
			const per: Record<string, number> = {};
			for (const w of active) per[w] = freeAt(w, u);
			units[u] = { asked: n, free_at_least: per };
			if (Object.values(per).reduce((a, b) => a + b, 0) < n) fits = false;
		}
		if (!fits) continue;
		out.push({
			check: "false-409",
			subject: `op ${op.id} (${op.user})`,
			message: `409 OUT_OF_STOCK, but over [invoke, complete] = ${to - from} ms every unit asked had free stock for it at every instant`,
			detail: { invoke: new Date(from).toISOString(), complete: new Date(to).toISOString(), units, kits: kitsTaken, answered: op.answer.body?.details },
		});
	}
	return out;
}
