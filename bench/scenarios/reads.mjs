// The reads scenario: product page views under load, with checkouts among them,
// on stockgate alone. It reports Warehouse RPCs per page view, from the
// `warehouse_rpcs` field of the Worker's own [http] log lines (target <= 0.05).
import { runLoad } from "../lib/load.mjs";
import { settle } from "../lib/measure.mjs";
import { elapsed, log, SIZE } from "../lib/options.mjs";
import { mintAll, prepare } from "../lib/systems.mjs";
import { latencySummary } from "../lib/stats.mjs";

const PAGE = "GET /products/:id";
const round3 = (x) => Math.round(x * 1000) / 1000;

export async function readsScenario(sc, systems, ctx) {
	const sys = systems.find((s) => s.name === "stockgate");
	const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
	await prepare(sys, sc, ctx.admin, tokens);
	await settle(systems);
	await sys.call("logs"); // count from here
	// One order every `every` page views, so checkouts run among the reads.
	const every = Math.max(1, Math.floor(sc.views.length / Math.max(1, sc.buyers.length)));
	const requests = [];
	sc.views.forEach((productId, i) => {
		requests.push({ method: "GET", path: `/products/${productId}` });
		const buyer = sc.buyers[i / every];
		if (i % every === 0 && buyer) requests.push({ method: "POST", path: sys.placePath, token: tokens.get(buyer.sub), body: { delivery_mode: "standard" } });
	});
	const load = await runLoad(sys.url, requests, { concurrency: sc.concurrency, timeLimitMs: SIZE.loadTimeLimitMs, keep: (res, req) => ({ status: res.status, ms: res.ms, page: req.method === "GET" }) });
	const logs = await sys.call("logs");
	const done = load.results.filter(Boolean);
	const pages = done.filter((r) => r.page);
	const orders = done.filter((r) => !r.page);
	const page = logs.rpcs[PAGE] ?? { requests: 0, warehouse_rpcs: 0 };
	const place = logs.rpcs[`POST ${sys.placePath}`] ?? { requests: 0, warehouse_rpcs: 0 };
	const result = {
		page_views: pages.length,
		page_views_per_s: Math.round((pages.length / load.wall_ms) * 10000) / 10,
		page_view_latency_ms: latencySummary(pages.map((r) => r.ms)),
		page_views_logged: page.requests,
		page_view_warehouse_rpcs: page.warehouse_rpcs,
		rpcs_per_page_view: page.requests ? round3(page.warehouse_rpcs / page.requests) : null,
		orders: orders.length,
		orders_placed: orders.filter((r) => r.status === 201).length,
		rpcs_per_order: place.requests ? round3(place.warehouse_rpcs / place.requests) : null,
		"5xx": done.filter((r) => r.status >= 500 || r.status === 0).length,
		wall_s: Math.round(load.wall_ms / 100) / 10,
		rpcs_by_route: logs.rpcs,
	};
	log(
		`  stockgate        ${result.page_views} page views (${result.page_views_per_s}/s, p50 ${result.page_view_latency_ms.p50} ms, p99 ${result.page_view_latency_ms.p99} ms), ${result.page_view_warehouse_rpcs} Warehouse RPCs: ${result.rpcs_per_page_view} per page view (target <= 0.05); ${result.orders_placed}/${result.orders} orders placed, ${result.rpcs_per_order} RPCs per order; 5xx ${result["5xx"]}  [${elapsed()}]`,
	);
	return { stockgate: result };
}
