// The printed report: one table per scenario, stockgate's ratios to the baselines,
// and the targets checked against this run (informational, never the exit code).
import { ratio, table } from "./stats.mjs";
import { renderCapacity } from "../scenarios/capacity.mjs";

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
	if (name === "shards") return renderShards(lines, entry);
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
		if (p?.capacity) lines.push("", p.capacity.error ? `capacity model: n/a (${p.capacity.error.split("\n")[0]})` : renderCapacity(p.capacity));
		return [...lines, ""].join("\n");
	}
	if (name === "stampede") return renderStampede(lines, entry);
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

const fixed = (d) => (v) => (v === null || v === undefined ? null : v.toFixed(d));

function renderShards(lines, entry) {
	const rows = Object.values(entry.results).flatMap((r) =>
		Object.entries(r.per_order).map(([db, d]) => ({ n: r.shards, db, ms: d.ms, statements: d.statements, sold: `${r.sold}/${r.buyers}` })),
	);
	lines.push(
		table(
			[
				{ key: "n", title: "N" },
				{ key: "db", title: "database", align: "left" },
				{ key: (r) => fixed(3)(r.ms), title: "busy ms per order (meta.duration)" },
				{ key: (r) => fixed(2)(r.statements), title: "statements per order" },
				{ key: "sold", title: "sold" },
			],
			rows,
		),
	);
	const s = entry.share;
	lines.push("", `busiest database at N=4: ${s.busiest_database}, share ${s.share} of the single database's busy ms per order (by statements ${s.share_by_statements}; judged by ${s.basis}, bound ${s.max_share}: ${s.met ? "met" : "missed"})`);
	return [...lines, ""].join("\n");
}

function renderStampede(lines, entry) {
	const rows = Object.entries(entry.summary).map(([system, r]) => ({ system, ...r }));
	lines.push(
		table(
			[
				{ key: "system", title: "system", align: "left" },
				{ key: "units_sold_paying", title: "units sold to paying buyers" },
				{ key: "units_recovered_from_hoarders", title: "recovered from hoarders" },
				{ key: "units_held_by_hoarders", title: "held by unpaid hoarders" },
				{ key: "oversold", title: "oversold" },
				{ key: "lost_sales_after_window", title: "lost sales after window" },
				{ key: "5xx", title: "5xx" },
				{ key: "p50_quiet", title: "p50 ms quiet" },
				{ key: "p99_quiet", title: "p99 ms quiet" },
				{ key: "p50_browsing", title: "p50 ms browsing" },
				{ key: "p99_browsing", title: "p99 ms browsing" },
				{ key: (r) => fixed(2)(r.p99_browsing_over_quiet), title: "p99 browsing / quiet" },
				{ key: (r) => fixed(3)(r.rpcs_per_page_view), title: "Warehouse RPCs per page view" },
				{ key: (r) => fixed(4)(r.d1_queries_per_page_view), title: "D1 queries per page view" },
				{ key: (r) => fixed(2)(r.writes_per_order), title: "Warehouse write tx per order" },
			],
			rows,
		),
	);
	lines.push(
		"",
		"Units and p50/p99 browsing from the pass with page views (the commit-before-answer variant runs the quiet pass only); oversold, lost sales and 5xx over both passes; write transactions per order over the whole pass (buying, the reconciler's cancellations, the retry) divided by the orders placed in it.",
	);
	const passLabel = (pass) => (pass === "b" ? "browsing" : pass === "s" ? `quiet, ${entry.sharded?.sharded.shards ?? "S"} shards` : "quiet");
	const passRows = [];
	for (const [pass, bySystem] of Object.entries(entry.passes)) {
		for (const [system, r] of Object.entries(bySystem)) passRows.push({ pass: passLabel(pass), system, ...r });
	}
	lines.push(
		"",
		table(
			[
				{ key: "pass", title: "pass", align: "left" },
				{ key: "system", title: "system", align: "left" },
				{ key: "orders_placed_first", title: "placed" },
				{ key: "rejected_conflict_first", title: "of the refused: 409 conflict" },
				{ key: "lost_sales_buying", title: "lost sales while buying" },
				{ key: "orders_placed_retry", title: "placed on retry" },
				{ key: "orders_paid", title: "paid" },
				{ key: "hoarder_orders_cancelled_by_window", title: "cancelled by the window" },
				{ key: "buying_wall_s", title: "buying wall s" },
				{ key: (r) => r.place_order_sold_ms.p50, title: "p50 of sold ms" },
				{ key: "page_views_per_s", title: "page views/s" },
				{ key: (r) => r.page_view_ms?.p99 ?? null, title: "page view p99 ms" },
				{ key: (r) => fixed(2)(r.writes?.per_order_buying), title: "write tx per order, buying only" },
				{ key: (r) => fixed(2)(r.writes?.per_order), title: "write tx per order, whole pass" },
			],
			passRows,
		),
	);
	for (const [pass, bySystem] of Object.entries(entry.passes)) {
		for (const [system, r] of Object.entries(bySystem)) {
			if (r.writes?.all) lines.push("", `${system}, ${passLabel(pass)} pass, Warehouse write transactions by kind: ${Object.entries(r.writes.all.by_kind).map(([k, n]) => `${k} ${n}`).join(", ")} (for ${r.orders_placed_first + r.orders_placed_retry} orders placed)`);
			else if (r.writes?.restarted) lines.push("", `${system}, pass ${pass}: a Warehouse object restarted during the pass, its write count was lost (n/a)`);
		}
	}
	if (entry.sharded) renderSharded(lines, entry.sharded);
	return [...lines, ""].join("\n");
}

