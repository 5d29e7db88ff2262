// The capacity model's inputs and its ceilings (docs/SCALING.md), measured by the
// floor probe Worker: how long one Warehouse object and one D1 database are busy
// per operation (n operations issued at once queue at the one store: elapsed / n),
// the gathered commit's cost per hold for k = 1, 10, 50, a unit over shard objects'
// operations (grant, give-back, a reserve at a shard, a reserve at a dry shard), and,
// from those and the platform's published limits, the orders-per-second ceiling of
// each case for stockgate and the baseline, and of a hot unit as a function of its
// shard count S. Update COUNTS when a place-order path changes.
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
	// one order shard (ORDERS_0): checkout's context read, decision batch and a gathered clean-up there
	"d1-read-shard": ["d1-read-shard", "wh-cap"],
	"d1-batch-shard": ["d1-batch-shard", "wh-cap"],
	"d1-write-shard": ["d1-write-shard", "wh-cap"],
};

/** A unit over the most shard objects (64): probe name -> [op, warehouse, callers one after another (0: all at once)]. */
export const MAX_SHARDS = 64;
const SHARDED = {
	// at the pool: an ask answered with a grant; a give-back taken in
	"rpc-grant": ["rpc-grant", "wh-cap-pool", 0],
	"rpc-give-back": ["rpc-give-back", "wh-cap-pool", 0],
	// at a shard holding units, and at a dry one (a caller per shard, so each reserve finds its shard dry)
	"rpc-reserve-shard": ["rpc-reserve-shard", "wh-cap-shard", 0],
	"rpc-reserve-dry": ["rpc-reserve-dry", "wh-cap-dry", MAX_SHARDS],
};
/** The units of a grant in the ceilings: the smallest (DEFAULT_ESCROW.minGrant); a shard asks for more only while more buyers wait there. */
export const GRANT_UNITS = 8;
/** Shard counts the hot unit's ceiling is given at. */
export const SHARD_COUNTS = [1, 2, 4, 8, 16, 32, 64];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const r3 = (v) => Math.round(v * 1000) / 1000;

/** Measures the model's inputs with the probe (fresh warehouses wh-cap and wh-cap-catalog). */
export async function probeCapacity(probe) {
	await api(probe, "GET", "/floor/setup?w=wh-cap");
	await api(probe, "GET", "/floor/setup?w=wh-cap-catalog&catalog=1");
	await api(probe, "GET", `/floor/setup?w=wh-cap-pool&shards=${MAX_SHARDS}`);
	await api(probe, "GET", `/floor/setup?w=wh-cap-shard&shards=${MAX_SHARDS}&stock=1`);
	await api(probe, "GET", `/floor/setup?w=wh-cap-dry&shards=${MAX_SHARDS}`);
	const busy_ms = {};
	const asks0 = (await api(probe, "GET", "/floor/requests?w=wh-cap-dry")).ask ?? 0;
	let dryReserves = 0;
	for (const [name, [op, wh, lanes = 0]] of [...Object.entries(BURSTS), ...Object.entries(SHARDED)]) {
		const burst = (n) => api(probe, "GET", `/floor/burst?op=${op}&n=${n}&w=${wh}${lanes ? `&lanes=${lanes}` : ""}`);
		// warm-up (with callers per shard: every shard once, so no shard object is started inside the measure)
		const warm = await burst(Math.max(lanes, Math.min(50, SIZE.burst)));
		const per = [];
		for (let i = 0; i < SIZE.reps; i++) {
			const res = await burst(SIZE.burst);
			per.push(res.ms / res.n);
		}
		if (name === "rpc-reserve-dry") dryReserves = warm.n + SIZE.reps * SIZE.burst;
		busy_ms[name] = r3(median(per));
	}
	// Each dry reserve should have cost the pool one ask (else the shard was not dry and the figure is a plain reserve's).
	const asks = ((await api(probe, "GET", "/floor/requests?w=wh-cap-dry")).ask ?? 0) - asks0;
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
	for (const [name, [op, wh]] of [...Object.entries(BURSTS), ...Object.entries(SHARDED)]) {
		const res = await api(probe, "GET", `/floor/loop?op=${op}&n=${SIZE.loop}&w=${wh}`);
		latency_ms[name] = r3(res.ms / res.n);
	}
	const sharded = { shards: MAX_SHARDS, dry_reserves: dryReserves, pool_asks_per_dry_reserve: dryReserves ? r3(asks / dryReserves) : null };
	return { burst: SIZE.burst, reps: SIZE.reps, busy_ms, commit_many, latency_ms, sharded };
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
			...(b["rpc-grant"] !== undefined ? { sharded_unit: shardedCeilings(cap) } : {}),
		},
		baseline: {
			hot_unit: { contenders: CONTENDERS, read_then_set_ms: window, idle_d1: per(window), queued_window_ms: r3(queued), contended: per(queued), ceiling: Math.min(per(window), per(baseOrder)) },
			catalog: { lines: CATALOG_LINES, busy_ms: r3(baseCatalog), ceiling: per(baseCatalog) },
			d1_whole_shop: { busy_ms: r3(baseOrder), ceiling: per(baseOrder), with_browsing_busy_ms: r3(baseOrder + browsing), with_browsing: per(baseOrder + browsing) },
		},
	};
}

