// The stampede: a flash sale of one hot unit with hoarders and browsers, on
// stockgate (its own instances, with a short payment window) and the baseline.
// Each system, on fresh data per pass (pass "q" without page views, pass "b"
// with them running during the buying):
//   1. buying: every buyer places one order; in pass b the product page is read
//      at the same time;
//   2. paying: every paying buyer with a 201 pays through the signed payment
//      webhook (stockgate; the baseline has no payment notion, nothing is sent);
//   3. the window: once it has passed for the last hoarder's order, the cron
//      handler is fired (stockgate; Miniflare's /cdn-cgi/local/scheduled), which
//      cancels the unpaid orders and gives their units back;
//   4. retry: every paying buyer who was turned away places the order again
//      (and pays when it is placed), so units recovered from hoarders are sold.
// Then the stock and the orders are read back and checked. stockgate's Warehouse
// objects count their own write transactions (src/stock/object/writes.ts) and the
// requests they serve (src/stock/object/requests.ts), read before and after through
// the runtime, so commits made after the answer, alarms, the reconciler's
// cancellations and the objects' calls to each other are all in the count.
//
// stockgate's own instance runs a third pass ("s"): the same hot unit split over
// SIZE.stampede.shards objects at each warehouse (the warehouse's object is the
// pool), quiet. On every stockgate pass the hot unit's figures are: the busiest
// object's requests per order, the pools' grants per second, the false 409s
// judged by the history checker (test/checker/falseRefusals.ts) over the pass's
// place-orders and every object's ledger, and the units sold against the stock.
import { performance } from "node:perf_hooks";
import { pool } from "../../scripts/lib/pool.mjs";
import { busiestPerOrder, grantFigures, historyOf, ledgerRows, placeOp, requestsBetween } from "../lib/hot.mjs";
import { paymentSignature } from "../../scripts/lib/tokens.mjs";
import { agentFor, runLoad, send } from "../lib/load.mjs";
import { settle } from "../lib/measure.mjs";
import { elapsed, log, QUICK, SIZE } from "../lib/options.mjs";
import { cpuSecondsOf } from "../lib/proc.mjs";
import { stampede } from "../lib/workloads.mjs";
import { ratio, latencySummary } from "../lib/stats.mjs";
import { api, mintAll, prepare } from "../lib/systems.mjs";
import { importTs } from "../lib/ts.mjs";

const PAGE = "GET /products/:id";
const PASSES = [
	{ pass: "q", browsing: false, sharded: false },
	{ pass: "b", browsing: true, sharded: false },
	{ pass: "s", browsing: false, sharded: true },
];
const passName = (pass, shards) => (pass === "b" ? "browsing" : pass === "s" ? `quiet, ${shards} shards` : "quiet");
const round = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isStockgate = (sys) => sys.name.startsWith("stockgate");
const failed = (r) => r && (r.status >= 500 || r.status === 0);