/** The hot unit at S = 1 next to S = shards (stockgate's own instance, quiet passes). */
function renderSharded(lines, sh) {
	const rows = [sh.s1, sh.sharded];
	lines.push(
		"",
		`Hot unit over shard objects (stockgate, quiet passes): at S=${sh.sharded.shards} against S=1, the busiest object's requests per order x${sh.busiest_requests_per_order_ratio}, the busiest selling object's (a shard) x${sh.busiest_seller_requests_per_order_ratio}`,
		"",
		table(
			[
				{ key: "shards", title: "S" },
				{ key: "busiest_object", title: "busiest object", align: "left" },
				{ key: (r) => fixed(3)(r.busiest_requests_per_order), title: "its requests per order" },
				{ key: (r) => fixed(3)(r.busiest_requests_per_order_buying), title: "buying only" },
				{ key: (r) => fixed(3)(r.busiest_requests_per_place_order), title: "per place-order sent" },
				{ key: (r) => fixed(3)(r.busiest_seller_requests_per_order), title: "busiest seller's requests per order" },
				{ key: (r) => fixed(3)(r.all_objects_requests_per_order), title: "all objects' requests per order" },
				{ key: "grants", title: "grants" },
				{ key: "grants_per_s_buying", title: "grants/s buying" },
				{ key: "refusals_out_of_stock", title: "409 out of stock" },
				{ key: "false_409", title: "false 409" },
				{ key: (r) => `${r.units_sold} / ${r.units_in_stock}`, title: "units sold / stock" },
				{ key: "buying_wall_s", title: "buying wall s" },
				{ key: "p99_ms", title: "p99 ms" },
			],
			rows,
		),
		"",
		...rows.map((r) => `S=${r.shards}, busiest object's requests by method: ${Object.entries(r.busiest_by_method ?? {}).map(([k, n]) => `${k} ${n}`).join(", ") || "n/a"}`),
	);
}

/** stockgate's targets, checked against this run. */
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
	if (ca?.stockgate && ca.baseline) {
		const x = ratio(ca.stockgate.orders_per_s, ca.baseline.orders_per_s);
		out.push({ target: "catalog: stockgate throughput >= 1.5x the baseline's", measured: `x${x}`, met: x !== null && x >= 1.5 ? "yes" : "no" });
	}
	const shardShare = scenarios.shards?.share;
	if (shardShare) {
		const sh = shardShare;
		out.push({
			target: "shards: at N=4 the busiest database's busy ms per order <= 0.35 of one database's",
			measured: `${sh.busiest_database} x${sh.share} (by statements x${sh.share_by_statements}; judged by ${sh.basis})`,
			met: sh.met ? "yes" : "no",
		});
	}
	const st = scenarios.stampede?.summary?.stockgate;
	if (st) {
		out.push({
			target: "stampede: place-order p99 with browsing <= 1.5x without",
			measured: `${st.p99_browsing} vs ${st.p99_quiet} ms (x${st.p99_browsing_over_quiet})`,
			met: st.p99_browsing_over_quiet !== null && st.p99_browsing_over_quiet <= 1.5 ? "yes" : "no",
		});
		const before = scenarios.stampede.summary["stockgate, commit before answer"];
		const pass = (label, p) => scenarios.stampede.passes[p]?.[label]?.writes;
		const fig = (w) => (w ? `${w.per_order ?? "n/a"} (buying alone ${w.per_order_buying ?? "n/a"})` : "n/a");
		out.push({
			target: "stampede: Warehouse write transactions per order <= 1.2, whole pass",
			measured: `browsing ${fig(pass("stockgate", "b"))}, quiet ${fig(pass("stockgate", "q"))}${before ? `; committing before the answer, quiet: ${fig(pass("stockgate, commit before answer", "q"))}` : ""}`,
			met: st.writes_per_order !== null && st.writes_per_order <= 1.2 ? "yes" : "no",
		});
		if (st.d1_queries_per_page_view !== null && st.d1_queries_per_page_view !== undefined) {
			out.push({
				target: "stampede: D1 queries per product page view <= 0.01, browsing pass",
				measured: `${st.page_view_d1_queries} D1 queries for ${st.page_views_logged} page views (${st.d1_queries_per_page_view})`,
				met: st.d1_queries_per_page_view <= 0.01 ? "yes" : "no",
			});
		}
		out.push({
			target: "stampede: stockgate 0 oversold, 0 lost sales after the window, 0 5xx",
			measured: `oversold ${st.oversold}, lost ${st.lost_sales_after_window}, 5xx ${st["5xx"]}`,
			met: st.oversold === 0 && st.lost_sales_after_window === 0 && st["5xx"] === 0 ? "yes" : "no",
		});
	}
	const sh = scenarios.stampede?.sharded;
	if (sh) {
		out.push({
			target: `stampede: the hot unit at S=${sh.sharded.shards} sells every unit with 0 false 409s, its busiest object serving fewer requests per order than at S=1`,
			measured: `false 409s ${sh.sharded.false_409}, sold ${sh.sharded.units_sold} of ${sh.sharded.units_in_stock}, busiest object x${sh.busiest_requests_per_order_ratio}`,
			met: sh.sharded.false_409 === 0 && sh.sharded.units_sold === sh.sharded.units_in_stock && sh.busiest_requests_per_order_ratio !== null && sh.busiest_requests_per_order_ratio < 1 ? "yes" : "no",
		});
	}
	const rd = scenarios.reads?.results?.stockgate;
	if (rd && rd.rpcs_per_page_view !== null) {
		out.push({
			target: "reads: Warehouse RPCs per product page view <= 0.05",
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
