// The capacity model's inputs and its ceilings (docs/SCALING.md), measured by the
// floor probe Worker: how long one Warehouse object and one D1 database are busy
// per operation (n operations issued at once queue at the one store: elapsed / n),
// the gathered commit's cost per hold for k = 1, 10, 50, and, from those and the
// platform's published limits, the orders-per-second ceiling of each case for
// stockgate and the baseline. Update COUNTS when a place-order path changes.
import { api } from "../lib/systems.mjs";
import { QUICK, log, elapsed } from "../lib/options.mjs";
import { table } from "../lib/stats.mjs";

/** Published: an object's soft limit (requests/s). D1 publishes no rate: one query at a time, so 1 / its busy time. */
export const DO_SOFT_LIMIT_RPS = 1000;
/** The gathered commit's batch sizes the model is shown at (commitLater.ts gathers up to 200 orders per isolate per 250 ms window, every warehouse at once). */
export const KS = [1, 10, 50];
/** Buyers racing for the baseline's hot row at once (the last-units scenario's concurrency). */
export const CONTENDERS = 100;
/** Product page views per order for the "with browsing" D1 rows (the stampede: 20,000 views, 2,000 buyers); each view reads D1 twice on both systems. */
export const VIEWS_PER_ORDER = 10;
/** Lines of a catalog order (the probe's catalog order: two distinct units). */
export const CATALOG_LINES = 2;

const SIZE = QUICK ? { burst: 40, reps: 1, commits: { 1: 10, 10: 4, 50: 2 }, loop: 20 } : { burst: 400, reps: 3, commits: { 1: 200, 10: 50, 50: 20 }, loop: 200 };