export async function stampedeScenario(size, systems, everyRuntime, ctx) {
	const passes = {};
	// --quick (CI) leaves the browsing pass out.
	for (const { pass, browsing, sharded } of PASSES.filter((p) => !(QUICK && p.browsing))) {
		const sc = stampede(size, pass, sharded ? size.shards : 1);
		const here = systems.filter((s) => (sharded ? s.shardedPass : !(browsing && s.quietOnly)));
		const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
		await Promise.all(here.map((sys) => prepare(sys, sc, ctx.admin, tokens)));
		passes[pass] = {};
		for (const sys of here) {
			const r = await runPass(sys, sc, tokens, browsing, everyRuntime, ctx);
			passes[pass][sys.label ?? sys.name] = r;
			const hot = r.hot ? `, busiest object ${r.hot.busiest?.object ?? "n/a"} ${r.hot.busiest?.per_order ?? "n/a"} requests/order, grants ${r.hot.grants.pass} (${r.hot.grants.per_s_buying ?? 0}/s buying), false 409s ${r.hot.false_409} of ${r.hot.refusals_out_of_stock}, units sold ${r.units_sold} of ${r.units_in_stock}` : "";
			log(
				`  ${(sys.label ?? sys.name).padEnd(32)} pass ${pass} (${passName(pass, sc.shards)}): placed ${r.orders_placed_first}+${r.orders_placed_retry} (paid ${r.orders_paid}), units to paying buyers ${r.units_sold_paying}, recovered from hoarders ${r.units_recovered_from_hoarders}, held by unpaid hoarders ${r.units_held_by_hoarders}, oversold ${r.oversold}, lost after window ${r.lost_sales_after_window}, 5xx ${r["5xx"]}, p50 ${r.place_order_ms.p50} ms, p99 ${r.place_order_ms.p99} ms${browsing ? `, ${r.page_views} views (${r.rpcs_per_page_view ?? "n/a"} RPCs, ${r.d1_queries_per_page_view ?? "n/a"} D1 queries each)` : ""}, write tx/order ${r.writes?.per_order ?? "n/a"}${hot}  [${elapsed()}]`,
			);
		}
	}
	const summary = {};
	for (const label of Object.keys(passes.q)) {
		const q = passes.q[label];
		const b = passes.b?.[label];
		const main = b ?? q;
		// The correctness figures over every pass of the system, the sharded one included.
		const every = Object.values(passes).flatMap((p) => (p[label] ? [p[label]] : []));
		summary[label] = {
			units_in_stock: main.units_in_stock,
			units_sold_paying: main.units_sold_paying,
			units_recovered_from_hoarders: main.units_recovered_from_hoarders,
			units_held_by_hoarders: main.units_held_by_hoarders,
			oversold: Math.max(...every.map((r) => r.oversold)),
			lost_sales_after_window: Math.max(...every.map((r) => r.lost_sales_after_window)),
			"5xx": every.reduce((s, r) => s + r["5xx"], 0),
			false_409: every.some((r) => r.hot) ? every.reduce((s, r) => s + (r.hot?.false_409 ?? 0), 0) : null,
			units_sold_equals_stock: every.every((r) => r.units_sold === r.units_in_stock),
			p50_quiet: q.place_order_ms.p50,
			p99_quiet: q.place_order_ms.p99,
			p50_browsing: b?.place_order_ms.p50 ?? null,
			p99_browsing: b?.place_order_ms.p99 ?? null,
			p99_browsing_over_quiet: b ? ratio(b.place_order_ms.p99, q.place_order_ms.p99) : null,
			rpcs_per_page_view: b?.rpcs_per_page_view ?? null,
			d1_queries_per_page_view: b?.d1_queries_per_page_view ?? null,
			page_views_logged: b?.page_views_logged ?? null,
			page_view_d1_queries: b?.page_view_d1_queries ?? null,
			writes_per_order: main.writes?.per_order ?? null,
			writes_per_order_quiet: q.writes?.per_order ?? null,
			writes_per_order_browsing: b?.writes?.per_order ?? null,
			from_pass: b ? "b" : "q",
		};
	}
	return { passes, summary, sharded: shardedFigures(passes, size.shards) };
}

/** The hot unit at S = 1 (the quiet pass) next to S = shards, on stockgate's own instance; null without the sharded pass. */
function shardedFigures(passes, shards) {
	const one = passes.q?.stockgate;
	const many = passes.s?.stockgate;
	if (!one?.hot || !many?.hot) return null;
	const figures = (r, s) => ({
		shards: s,
		busiest_object: r.hot.busiest?.object ?? null,
		busiest_requests: r.hot.busiest?.requests ?? null,
		busiest_requests_per_order: r.hot.busiest?.per_order ?? null,
		busiest_requests_per_order_buying: r.hot.busiest_buying?.per_order ?? null,
		busiest_requests_per_place_order: r.hot.busiest?.per_place_order ?? null,
		place_orders_sent: r.hot.place_orders_sent,
		all_objects_requests_per_order: r.hot.busiest?.all_objects_per_order ?? null,
		// The busiest object selling the unit itself: the warehouse's at S = 1, a shard beyond (the pool sells nothing).
		busiest_seller_requests_per_order: sellerPerOrder(r),
		busiest_by_method: r.hot.busiest?.by_method ?? null,
		orders_placed: r.orders_placed_first + r.orders_placed_retry,
		grants: r.hot.grants.pass,
		grants_buying: r.hot.grants.buying,
		grants_per_s_buying: r.hot.grants.per_s_buying,
		refusals_out_of_stock: r.hot.refusals_out_of_stock,
		false_409: r.hot.false_409,
		units_sold: r.units_sold,
		units_in_stock: r.units_in_stock,
		buying_wall_s: r.buying_wall_s,
		p50_ms: r.place_order_ms.p50,
		p99_ms: r.place_order_ms.p99,
	});
	const a = figures(one, 1);
	const b = figures(many, shards);
	return {
		s1: a,
		sharded: b,
		busiest_requests_per_order_ratio: ratio(b.busiest_requests_per_order, a.busiest_requests_per_order),
		busiest_seller_requests_per_order_ratio: ratio(b.busiest_seller_requests_per_order, a.busiest_seller_requests_per_order),
	};
}

