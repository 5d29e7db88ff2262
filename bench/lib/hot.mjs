// A hot unit's objects in a stampede pass, pure (plain data in, figures out):
// which object served the most requests per order, the grants its pools made,
// and the pass as a history for the checker's no-false-409 judgement
// (test/checker/falseRefusals.ts, run by the stampede through Vite's module runner).

/**
 * Requests each object served between two readings of the host's `writes`
 * command ({ [object name]: { requests: { [method]: n } } }), busiest first.
 * `objects`: [{ name, label, role }], the objects of the pass's unit (role:
 * "warehouse", "pool" or "shard").
 */
export function requestsBetween(objects, before, after) {
	const out = objects.map(({ name, label, role }) => {
		const by_method = {};
		for (const [m, n] of Object.entries(after[name]?.requests ?? {})) {
			const d = n - (before[name]?.requests?.[m] ?? 0);
			if (d !== 0) by_method[m] = d;
		}
		return { object: label, role, requests: Object.values(by_method).reduce((s, n) => s + n, 0), by_method };
	});
	return out.sort((a, b) => b.requests - a.requests || (a.object < b.object ? -1 : 1));
}

/**
 * The busiest object's requests per order placed and per place-order sent (sold
 * or refused: a sold-out crowd loads the objects too), and every object's
 * requests together per order placed; null without orders.
 */
export function busiestPerOrder(perObject, ordersPlaced, placeOrdersSent) {
	if (perObject.length === 0 || ordersPlaced <= 0) return null;
	const [top] = perObject;
	const all = perObject.reduce((s, o) => s + o.requests, 0);
	const r = (x) => Math.round(x * 1000) / 1000;
	return {
		object: top.object,
		requests: top.requests,
		by_method: top.by_method,
		per_order: r(top.requests / ordersPlaced),
		per_place_order: placeOrdersSent > 0 ? r(top.requests / placeOrdersSent) : null,
		all_objects_per_order: r(all / ordersPlaced),
		objects: perObject.length,
	};
}

/** A warehouse's ledger entries (GET /admin/warehouses/:id/ledger) as the checker's rows; `shard` null or absent is the warehouse's own object. */
export function ledgerRows(warehouseId, entries) {
	return entries.map((e) => ({
		object: e.shard === null || e.shard === undefined ? { warehouse_id: warehouseId } : { warehouse_id: warehouseId, shard: e.shard },
		seq: e.seq,
		at: Date.parse(e.at),
		product_id: e.product_id,
		size: e.size,
		on_hand_delta: e.on_hand_delta,
		reserved_delta: e.reserved_delta,
		reason: e.reason,
		ref: e.ref,
	}));
}

/**
 * One place-order of the pass as the checker's op: `result` is what the load
 * kept ({ status, code, invoke, complete }: host clock, ms), `lines` what the
 * buyer's cart asked for. Unanswered (status 0) ops have no answer.
 */
export function placeOp(id, user, lines, result) {
	const answered = result.status > 0;
	return {
		id,
		user,
		method: "POST",
		path: "/cart/place-order",
		headers: {},
		asked: lines,
		invoke: result.invoke,
		complete: answered ? result.complete : null,
		answer: answered ? { status: result.status, body: { code: result.code }, headers: {} } : null,
	};
}

/** The pass as a history: its place-orders and its warehouses' ledgers (only what the no-false-409 judgement reads). */
export function historyOf({ ops, ledger, warehouseIds, readAt }) {
	return { ops, ledger, stock: [], orders: [], products: [], warehouses: warehouseIds.map((warehouse_id) => ({ warehouse_id, active: true })), settled: false, read_at: readAt };
}

/**
 * Grants the pools made (ledger rows `grant_out`): over the whole pass, and
 * those stamped within [from, to] (the buying) with their rate per second.
 */
export function grantFigures(ledger, from, to) {
	const grants = ledger.filter((r) => r.reason === "grant_out");
	const during = grants.filter((r) => r.at >= from && r.at <= to).length;
	const seconds = (to - from) / 1000;
	return { pass: grants.length, buying: during, per_s_buying: seconds > 0 ? Math.round((during / seconds) * 10) / 10 : null, units_granted: grants.reduce((s, r) => s - r.on_hand_delta, 0) };
}