/** Probe name -> [the probe Worker's op, the warehouse it runs at]. Each store's busy time per op = burst ms / n. */
const BURSTS = {
	// one Warehouse object
	"rpc-availability": ["rpc", "wh-cap"],
	"rpc-reserve": ["rpc-reserve", "wh-cap"],
	"rpc-reserve-catalog": ["rpc-reserve-catalog", "wh-cap-catalog"],
	"rpc-snapshot-1-unit": ["rpc-snapshot", "wh-cap"],
	"rpc-snapshot-catalog": ["rpc-snapshot", "wh-cap-catalog"],
	// one D1 database
	"d1-read": ["d1", "wh-cap"],
	"d1-read-batch": ["d1-read-batch", "wh-cap"],
	"d1-write": ["d1-write", "wh-cap"],
	"d1-batch": ["d1-batch", "wh-cap"],
	"d1-cas": ["d1-cas", "wh-cap"],
	"d1-order-batch": ["d1-order-batch", "wh-cap"],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const r3 = (v) => Math.round(v * 1000) / 1000;

/** Measures the model's inputs with the probe (fresh warehouses wh-cap and wh-cap-catalog). */
export async function probeCapacity(probe) {
	await api(probe, "GET", "/floor/setup?w=wh-cap");
	await api(probe, "GET", "/floor/setup?w=wh-cap-catalog&catalog=1");
	const busy_ms = {};
	for (const [name, [op, wh]] of Object.entries(BURSTS)) {
		await api(probe, "GET", `/floor/burst?op=${op}&n=${Math.min(50, SIZE.burst)}&w=${wh}`); // warm-up
		const per = [];
		for (let i = 0; i < SIZE.reps; i++) {
			const res = await api(probe, "GET", `/floor/burst?op=${op}&n=${SIZE.burst}&w=${wh}`);
			per.push(res.ms / res.n);
		}
		busy_ms[name] = r3(median(per));
	}
	// Gathered commits: per call one after another (latency), and per hold with calls at once (the object's busy time).
	const commit_many = {};
	for (const [label, wh, catalog] of [["hot", "wh-cap", 0], ["catalog", "wh-cap-catalog", 1]]) {
		commit_many[label] = {};
		for (const k of KS) {
			const n = SIZE.commits[k];
			const res = await api(probe, "GET", `/floor/commit-many?k=${k}&n=${n}&w=${wh}&catalog=${catalog}`);
			commit_many[label][k] = { k, calls: n, call_ms: r3(res.seq_ms / n), per_hold_ms: r3(res.burst_ms / (n * k)) };
		}
	}
	// A caller's latency per call, one after another (timed in the Worker): the baseline's read-then-set window is one d1-cas.
	const latency_ms = {};
	for (const [name, [op, wh]] of Object.entries(BURSTS)) {
		const res = await api(probe, "GET", `/floor/loop?op=${op}&n=${SIZE.loop}&w=${wh}`);
		latency_ms[name] = r3(res.ms / res.n);
	}
	return { burst: SIZE.burst, reps: SIZE.reps, busy_ms, commit_many, latency_ms };
}

/**
 * Orders/s ceilings from the measured busy times (ms; ceiling = 1000 / busy ms per order).
 * stockgate, per order at its warehouse: one reserve + 1/k of a gathered commit,
 * and 1 + 1/k requests against the soft limit; at D1: the context read batch, the
 * decision batch, and two gathered deletes (outbox rows, sent events) per k orders.
 * baseline, per attempt: cart and lines reads, then the stock read + compare-and-set;
 * per order also its order batch. On a hot row the next win needs a stock read
 * served after the last win, then its set served: with D1 otherwise idle that is
 * one read-then-set latency; with c buyers queued at D1, the set waits behind about
 * c queries (an attempt is 4 queries), so wins are at most 1 per c x (attempt / 4).
 * "with browsing": VIEWS_PER_ORDER product page views per order, 2 D1 reads each.
 */
export function ceilings(cap) {
	const b = cap.busy_ms;
	const per = (ms) => (ms > 0 ? Math.round(1000 / ms) : null);
	const byK = (f) => Object.fromEntries(KS.map((k) => [k, f(k)]));
	const soft = (k) => Math.round(DO_SOFT_LIMIT_RPS / (1 + 1 / k));
	const object = (reserveMs, label) =>
		byK((k) => {
			const busy = reserveMs + cap.commit_many[label][k].per_hold_ms;
			return { busy_ms: r3(busy), by_busy: per(busy), by_soft_limit: soft(k), ceiling: Math.min(per(busy), soft(k)) };
		});
	const browsing = VIEWS_PER_ORDER * 2 * b["d1-read"];
	const sgD1 = byK((k) => {
		const busy = b["d1-read-batch"] + b["d1-batch"] + (2 * b["d1-write"]) / k;
		return { busy_ms: r3(busy), ceiling: per(busy), with_browsing_busy_ms: r3(busy + browsing), with_browsing: per(busy + browsing) };
	});
	const attempt = 2 * b["d1-read"] + b["d1-cas"];
	const update = Math.max(0, b["d1-cas"] - b["d1-read"]);
	const baseOrder = attempt + b["d1-order-batch"];
	const baseCatalog = attempt + (CATALOG_LINES - 1) * update + b["d1-order-batch"];
	const window = cap.latency_ms["d1-cas"];
	const queued = (CONTENDERS * attempt) / 4;
	return {
		stockgate: {
			hot_unit_object: object(b["rpc-reserve"], "hot"),
			catalog_object: object(b["rpc-reserve-catalog"], "catalog"),
			d1_whole_shop: sgD1,
		},
		baseline: {
			hot_unit: { contenders: CONTENDERS, read_then_set_ms: window, idle_d1: per(window), queued_window_ms: r3(queued), contended: per(queued), ceiling: Math.min(per(window), per(baseOrder)) },
			catalog: { lines: CATALOG_LINES, busy_ms: r3(baseCatalog), ceiling: per(baseCatalog) },
			d1_whole_shop: { busy_ms: r3(baseOrder), ceiling: per(baseOrder), with_browsing_busy_ms: r3(baseOrder + browsing), with_browsing: per(baseOrder + browsing) },
		},
	};
}

export function renderCapacity(cap) {
	const c = cap.ceilings;
	const busy = table(
		[
			{ key: "op", title: "operation (probe Worker)", align: "left" },
			{ key: "ms", title: `store busy ms/op (burst of ${cap.burst}, median of ${cap.reps})` },
			{ key: "lat", title: "caller latency ms/op (one after another)" },
		],
		Object.entries(cap.busy_ms).map(([op, ms]) => ({ op, ms: ms.toFixed(3), lat: cap.latency_ms[op]?.toFixed(3) ?? null })),
	);
	const commits = table(
		[
			{ key: "where", title: "commitMany", align: "left" },
			{ key: "k", title: "k holds/call" },
			{ key: "call", title: "ms per call (one after another)" },
			{ key: "hold", title: "object busy ms per hold (calls at once)" },
		],
		Object.entries(cap.commit_many).flatMap(([where, ks]) => Object.values(ks).map((v) => ({ where, k: v.k, call: v.call_ms.toFixed(3), hold: v.per_hold_ms.toFixed(3) }))),
	);
	const row = (system, kase, busy, by, ceiling) => ({ system, kase, busy, by, ceiling });
	const sg = c.stockgate;
	const bl = c.baseline;
	const objectRows = (name, o) => KS.map((k) => row("stockgate", `${name} (k=${k})`, o[k].busy_ms, `${o[k].by_busy} busy / ${o[k].by_soft_limit} soft limit`, o[k].ceiling));
	const rows = [
		...objectRows("one object, hot unit", sg.hot_unit_object),
		row("baseline", "hot row, D1 otherwise idle", bl.hot_unit.read_then_set_ms, "1 win per read-then-set", bl.hot_unit.idle_d1),
		row("baseline", `hot row, ${bl.hot_unit.contenders} buyers queued`, bl.hot_unit.queued_window_ms, "1 win per queued set", bl.hot_unit.contended),
		...objectRows("one object, catalog", sg.catalog_object),
		row("baseline", `catalog (${bl.catalog.lines} lines, no conflicts)`, bl.catalog.busy_ms, "D1 busy", bl.catalog.ceiling),
		...KS.map((k) => row("stockgate", `D1 writer, whole shop (k=${k})`, sg.d1_whole_shop[k].busy_ms, "D1 busy", sg.d1_whole_shop[k].ceiling)),
		row("baseline", "D1 writer, whole shop", bl.d1_whole_shop.busy_ms, "D1 busy", bl.d1_whole_shop.ceiling),
		row("stockgate", `D1, k=10, ${VIEWS_PER_ORDER} page views/order`, sg.d1_whole_shop[10].with_browsing_busy_ms, "D1 busy", sg.d1_whole_shop[10].with_browsing),
		row("baseline", `D1, ${VIEWS_PER_ORDER} page views/order`, bl.d1_whole_shop.with_browsing_busy_ms, "D1 busy", bl.d1_whole_shop.with_browsing),
	];
	const ceilingsTable = table(
		[
			{ key: "system", title: "system", align: "left" },
			{ key: "kase", title: "case", align: "left" },
			{ key: "busy", title: "ms per order (or per win)" },
			{ key: "by", title: "orders/s by", align: "left" },
			{ key: "ceiling", title: "ceiling orders/s" },
		],
		rows,
	);
	return ["Capacity model inputs (docs/SCALING.md)", "", busy, "", commits, "", "Ceilings on this machine (orders/s)", "", ceilingsTable].join("\n");
}

/** Runs the probe and the model; never throws (the floor scenario's other figures stand without it). */
export async function capacityOf(probe) {
	try {
		const cap = await probeCapacity(probe);
		cap.ceilings = ceilings(cap);
		log(`  ${"capacity".padEnd(16)} reserve ${cap.busy_ms["rpc-reserve"]} ms, commitMany per hold k=50 ${cap.commit_many.hot[50].per_hold_ms} ms, decision batch ${cap.busy_ms["d1-batch"]} ms (store busy per op)  [${elapsed()}]`);
		return cap;
	} catch (err) {
		const error = String(err.message ?? err).slice(0, 500);
		log(`  capacity: the probe failed (${error.split("\n")[0]})`);
		return { error };
	}
}