function sellerPerOrder(r) {
	const top = r.hot.requests_by_object?.find((o) => o.role !== "pool");
	const placed = r.orders_placed_first + r.orders_placed_retry;
	return top && placed > 0 ? Math.round((top.requests / placed) * 1000) / 1000 : null;
}

async function runPass(sys, sc, tokens, browsing, everyRuntime, ctx) {
	const sg = isStockgate(sys);
	const objects = sg ? await objectsOf(sc) : [];
	const ids = objects.map((o) => o.name);
	const agent = agentFor(32);
	const limit = SIZE.loadTimeLimitMs;
	await settle(everyRuntime);
	await sys.call("logs"); // count this pass's lines from here
	const writes0 = sg ? await sys.call("writes", { ids }) : null;

	// 1. buying, with the product page read at the same time in the browsing pass
	const placeRequests = sc.buyers.map((b) => ({ method: "POST", path: sys.placePath, token: tokens.get(b.sub), body: { delivery_mode: "standard" } }));
	// invoke and complete on the host's clock, for the false-409 judgement (invoke a millisecond early: a wider window only makes a refusal look legal).
	const keepOrder = (res) => {
		const complete = Date.now();
		return { status: res.status, ms: res.ms, code: res.body?.code ?? null, order_id: res.body?.order_id ?? null, total: res.body?.total ?? null, currency: res.body?.currency ?? null, invoke: Math.floor(complete - res.ms) - 1, complete };
	};
	const startedAt = Date.now();
	const cpu0 = cpuSecondsOf(sys.pids.runtime);
	const viewing = browsing
		? runLoad(sys.url, Array.from({ length: sc.views }, () => ({ method: "GET", path: `/products/${sc.products[0].id}` })), { concurrency: sc.viewConcurrency, timeLimitMs: limit, keep: (res) => ({ status: res.status, ms: res.ms }) })
		: null;
	const buying = await runLoad(sys.url, placeRequests, { concurrency: sc.concurrency, timeLimitMs: limit, keep: keepOrder });
	const cpuBuying = cpuSecondsOf(sys.pids.runtime);
	const views = viewing ? await viewing : null;
	const logs = await sys.call("logs");
	await settle(everyRuntime);
	const writes1 = sg ? await sys.call("writes", { ids }) : null;
	const afterBuying = await stockOf(sys, sc, ctx.admin);

	// 2. paying
	const payments = [];
	if (sg) payments.push(...(await pay(sys, sc, buying.results, agent, ctx)));

	// 3. the window passes for the last hoarder's order; the reconciler runs
	let reconciler = null;
	if (sg) {
		const lastHoarder = Math.max(0, ...sc.buyers.map((b, i) => (b.hoarder && buying.results[i]?.status === 201 ? buying.results[i].at_ms : 0)));
		const due = startedAt + lastHoarder + sc.windowSeconds * 1000 + 1000;
		if (Date.now() < due) await sleep(due - Date.now());
		reconciler = await reconcileUntilPaidUp(sys, sc, agent);
		await settle(everyRuntime);
	}

	// 4. the paying buyers turned away try again
	const retriers = sc.buyers.map((b, i) => ({ b, i })).filter(({ b, i }) => !b.hoarder && buying.results[i] && buying.results[i].status !== 201);
	const retry = await runLoad(
		sys.url,
		retriers.map(({ b }) => ({ method: "POST", path: sys.placePath, token: tokens.get(b.sub), body: { delivery_mode: "standard" } })),
		{ concurrency: sc.concurrency, timeLimitMs: limit, keep: keepOrder },
	);
	if (sg) {
		const retried = new Array(sc.buyers.length);
		retriers.forEach(({ i }, k) => (retried[i] = retry.results[k]));
		payments.push(...(await pay(sys, sc, retried, agent, ctx)));
	}
	await settle(everyRuntime);
	const writes2 = sg ? await sys.call("writes", { ids }) : null;
	const final = await stockOf(sys, sc, ctx.admin);
	const stored = await ordersOf(sys, sc);
	agent.destroy();
	const placedFirst = buying.results.filter((r) => r?.status === 201).length;
	const placedAll = placedFirst + retry.results.filter((r) => r?.status === 201).length;
	const hot = sg
		? await hotUnit(sys, sc, ctx.admin, {
				objects,
				counts: [writes0, writes1, writes2],
				placed: [placedFirst, placedAll],
				sent: { buying: buying.results.filter(Boolean).length, all: buying.results.filter(Boolean).length + retry.results.filter(Boolean).length },
				buying: { from: startedAt, to: startedAt + buying.wall_ms },
				answers: [...buying.results.map((r, i) => ({ r, b: sc.buyers[i] })), ...retry.results.map((r, k) => ({ r, b: retriers[k].b }))],
			})
		: null;

	// ---- the outcome --------------------------------------------------------------------------
	const hoarder = new Map(sc.buyers.map((b) => [b.sub, b.hoarder]));
	const units = (o) => JSON.parse(o.products).reduce((s, p) => s + p.quantity, 0);
	const live = stored.filter((o) => o.status !== "cancelled");
	const sum = (list) => list.reduce((s, o) => s + units(o), 0);
	const initial = Object.values(sc.stock).flat().reduce((s, i) => s + i.on_hand, 0);
	const unitsOfBuyer = (b) => b.lines.reduce((s, l) => s + l.quantity, 0);
	const refusedFirst = sc.buyers.filter((b, i) => buying.results[i] && buying.results[i].status !== 201);
	const refusedAfter = retriers.filter((_, k) => retry.results[k] && retry.results[k].status !== 201).map(({ b }) => b);
	const placed = [...buying.results, ...retry.results].filter((r) => r?.status === 201).length;
	const allAnswers = [...buying.results, ...retry.results, ...(views?.results ?? []), ...payments];
	const page = logs.rpcs[PAGE] ?? { requests: 0, warehouse_rpcs: 0, d1_queries: 0 };
	const place = logs.rpcs[`POST ${sys.placePath.split("?")[0]}`] ?? { requests: 0, warehouse_rpcs: 0 };
	const liveUnits = sum(live);
	return {
		buyers: sc.buyers.length,
		hoarders: sc.buyers.filter((b) => b.hoarder).length,
		units_in_stock: initial,
		orders_placed_first: buying.results.filter((r) => r?.status === 201).length,
		orders_placed_retry: retry.results.filter((r) => r?.status === 201).length,
		orders_paid: stored.filter((o) => o.payment_status === "paid").length,
		payments_sent: payments.length,
		payments_not_ok: payments.filter((p) => p.status !== 200).length,
		units_sold_paying: sum(live.filter((o) => !hoarder.get(o.user_id))),
		units_held_by_hoarders: sum(live.filter((o) => hoarder.get(o.user_id))),
		units_recovered_from_hoarders: sum(stored.filter((o) => o.status === "cancelled" && hoarder.get(o.user_id))),
		hoarder_orders_cancelled_by_window: stored.filter((o) => o.status === "cancelled" && hoarder.get(o.user_id) && o.window_cancelled).length,
		paying_orders_cancelled: stored.filter((o) => o.status === "cancelled" && !hoarder.get(o.user_id)).length,
		units_sold: liveUnits,
		oversold: Math.max(0, liveUnits - initial),
		stock_drift: Math.abs(initial - liveUnits - final.on_hand),
		held_after: final.reserved,
		available_after: final.available,
		orders_vs_answers: stored.length - placed,
		// A paying buyer turned away while units sat unsold: before the window (the baseline's lost races) and after it (the retry).
		lost_sales_buying: Math.min(refusedFirst.filter((b) => !b.hoarder).reduce((s, b) => s + unitsOfBuyer(b), 0), afterBuying.available),
		lost_sales_after_window: Math.min(refusedAfter.reduce((s, b) => s + unitsOfBuyer(b), 0), final.available),
		rejected_first: refusedFirst.length,
		rejected_conflict_first: buying.results.filter((r) => r?.code === "CONFLICT").length,
		retried: retriers.length,
		"5xx": allAnswers.filter(failed).length,
		"5xx_by_phase": { buying: buying.results.filter(failed).length, views: views?.results.filter(failed).length ?? 0, payments: payments.filter(failed).length, retry: retry.results.filter(failed).length },
		place_order_ms: latencySummary(buying.results.filter(Boolean).map((r) => r.ms)),
		place_order_sold_ms: latencySummary(buying.results.filter((r) => r?.status === 201).map((r) => r.ms)),
		buying_wall_s: round(buying.wall_ms / 1000, 2),
		buying_runtime_cpu_s: cpu0 === null || cpuBuying === null ? null : round(cpuBuying - cpu0, 2),
		page_views: views ? views.results.filter(Boolean).length : 0,
		page_views_per_s: views ? round(views.results.filter(Boolean).length / (views.wall_ms / 1000), 1) : null,
		page_view_ms: views ? latencySummary(views.results.filter(Boolean).map((r) => r.ms)) : null,
		views_outlasted_buying: views ? views.wall_ms >= buying.wall_ms : null,
		page_views_logged: page.requests,
		page_view_warehouse_rpcs: sg ? page.warehouse_rpcs : null,
		rpcs_per_page_view: sg && page.requests ? round(page.warehouse_rpcs / page.requests) : null,
		page_view_d1_queries: sg ? page.d1_queries : null,
		d1_queries_per_page_view: sg && page.requests ? round(page.d1_queries / page.requests, 4) : null,
		place_order_rpcs_per_request: sg && place.requests ? round(place.warehouse_rpcs / place.requests) : null,
		reconciler,
		writes: sg ? writeFigures(writes0, writes1, writes2, buying.results.filter((r) => r?.status === 201).length, placed) : null,
		hot,
		timed_out: buying.timed_out || retry.timed_out || Boolean(views?.timed_out),
	};
}

