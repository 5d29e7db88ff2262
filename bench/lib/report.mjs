// The printed report: one table per scenario, stockgate's ratios to the baselines,
// and the targets checked against this run (informational, never the exit code).
import { ratio, table } from "./stats.mjs";

export const CONTENTION_COLUMNS = [
	{ key: "system", title: "system", align: "left" },
	{ key: "sold", title: "sold" },
	{ key: "rejected", title: "rejected" },
	{ key: "rejected_conflict", title: "of which 409 conflict" },
	{ key: "5xx", title: "5xx" },
	{ key: "oversold", title: "oversold" },
	{ key: "lost_sales", title: "lost sales" },
	{ key: "wall_s", title: "wall s" },
	{ key: "orders_per_s", title: "orders/s" },
	{ key: (r) => r.latency_ms.p50, title: "p50 ms" },
	{ key: (r) => r.latency_ms.p95, title: "p95 ms" },
	{ key: (r) => r.latency_ms.p99, title: "p99 ms" },
	{ key: "runtime_cpu_ms_per_request", title: "runtime CPU ms/req" },
];

export function ratios(results) {
	const sg = results.stockgate;
	const out = {};
	for (const base of ["baseline", "baseline+retry3"]) {
		const b = results[base];
		if (!sg || !b) continue;
		out[`stockgate/${base}`] = {
			throughput: ratio(sg.orders_per_s, b.orders_per_s),
			p99: ratio(sg.latency_ms.p99, b.latency_ms.p99),
			sold_correctly: ratio(sg.sold_correctly, b.sold_correctly),
		};
	}
	return out;
}

export function renderScenario(name, entry) {
	const lines = [`### ${name}`, "", entry.description, ""];
	if (entry.skipped) return [...lines, `skipped: ${entry.skipped}`, ""].join("\n");
	if (name === "floor") {
		const rows = Object.entries(entry.results).map(([system, r]) => ({
			system,
			health: r.health.p50,
			stock: r.stock_get.p50,
			product: r.product_get.p50,
			place: r.place_order.p50,
			place99: r.place_order.p99,
			floor: r.floor_sum_ms ?? null,
			over: r.place_order_over_floor ?? null,
		}));
		lines.push(
			table(
				[
					{ key: "system", title: "system", align: "left" },
					{ key: "health", title: "GET /health p50 ms" },
					{ key: "stock", title: "admin stock GET p50 ms" },
					{ key: "product", title: "GET /products/:id p50 ms" },
					{ key: "place", title: "place-order p50 ms" },
					{ key: "place99", title: "place-order p99 ms" },
					{ key: "floor", title: "sum of its primitives ms" },
					{ key: "over", title: "place-order / floor" },
				],
				rows,
			),
		);
		const p = entry.primitives;
		if (p?.cost_ms) {
			lines.push(
				"",
				table(
					[
						{ key: "op", title: "primitive (probe Worker)", align: "left" },
						{ key: "http", title: "request doing one, p50 ms" },
						{ key: "cost", title: "cost (p50 - noop p50) ms" },
						{ key: "loop", title: "in-Worker loop ms/call" },
					],
					Object.entries(p.http).map(([op, h]) => ({ op, http: h.p50, cost: op === "noop" ? null : p.cost_ms[op], loop: p.loop_ms_per_call?.[op] ?? null })),
				),
			);
		} else if (p?.error) {
			lines.push("", `primitives: n/a (${p.error.split("\n")[0]})`);
		}
		return [...lines, ""].join("\n");
	}
	if (name === "reads") {
		const rows = Object.entries(entry.results).map(([system, r]) => ({ system, ...r }));
		lines.push(
			table(
				[
					{ key: "system", title: "system", align: "left" },
					{ key: "page_views", title: "page views" },
					{ key: "page_views_per_s", title: "views/s" },
					{ key: (r) => r.page_view_latency_ms.p50, title: "p50 ms" },
					{ key: (r) => r.page_view_latency_ms.p99, title: "p99 ms" },
					{ key: "page_view_warehouse_rpcs", title: "Warehouse RPCs" },
					{ key: (r) => (r.rpcs_per_page_view === null ? null : r.rpcs_per_page_view.toFixed(3)), title: "RPCs per page view" },
					{ key: "orders_placed", title: "orders placed" },
					{ key: (r) => (r.rpcs_per_order === null ? null : r.rpcs_per_order.toFixed(2)), title: "RPCs per order" },
					{ key: "5xx", title: "5xx" },
				],
				rows,
			),
		);
		return [...lines, ""].join("\n");
	}
	const rows = Object.entries(entry.results).map(([system, r]) => ({ system, ...r }));
	lines.push(table(CONTENTION_COLUMNS, rows));
	if (name === "fan-out") {
		const splitRows = [];
		for (const [system, r] of Object.entries(entry.results)) {
			for (const [split, s] of Object.entries(r.by_split ?? {})) splitRows.push({ system, split, ...s });
		}
		lines.push(
			"",
			table(
				[
					{ key: "system", title: "system", align: "left" },
					{ key: "split", title: "warehouses per order" },
					{ key: "sold", title: "sold" },
					{ key: "orders_per_s", title: "orders/s" },
					{ key: "p50", title: "p50 ms" },
					{ key: "p95", title: "p95 ms" },
					{ key: "p99", title: "p99 ms" },
					{ key: (r) => r.sold_latency_ms?.p50, title: "p50 of sold ms" },
				],
				splitRows,
			),
		);
	}
	for (const [pair, r] of Object.entries(entry.ratios ?? {})) {
		lines.push("", `${pair}: throughput x${r.throughput ?? "n/a"}, p99 x${r.p99 ?? "n/a"}, sold-correctly x${r.sold_correctly ?? "n/a"}`);
	}
	return [...lines, ""].join("\n");
}

