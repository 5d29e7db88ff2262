/**
 * Each order's units: committed once, restocked at most once and only after
 * its commit, never for an order that does not exist. Per order, warehouse and
 * unit (summed over the unit's shards there): the units committed never pass
 * what the order allocates there; once settled, a live order's are all
 * committed and nothing restocked, a cancelled order's are all restocked.
 */
import { add, groupBy, objectKey, unitKey, type History, type Product } from "./history.js";
import { isLive, takenBy } from "./ops.js";
import { COMMIT, RESTOCK } from "./reasons.js";
import type { Violation } from "./violation.js";

export function checkCommits(h: History): Violation[] {
	const out: Violation[] = [];
	const catalog = new Map<string, Product>(h.products.map((p) => [p.product_id, p]));
	const orders = new Map(h.orders.map((o) => [o.order_id, o]));
	const rows = h.ledger.filter((r) => r.reason === COMMIT || r.reason === RESTOCK);

	for (const [k, list] of groupBy(rows, (r) => `${r.ref}|${objectKey(r.object)}|${unitKey(r)}`)) {
		const commits = list.filter((r) => r.reason === COMMIT);
		const restocks = list.filter((r) => r.reason === RESTOCK);
		const detail = list.map((r) => ({ seq: r.seq, reason: r.reason, on_hand_delta: r.on_hand_delta, reserved_delta: r.reserved_delta }));
		if (commits.length > 1) out.push({ check: "commit-once", subject: k, message: `committed ${commits.length} times`, detail });
		if (restocks.length > 1) out.push({ check: "commit-once", subject: k, message: `restocked ${restocks.length} times`, detail });
		if (restocks.length > 0 && (commits.length === 0 || restocks[0]!.seq < commits[0]!.seq)) out.push({ check: "commit-once", subject: k, message: "restocked before any commit", detail });
	}

	const taken = new Map<string, number>(); // order|warehouse|unit -> committed - restocked
	const committed = new Map<string, number>();
	for (const r of rows) {
		const k = `${r.ref}|${r.object.warehouse_id}|${unitKey(r)}`;
		add(taken, k, -r.on_hand_delta);
		if (r.reason === COMMIT) add(committed, k, -r.on_hand_delta);
		if (!orders.has(r.ref)) out.push({ check: "commit-once", subject: `${r.reason} ${r.ref} at ${objectKey(r.object)}`, message: "no such order", detail: r });
	}

	const allocated = new Map<string, number>();
	for (const o of h.orders) for (const t of takenBy(o, catalog)) add(allocated, `${o.order_id}|${t.warehouse_id}|${unitKey(t)}`, t.quantity);
	for (const [k, n] of committed) {
		const order = orders.get(k.split("|")[0]!);
		if (order && n > (allocated.get(k) ?? 0)) out.push({ check: "commit-once", subject: k, message: `committed ${n} units, the order allocates ${allocated.get(k) ?? 0} here` });
	}
	if (h.settled) {
		for (const [k, n] of allocated) {
			const order = orders.get(k.split("|")[0]!)!;
			const want = isLive(order) ? n : 0;
			const net = taken.get(k) ?? 0;
			if (net !== want) out.push({ check: "commit-once", subject: k, message: `${order.status} order allocates ${n}: net taken ${net} once settled, want ${want}` });
		}
	}
	return out;
}