/** The hot unit's objects at each warehouse of the pass: the warehouse's own, and with shards its pool and each shard. */
async function objectsOf(sc) {
	const { shardName } = await importTs("/src/stock/shardNames.ts");
	const unit = { product_id: sc.products[0].id, size: "M" };
	return sc.warehouses.flatMap((w) =>
		sc.shards > 1
			? [{ name: w.id, label: `${w.id} (pool)`, role: "pool" }, ...Array.from({ length: sc.shards }, (_, k) => ({ name: shardName(w.id, unit, k), label: `${w.id} shard ${k}`, role: "shard" }))]
			: [{ name: w.id, label: w.id, role: "warehouse" }],
	);
}

/**
 * The hot unit's figures of a stockgate pass: the busiest object's requests per
 * order placed (whole pass, and buying alone per order placed while buying),
 * the pools' grants, and the pass's 409 OUT_OF_STOCK answers judged by the
 * history checker against every object's ledger (read now, after the pass).
 */
async function hotUnit(sys, sc, admin, { objects, counts: [c0, c1, c2], placed: [placedFirst, placedAll], sent, buying, answers }) {
	const [{ checkFalseRefusals }, { DEFAULT_SLACK }, { formatViolation }] = await Promise.all([
		importTs("/test/checker/falseRefusals.ts"),
		importTs("/test/checker/timeline.ts"),
		importTs("/test/checker/violation.ts"),
	]);
	const ledger = [];
	for (const w of sc.warehouses) ledger.push(...ledgerRows(w.id, await ledgerEntries(sys, w.id, admin)));
	const readAt = Date.now();
	const ops = answers.filter(({ r }) => r).map(({ r, b }, i) => placeOp(i + 1, b.sub, b.lines, r));
	const violations = checkFalseRefusals(historyOf({ ops, ledger, warehouseIds: sc.warehouses.map((w) => w.id), readAt }), DEFAULT_SLACK);
	const restarted = Object.keys(c0).some((id) => c0[id].since !== c1[id].since || c1[id].since !== c2[id].since);
	return {
		objects: objects.length,
		place_orders_sent: sent.all,
		busiest: restarted ? null : busiestPerOrder(requestsBetween(objects, c0, c2), placedAll, sent.all),
		busiest_buying: restarted ? null : busiestPerOrder(requestsBetween(objects, c0, c1), placedFirst, sent.buying),
		requests_by_object: restarted ? null : requestsBetween(objects, c0, c2).map(({ object, role, requests }) => ({ object, role, requests })),
		grants: grantFigures(ledger, buying.from, buying.to),
		ledger_rows: ledger.length,
		refusals_out_of_stock: ops.filter((op) => op.answer?.status === 409 && op.answer.body.code === "OUT_OF_STOCK").length,
		false_409: violations.length,
		false_409_samples: violations.slice(0, 3).map(formatViolation),
	};
}