/** The targets for stockgate, checked against this run. */
export function targets(scenarios) {
	const out = [];
	const lu = scenarios["last-units"]?.results;
	if (lu?.stockgate) {
		const r = lu.stockgate;
		const sellable = Math.min(r.units_in_stock, r.units_demanded);
		out.push({
			target: "last-units: stockgate sells exactly the units in stock, 0 oversold, 0 lost sales",
			measured: `sold ${r.units_sold} of ${sellable}, oversold ${r.oversold}, lost ${r.lost_sales}`,
			met: r.units_sold === sellable && r.oversold === 0 && r.lost_sales === 0 ? "yes" : "no",
		});
	}
	const ca = scenarios.catalog?.results;
	if (ca?.stockgate && ca.baseline) {
		out.push({
			target: "catalog: stockgate throughput >= baseline's",
			measured: `${ca.stockgate.orders_per_s} vs ${ca.baseline.orders_per_s} orders/s (x${ratio(ca.stockgate.orders_per_s, ca.baseline.orders_per_s)})`,
			met: ca.stockgate.orders_per_s >= ca.baseline.orders_per_s ? "yes" : "no",
		});
	}
	const rd = scenarios.reads?.results?.stockgate;
	if (rd && rd.rpcs_per_page_view !== null) {
		out.push({
			target: "reads: Warehouse RPCs per product page view <= 0.05 (issue 10)",
			measured: `${rd.page_view_warehouse_rpcs} RPCs for ${rd.page_views_logged} page views (${rd.rpcs_per_page_view})`,
			met: rd.rpcs_per_page_view <= 0.05 ? "yes" : "no",
		});
	}
	const fl = scenarios.floor?.results?.stockgate;
	if (fl?.place_order_over_floor !== undefined && fl.place_order_over_floor !== null) {
		out.push({
			target: "floor: stockgate place-order p50 <= 3x the sum of its primitives",
			measured: `${fl.place_order.p50} ms vs ${fl.floor_sum_ms} ms (x${fl.place_order_over_floor})`,
			met: fl.place_order_over_floor <= 3 ? "yes" : "no",
		});
	}
	return out;
}