/**
 * A hot unit over S shard objects (orders/s), at k = 1 and 10. While it sells,
 * an order at S > 1 is a reserve and 1/k of a gathered commit at one shard, with
 * 1 + 1/k requests against its soft limit (the shard's commit is taken at the
 * warehouse object's measured cost), and 1/G of an ask at the pool, G the units
 * of a grant; S shards carry S times one shard's orders, and the pool G times
 * its asks: min(1000 / grant ms, the soft limit). At S = 1 the unit is the
 * warehouse's object (its hot-unit ceiling). Sold out, a shard keeps no
 * declaration: every refused buyer there costs the pool an ask, so refusals/s
 * stop at the pool's ask rate whatever S.
 */
export function shardedCeilings(cap) {
	const b = cap.busy_ms;
	const per = (ms) => (ms > 0 ? Math.round(1000 / ms) : null);
	const soft = (k) => Math.round(DO_SOFT_LIMIT_RPS / (1 + 1 / k));
	const asksPerS = Math.min(per(b["rpc-grant"]), DO_SOFT_LIMIT_RPS);
	const byK = (k) => {
		const shardBusy = b["rpc-reserve-shard"] + cap.commit_many.hot[k].per_hold_ms;
		const shard = Math.min(per(shardBusy), soft(k));
		const pool = GRANT_UNITS * asksPerS;
		const one = Math.min(per(b["rpc-reserve"] + cap.commit_many.hot[k].per_hold_ms), soft(k));
		const byS = Object.fromEntries(
			SHARD_COUNTS.map((S) => [S, S === 1 ? { ceiling: one, bound: "one object" } : { ceiling: Math.min(S * shard, pool), bound: S * shard <= pool ? "shards" : "pool" }]),
		);
		return { shard_busy_ms: r3(shardBusy), shard_ceiling: shard, pool_ceiling: pool, stops_scaling_at_s: Math.ceil(pool / shard), by_s: byS };
	};
	return { grant_units: GRANT_UNITS, pool_asks_per_s: asksPerS, sold_out_refusals_per_s: asksPerS, k: { 1: byK(1), 10: byK(10) } };
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
	const sh = c.stockgate.sharded_unit;
	const shardedTable = sh
		? table(
				[{ key: "S", title: "S" }, ...KS.filter((k) => sh.k[k]).map((k) => ({ key: (r) => `${sh.k[k].by_s[r.S].ceiling} (${sh.k[k].by_s[r.S].bound})`, title: `k=${k}: orders/s (bound)`, align: "left" }))],
				SHARD_COUNTS.map((S) => ({ S })),
			)
		: null;
	const shardedText = sh
		? [
				"",
				`Hot unit over S shard objects (grants of ${sh.grant_units} units; the pool answers ${sh.pool_asks_per_s} asks/s, which also bounds refusals/s once sold out; ${cap.sharded?.pool_asks_per_dry_reserve ?? "n/a"} pool asks per dry reserve measured)`,
				"",
				shardedTable,
			]
		: [];
	return ["Capacity model inputs (docs/SCALING.md)", "", busy, "", commits, "", "Ceilings on this machine (orders/s)", "", ceilingsTable, ...shardedText].join("\n");
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