/** A warehouse's whole ledger through the admin API (every object's entries, merged, each naming its shard). */
async function ledgerEntries(sys, warehouseId, admin) {
	const out = [];
	let after = 0;
	for (;;) {
		const page = await api(sys, "GET", `/admin/warehouses/${warehouseId}/ledger?after=${after}&limit=500`, undefined, admin);
		out.push(...page.entries);
		if (page.next_after === null) return out;
		after = page.next_after;
	}
}

/** Each paying buyer's 201 is paid through the signed webhook, 16 at a time. */
async function pay(sys, sc, results, agent, ctx) {
	const due = sc.buyers.map((b, i) => ({ b, r: results[i] })).filter(({ b, r }) => !b.hoarder && r?.status === 201 && r.order_id);
	const out = [];
	await pool(due, 16, async ({ r }) => {
		const body = { id: `evt_bench_${r.order_id}`, type: "payment.succeeded", order_id: r.order_id, amount: r.total, currency: r.currency };
		const res = await send(sys.url, agent, { method: "POST", path: "/payments/webhook", body, headers: { "payment-signature": paymentSignature(ctx.webhookSecret, JSON.stringify(body)) } });
		out.push({ status: res.status, ms: res.ms, code: res.body?.code ?? null });
	});
	return out;
}

