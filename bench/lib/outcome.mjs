// What a load did: the stock and orders read back from a system, and the
// scenario's outcome (sold, refused, oversold, lost sales, drift, latency, CPU).
import { api } from "./systems.mjs";
import { latencySummary } from "./stats.mjs";

export const unitKey = (product_id, size) => `${product_id}/${size}`;

/** Reads back what happened: the stock each warehouse holds and the orders stored for this scenario's buyers. */
export async function verify(sys, sc, admin) {
	const productIds = new Set(sc.products.map((p) => p.id));
	const initial = new Map();
	for (const items of Object.values(sc.stock)) for (const i of items) initial.set(unitKey(i.product_id, i.size), (initial.get(unitKey(i.product_id, i.size)) ?? 0) + i.on_hand);
	const final = new Map();
	for (const w of sc.warehouses) {
		const snap = await api(sys, "GET", `/admin/warehouses/${w.id}/stock`, undefined, admin);
		for (const i of snap.items) {
			if (!productIds.has(i.product_id)) continue;
			const k = unitKey(i.product_id, i.size);
			const f = final.get(k) ?? { on_hand: 0, reserved: 0, available: 0 };
			final.set(k, { on_hand: f.on_hand + i.on_hand, reserved: f.reserved + i.reserved, available: f.available + i.available });
		}
	}
	const rows = await sys.call("sql", { sql: `SELECT user_id, status, products FROM orders WHERE user_id LIKE ?`, params: [`${sc.prefix}%`] });
	const ordered = new Map();
	let cancelled = 0;
	for (const r of rows) {
		if (r.status === "cancelled") {
			cancelled++;
			continue;
		}
		for (const p of JSON.parse(r.products)) ordered.set(unitKey(p.product_id, p.size), (ordered.get(unitKey(p.product_id, p.size)) ?? 0) + p.quantity);
	}
	return { initial, final, ordered, orders_stored: rows.length - cancelled, orders_cancelled: cancelled };
}

export function outcome(sc, buyers, load, check) {
	const started = load.results.filter(Boolean);
	const count = (f) => started.filter(f).length;
	const sold = count((r) => r.status === 201);
	const refused = new Map();
	buyers.forEach((b, i) => {
		const r = load.results[i];
		if (!r || r.status === 201) return;
		for (const l of b.lines) refused.set(unitKey(l.product_id, l.size), (refused.get(unitKey(l.product_id, l.size)) ?? 0) + l.quantity);
	});
	let oversold = 0;
	let soldCorrectly = 0;
	let unitsSold = 0;
	let drift = 0;
	let lost = 0;
	let held = 0;
	for (const [k, init] of check.initial) {
		const o = check.ordered.get(k) ?? 0;
		const f = check.final.get(k) ?? { on_hand: 0, reserved: 0, available: 0 };
		unitsSold += o;
		oversold += Math.max(0, o - init);
		soldCorrectly += Math.min(o, init);
		drift += Math.abs(init - o - f.on_hand);
		held += f.reserved;
		lost += Math.min(refused.get(k) ?? 0, Math.max(0, f.available));
	}
	const wall_s = load.wall_ms / 1000;
	return {
		buyers: buyers.length,
		units_in_stock: [...check.initial.values()].reduce((a, b) => a + b, 0),
		units_demanded: buyers.reduce((a, b) => a + b.lines.reduce((x, l) => x + l.quantity, 0), 0),
		started: started.length,
		sold,
		units_sold: unitsSold,
		rejected: count((r) => r.status >= 400 && r.status < 500),
		rejected_out_of_stock: count((r) => r.status === 409 && r.code === "OUT_OF_STOCK"),
		rejected_conflict: count((r) => r.status === 409 && r.code === "CONFLICT"),
		rejected_other: count((r) => r.status >= 400 && r.status < 500 && !(r.status === 409 && (r.code === "OUT_OF_STOCK" || r.code === "CONFLICT"))),
		"5xx": count((r) => r.status >= 500 || r.status === 0),
		no_answer: count((r) => r.status === 0),
		oversold,
		lost_sales: lost,
		sold_correctly: soldCorrectly,
		stock_drift: drift,
		held_after: held,
		orders_stored: check.orders_stored,
		orders_cancelled: check.orders_cancelled,
		orders_vs_answers: check.orders_stored - sold,
		retried_orders: count((r) => r.status === 201 && r.attempts > 1),
		wall_s: Math.round(wall_s * 100) / 100,
		orders_per_s: Math.round((sold / wall_s) * 10) / 10,
		runtime_cpu_s: load.runtime_cpu_s,
		host_cpu_s: load.host_cpu_s ?? null,
		loadgen_cpu_s: load.loadgen_cpu_s ?? null,
		other_runtimes_cpu_s: load.other_runtimes_cpu_s ?? null,
		outside_cpu_s: load.outside_cpu_s ?? null,
		runtime_rss_mib_after: load.runtime_rss_after?.rss_mib ?? null,
		runtime_cpu_ms_per_request: load.runtime_cpu_s === null || started.length === 0 ? null : Math.round(((load.runtime_cpu_s * 1000) / started.length) * 10) / 10,
		timed_out: load.timed_out,
		latency_ms: latencySummary(started.map((r) => r.ms)),
		latency_ms_sold: latencySummary(started.filter((r) => r.status === 201).map((r) => r.ms)),
	};
}

/** One load's figures out of several consecutive ones (split groups, interleaved rounds). */
export function mergeLoads(loads) {
	const sum = (f) => (loads.every((l) => f(l.load) !== null && f(l.load) !== undefined) ? Math.round(loads.reduce((s, l) => s + f(l.load), 0) * 100) / 100 : null);
	return {
		results: loads.flatMap((l) => l.load.results),
		wall_ms: loads.reduce((s, l) => s + l.load.wall_ms, 0),
		timed_out: loads.some((l) => l.load.timed_out),
		runtime_cpu_s: sum((l) => l.runtime_cpu_s),
		host_cpu_s: sum((l) => l.host_cpu_s),
		loadgen_cpu_s: sum((l) => l.loadgen_cpu_s),
		other_runtimes_cpu_s: sum((l) => l.other_runtimes_cpu_s),
		outside_cpu_s: sum((l) => l.outside_cpu_s),
		runtime_rss_after: loads.at(-1).load.runtime_rss_after,
		profile: loads.find((l) => l.load.profile)?.load.profile,
	};
}

export function rateOf(load) {
	const sold = load.results.filter((r) => r?.status === 201).length;
	return { sold, orders_per_s: Math.round((sold / (load.wall_ms / 1000)) * 10) / 10 };
}