/** Fires the cron handler until no order of this pass is left pending and unpaid (each run cancels at most 200). */
async function reconcileUntilPaidUp(sys, sc, agent) {
	const runs = [];
	const started = performance.now();
	for (let n = 0; n < 5; n++) {
		const res = await send(sys.url, agent, { method: "GET", path: `/cdn-cgi/local/scheduled?time=${Date.now()}&format=json` });
		runs.push(res.status);
		const [{ unpaid }] = await sys.call("sql", { sql: `SELECT COUNT(*) AS unpaid FROM orders WHERE user_id LIKE ? AND status = 'pending' AND payment_status IN ('pending', 'failed')`, params: [`${sc.prefix}%`] });
		if (res.status !== 200) throw new Error(`${sys.name}: the scheduled handler answered ${res.status}`);
		if (unpaid === 0) break;
	}
	return { runs: runs.length, statuses: runs, ms: Math.round(performance.now() - started) };
}

/** The pass's stock, summed over its warehouses, through the admin endpoint. */
async function stockOf(sys, sc, admin) {
	const out = { on_hand: 0, reserved: 0, available: 0 };
	for (const w of sc.warehouses) {
		const snap = await api(sys, "GET", `/admin/warehouses/${w.id}/stock`, undefined, admin);
		for (const i of snap.items) {
			if (i.product_id !== sc.products[0].id) continue;
			out.on_hand += i.on_hand;
			out.reserved += i.reserved;
			out.available += i.available;
		}
	}
	return out;
}

/** Every order of the pass's buyers, straight from D1; on stockgate, whether the payment window cancelled it. */
async function ordersOf(sys, sc) {
	const rows = await sys.call("sql", { sql: `SELECT order_id, user_id, status, payment_status, products FROM orders WHERE user_id LIKE ?`, params: [`${sc.prefix}%`] });
	if (!isStockgate(sys)) return rows;
	const windowed = new Set(
		(
			await sys.call("sql", {
				sql: `SELECT h.order_id FROM order_status_history h JOIN orders o ON o.order_id = h.order_id WHERE o.user_id LIKE ? AND h.new_status = 'cancelled' AND h.reason = 'payment_window_elapsed'`,
				params: [`${sc.prefix}%`],
			})
		).map((r) => r.order_id),
	);
	return rows.map((r) => ({ ...r, window_cancelled: windowed.has(r.order_id) }));
}

/** Write transactions of the pass's warehouses, between the three readings; null when an object restarted (its count was lost). */
function writeFigures(w0, w1, w2, placedBuying, placedAll) {
	const restarted = Object.keys(w0).some((id) => w0[id].since !== w1[id].since || w1[id].since !== w2[id].since);
	if (restarted) return { restarted: true, per_order: null };
	const diff = (a, b) => {
		const by = {};
		for (const id of Object.keys(a)) {
			for (const [k, n] of Object.entries(b[id].by_kind)) by[k] = (by[k] ?? 0) + n - (a[id].by_kind[k] ?? 0);
		}
		for (const k of Object.keys(by)) if (by[k] === 0) delete by[k];
		return { total: Object.values(by).reduce((s, n) => s + n, 0), by_kind: by };
	};
	const buying = diff(w0, w1);
	const all = diff(w0, w2);
	return {
		restarted: false,
		// Over the whole pass (buying, the reconciler's cancellations, the retry), per order placed in it: the figure the target is on.
		per_order: placedAll ? round(all.total / placedAll, 2) : null,
		per_order_buying: placedBuying ? round(buying.total / placedBuying, 2) : null,
		per_order_buying_without_events: placedBuying ? round((buying.total - (buying.by_kind.events ?? 0)) / placedBuying, 2) : null,
		buying,
		all,
	};
}
