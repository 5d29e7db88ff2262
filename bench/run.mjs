// npm run bench [-- options]
//   --quick                 reduced sizes, stockgate and the plain baseline only (CI smoke, well under a minute)
//   --scenarios=a,b         a subset of last-units, flash-sale, catalog, fan-out, floor
//   --out=path              where to write the JSON (default bench/results/latest.json)
//   --keep-state            keep the temporary state directories (their path is printed)
//   --self-test             add a baseline without its compare-and-set guard, to show oversells get caught
//   --profile               CPU profiles of stockgate and the baseline under load (perturbs timings)
//   --stockgate-config=path measure another wrangler config of stockgate in its place
//   --systems=a,b           a subset of stockgate, baseline, baseline+retry3 (stockgate is always run)
//
// stockgate against the optimistic-locking baseline (bench/baseline/), both on
// workerd through wrangler's unstable_startWorker, each in a fresh temporary
// state directory, listening on 127.0.0.1. Identical data is loaded through each
// system's HTTP API, identical load is driven from this process, and the outcome
// is checked afterwards against the stock and the orders actually stored.
// Prints one table per scenario and writes bench/results/latest.json.
//
// Exit code: 1 when stockgate oversold or answered 5xx (or not at all) in any
// scenario, 2 when the harness itself failed; never because of timings.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { mintToken } from "../scripts/lib/tokens.mjs";
import { forkHost, killHosts } from "./lib/hosts.mjs";
import { agentFor, runLoad, send } from "./lib/load.mjs";
import { cpuSecondsOf, machine, machineBusySeconds, memoryOf, root } from "./lib/proc.mjs";
import { catalog, fanOut, flashSale, floor, lastUnits, SIZES } from "./lib/scenarios.mjs";
import { startProfile, summarize } from "./lib/profile.mjs";
import { latencySummary, ratio, table } from "./lib/stats.mjs";

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const KEEP_STATE = args.includes("--keep-state");
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ALL_SCENARIOS = ["last-units", "flash-sale", "catalog", "fan-out", "floor"];
const SELECTED = (option("scenarios") ?? ALL_SCENARIOS.join(",")).split(",").filter(Boolean);
for (const s of SELECTED) {
	if (!ALL_SCENARIOS.includes(s)) {
		console.error(`unknown scenario ${s}; known: ${ALL_SCENARIOS.join(", ")}`);
		process.exit(2);
	}
}
const OUT = option("out") ?? join(root, "bench", "results", "latest.json");
const SIZE = QUICK ? SIZES.quick : SIZES.full;
/** --quick must end within a minute: scenarios that would start after this are skipped (never a failure). */
const QUICK_BUDGET_MS = 40_000;
const SETUP_CONCURRENCY = 16;

const runStarted = performance.now();
const log = (...parts) => console.log(...parts);
const elapsed = () => `${((performance.now() - runStarted) / 1000).toFixed(1)}s`;

// ---- systems ---------------------------------------------------------------------------------

const SYSTEMS = [
	// --stockgate-config=path: measure another build of stockgate (a second checkout, an instrumented entry) in its place.
	{ name: "stockgate", config: option("stockgate-config") ? resolve(option("stockgate-config")) : join(root, "wrangler.toml"), placePath: "/cart/place-order" },
	{ name: "baseline", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order" },
	{ name: "baseline+retry3", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order?retries=3" },
];
/**
 * --self-test adds the baseline with its compare-and-set guard removed (a lost
 * update on purpose) to last-units and flash-sale, to show that the oversell
 * check catches an oversell; its rows never affect the exit code.
 */
const SELF_TEST = args.includes("--self-test");
/** --profile: CPU profiles of stockgate and the baseline during each contention scenario's load (timings are then perturbed). */
const PROFILE = args.includes("--profile");
const NOLOCK = { name: "baseline-nolock", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order?lock=off", selfTest: true };
/** --quick (CI smoke) runs stockgate and the plain baseline only: the retry variant adds a third runtime to start and load. */
/** --systems=a,b keeps only these of SYSTEMS (stockgate always runs: every ratio is against it). */
const WANTED = option("systems")?.split(",").filter(Boolean);
for (const w of WANTED ?? []) {
	if (!SYSTEMS.some((s) => s.name === w)) {
		console.error(`unknown system ${w}; known: ${SYSTEMS.map((s) => s.name).join(", ")}`);
		process.exit(2);
	}
}
const CHOSEN = SYSTEMS.filter((s) => s.name === "stockgate" || (WANTED ? WANTED.includes(s.name) : !(QUICK && s.name === "baseline+retry3")));
const RUN_SYSTEMS = [...CHOSEN, ...(SELF_TEST ? [NOLOCK] : [])];
const PROBE = { name: "floor-probe", config: join(root, "bench", "floor", "wrangler.toml") };

async function startSystem(host, sys, tmp, envFile, compatFrom) {
	const persistDir = join(tmp, sys.name.replace(/[^a-z0-9]+/gi, "-"));
	mkdirSync(persistDir, { recursive: true });
	const info = await host.call("start", { name: sys.name, configPath: sys.config, persistDir, envFile, compatFrom, inspect: PROFILE && (sys.name === "stockgate" || sys.name === "baseline") }, 180_000);
	const call = (cmd, payload = {}, timeoutMs) => host.call(cmd, { name: sys.name, ...payload }, timeoutMs);
	return { ...sys, call, ...info, pids: { runtime: null, host: host.pid }, persistDir, active: [], agent: agentFor(SETUP_CONCURRENCY) };
}

// ---- API helpers (identical for every system) ---------------------------------------------------

async function api(sys, method, path, body, token) {
	const res = await send(sys.url, sys.agent, { method, path, body, token });
	if (res.status < 200 || res.status >= 300) throw new Error(`${sys.name}: ${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

async function pool(items, concurrency, fn) {
	let next = 0;
	const lane = async () => {
		while (next < items.length) {
			const i = next++;
			await fn(items[i], i);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/** Catalog, warehouses (the previous scenario's are deactivated, so only this scenario's count), stock, and every buyer's cart. */
async function prepare(sys, sc, admin, tokens) {
	for (const w of sys.active) await api(sys, "PUT", `/admin/warehouses/${w.id}`, { name: w.name, postal_code: w.postal_code, region: w.region, country: w.country, active: false }, admin);
	await pool(sc.products, 8, (p) => api(sys, "PUT", `/admin/products/${p.id}`, { name: p.name, price: p.price, sizes: p.sizes }, admin));
	for (const w of sc.warehouses) {
		await api(sys, "PUT", `/admin/warehouses/${w.id}`, { name: w.name, postal_code: w.postal_code, region: w.region, country: w.country, active: true }, admin);
		await api(sys, "PUT", `/admin/warehouses/${w.id}/stock`, { items: sc.stock[w.id], reason: "benchmark" }, admin);
	}
	sys.active = sc.warehouses;
	await pool(sc.buyers, SETUP_CONCURRENCY, async (b) => {
		for (const l of b.lines) await api(sys, "POST", "/cart/items", l, tokens.get(b.sub));
		await api(sys, "PUT", "/cart/address", b.address, tokens.get(b.sub));
	});
}

async function mintAll(secret, subs) {
	const out = new Map();
	await pool(subs, 32, async (sub) => out.set(sub, await mintToken(secret, { sub, expiresIn: "2h" })));
	return out;
}

// ---- the measured part ----------------------------------------------------------------------

/**
 * Waits until every runtime is idle (under 10% of a core for 0.5 s), at most 60 s
 * (5 s with --quick): work a Worker deferred (queue consumers, waitUntil, alarms)
 * must not run during the next load. Answers how long it waited, in ms.
 */
async function settle(systems) {
	const started = performance.now();
	const deadline = started + (QUICK ? 5_000 : 60_000);
	const cpu = () => systems.reduce((s, x) => s + (cpuSecondsOf(x.pids.runtime) ?? 0), 0);
	let before = cpu();
	while (performance.now() < deadline) {
		await new Promise((r) => setTimeout(r, 500));
		const now = cpu();
		if (now - before < 0.05) break;
		before = now;
	}
	return Math.round(performance.now() - started);
}

/** Every runtime, so a load can tell its own CPU from everything else's. Set in main(). */
let ALL_RUNTIMES = [];

async function placeOrders(sys, buyers, tokens, concurrency, profileName) {
	const profiler = profileName && sys.inspector_url ? await startProfile(sys.inspector_url) : null;
	const requests = buyers.map((b) => ({ method: "POST", path: sys.placePath, token: tokens.get(b.sub), body: { delivery_mode: "standard" } }));
	const cpu0 = cpuSecondsOf(sys.pids.runtime);
	const host0 = cpuSecondsOf(sys.pids.host);
	const others0 = ALL_RUNTIMES.filter((p) => p !== sys.pids.runtime).reduce((s, p) => s + (cpuSecondsOf(p) ?? 0), 0);
	const machine0 = machineBusySeconds();
	const own0 = process.cpuUsage();
	const load = await runLoad(sys.url, requests, {
		concurrency,
		timeLimitMs: SIZE.loadTimeLimitMs,
		keep: (res) => ({ status: res.status, ms: res.ms, code: res.body?.code ?? null, attempts: Number(res.headers?.["x-attempts"] ?? 1) }),
	});
	const cpu1 = cpuSecondsOf(sys.pids.runtime);
	const host1 = cpuSecondsOf(sys.pids.host);
	const others1 = ALL_RUNTIMES.filter((p) => p !== sys.pids.runtime).reduce((s, p) => s + (cpuSecondsOf(p) ?? 0), 0);
	const machine1 = machineBusySeconds();
	const own = process.cpuUsage(own0);
	const diff = (a, b) => (a === null || b === null ? null : Math.round((b - a) * 100) / 100);
	let profile;
	if (profiler) {
		const captured = await profiler.stop();
		const file = join(dirname(OUT), `profile-${profileName}-${sys.name}.cpuprofile`);
		mkdirSync(dirname(file), { recursive: true });
		writeFileSync(file, JSON.stringify(captured.profile));
		profile = { file: relative(root, file), ...summarize(captured) };
	}
	const loadgen = Math.round((own.user + own.system) / 1e4) / 100;
	// Busy CPU on the machine that was none of: this runtime, the host, the load generator (other runtimes included, as they should be idle).
	const outside = machine0 === null || cpu0 === null ? null : Math.round((machine1 - machine0 - (cpu1 - cpu0) - (host1 - host0) - loadgen) * 100) / 100;
	return {
		...load,
		runtime_cpu_s: diff(cpu0, cpu1),
		host_cpu_s: diff(host0, host1),
		loadgen_cpu_s: loadgen,
		other_runtimes_cpu_s: Math.round((others1 - others0) * 100) / 100,
		outside_cpu_s: outside,
		runtime_rss_after: memoryOf(sys.pids.runtime),
		profile,
	};
}

const unitKey = (product_id, size) => `${product_id}/${size}`;

/** Reads back what happened: the stock each warehouse holds and the orders stored for this scenario's buyers. */
async function verify(sys, sc, admin) {
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

function outcome(sc, buyers, load, check) {
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

// ---- scenarios ---------------------------------------------------------------------------------

/** One load's figures out of several consecutive ones (split groups, interleaved rounds). */
function mergeLoads(loads) {
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

function rateOf(load) {
	const sold = load.results.filter((r) => r?.status === 201).length;
	return { sold, orders_per_s: Math.round((sold / (load.wall_ms / 1000)) * 10) / 10 };
}

async function contentionScenario(sc, allSystems, ctx) {
	const systems = allSystems.filter((s) => !s.selfTest || sc.name === "last-units" || sc.name === "flash-sale");
	const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
	await Promise.all(systems.map((sys) => prepare(sys, sc, ctx.admin, tokens)));
	// Each system's loads, in the order they ran: split groups one after the other, or interleaved rounds.
	const loads = new Map(systems.map((sys) => [sys.name, []]));
	const settled = new Map(systems.map((sys) => [sys.name, 0]));
	const run = async (sys, buyers, tag, profileName) => {
		settled.set(sys.name, settled.get(sys.name) + (await settle(allSystems)));
		loads.get(sys.name).push({ buyers, tag, load: await placeOrders(sys, buyers, tokens, sc.concurrency, profileName) });
	};
	await settle(allSystems);
	for (const sys of systems) await sys.call("logs"); // start each system's log counts from here
	if (sc.rounds > 1) {
		// Round r runs every system on the r-th slice of the buyers, in an order that reverses every round.
		const per = Math.ceil(sc.buyers.length / sc.rounds);
		for (let r = 0; r < sc.rounds; r++) {
			const slice = sc.buyers.slice(r * per, (r + 1) * per);
			for (const sys of r % 2 === 0 ? systems : [...systems].reverse()) await run(sys, slice, r + 1, r === 0 ? sc.name : undefined);
		}
	} else {
		for (const sys of systems) {
			if (sc.groups) for (const g of sc.groups) await run(sys, sc.buyers.filter((b) => b.group === g), g);
			else await run(sys, sc.buyers, undefined, sc.name);
		}
	}
	const results = {};
	for (const sys of systems) {
		const own = loads.get(sys.name);
		const merged = mergeLoads(own);
		results[sys.name] = outcome(sc, own.flatMap((l) => l.buyers), merged, await verify(sys, sc, ctx.admin));
		if (sc.groups) {
			results[sys.name].by_split = Object.fromEntries(
				own.map((l) => {
					const ok = l.load.results.filter((r) => r?.status === 201);
					return [l.tag, { ...latencySummary(l.load.results.filter(Boolean).map((r) => r.ms)), ...rateOf(l.load), sold_latency_ms: latencySummary(ok.map((r) => r.ms)) }];
				}),
			);
		}
		if (sc.rounds > 1) results[sys.name].by_round = own.map((l) => ({ round: l.tag, ...rateOf(l.load), runtime_cpu_s: l.load.runtime_cpu_s, outside_cpu_s: l.load.outside_cpu_s }));
		if (merged.profile) {
			results[sys.name].profile = merged.profile;
			printProfile(sys.name, merged.profile);
		}
		const logs = await sys.call("logs");
		results[sys.name].log_lines_per_request = Math.round((Object.values(logs.counts).reduce((s, n) => s + n, 0) / Math.max(1, results[sys.name].started)) * 10) / 10;
		results[sys.name].log_lines_by_tag = logs.counts;
		results[sys.name].waited_for_idle_ms = settled.get(sys.name);
		if (logs.errors.length) results[sys.name].log_errors = logs.errors.slice(0, 5);
		const r = results[sys.name];
		const rounds = r.by_round ? `, by round ${r.by_round.map((x) => x.orders_per_s).join(" / ")} orders/s` : "";
		log(
			`  ${sys.name.padEnd(16)} sold ${r.sold}/${r.buyers}, rejected ${r.rejected} (conflict ${r.rejected_conflict}), 5xx ${r["5xx"]}, oversold ${r.oversold}, lost ${r.lost_sales}, ${r.orders_per_s} orders/s${rounds}, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, CPU s runtime ${r.runtime_cpu_s}, host ${r.host_cpu_s}, loadgen ${r.loadgen_cpu_s}, other runtimes ${r.other_runtimes_cpu_s}, outside ${r.outside_cpu_s}  [${elapsed()}]`,
		);
	}
	return results;
}

function printProfile(name, p) {
	log(`  ${name} CPU profile (${p.file}, ${p.busy_samples} busy samples over ${p.profiled_ms} ms), self time by module`);
	log("  (while profiling, console output is also sent to the inspector, which inflates logging's share):");
	for (const m of p.modules.slice(0, 10)) log(`    ${String(m.percent).padStart(5)}%  ${m.name}`);
	log("  by function:");
	for (const f of p.functions.slice(0, 12)) log(`    ${String(f.percent).padStart(5)}%  ${f.name}`);
}

async function sequential(sys, requests, warmup) {
	const agent = agentFor(1);
	try {
		if (warmup.length) await runLoad(sys.url, warmup, { concurrency: 1, timeLimitMs: SIZE.loadTimeLimitMs, agent });
		const load = await runLoad(sys.url, requests, { concurrency: 1, timeLimitMs: SIZE.loadTimeLimitMs, agent });
		const done = load.results.filter(Boolean);
		const failed = done.filter((r) => r.status >= 400 || r.status === 0);
		return { ...latencySummary(done.map((r) => r.ms)), failed: failed.length, statuses: [...new Set(failed.map((r) => `${r.status} ${r.code ?? ""}`.trim()))] };
	} finally {
		agent.destroy();
	}
}

/**
 * What one place-order is built from, on its critical path, counted from the code
 * for an order from one warehouse without an Idempotency-Key (docs/BENCHMARKS.md,
 * "floor"). Update it when the place-order path changes.
 * stockgate (counted at the place-order shortcut commit, src/checkout/routes.ts,
 *   placeOrder.ts, cart/load.ts): token check; one D1 batch reading cart, lines,
 *   products and warehouses; the floor's buyer lives in the one warehouse's postal
 *   area, so the shortcut reserves there directly (no availability RPC); reserve +
 *   commit RPCs; the decision D1 batch (outbox clean-up and event publishing run
 *   after the answer).
 * baseline (bench/baseline/src/place.ts): token check; cart, lines and stock
 *   reads; one compare-and-set UPDATE; the order batch.
 */
const PRIMITIVES = {
	stockgate: { jwt: 1, "d1-read-batch": 1, "rpc-hold": 1, "d1-batch": 1 },
	baseline: { jwt: 1, d1: 3, "d1-write": 1, "d1-batch": 1 },
};

async function floorScenario(sc, systems, probe, ctx) {
	const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
	const measured = systems.filter((s) => s.name !== "baseline+retry3" && !s.selfTest);
	await Promise.all(measured.map((sys) => prepare(sys, sc, ctx.admin, tokens)));
	const n = SIZE.floor.requests;
	const w = SIZE.floor.warmup;
	const rep = (req, k) => Array.from({ length: k }, () => req);
	const results = {};
	for (const sys of measured) {
		await settle(systems);
		const wh = sc.warehouses[0].id;
		const r = {};
		r.health = await sequential(sys, rep({ method: "GET", path: "/health" }, n), rep({ method: "GET", path: "/health" }, w));
		r.stock_get = await sequential(sys, rep({ method: "GET", path: `/admin/warehouses/${wh}/stock`, token: ctx.admin }, n), rep({ method: "GET", path: `/admin/warehouses/${wh}/stock`, token: ctx.admin }, w));
		r.product_get = await sequential(sys, rep({ method: "GET", path: `/products/${sc.products[0].id}` }, n), rep({ method: "GET", path: `/products/${sc.products[0].id}` }, w));
		const place = (b) => ({ method: "POST", path: sys.placePath, token: tokens.get(b.sub), body: { delivery_mode: "standard" } });
		r.place_order = await sequential(sys, sc.buyers.slice(w).map(place), sc.buyers.slice(0, w).map(place));
		results[sys.name] = r;
		log(`  ${sys.name.padEnd(16)} health p50 ${r.health.p50} ms, stock GET p50 ${r.stock_get.p50} ms, product GET p50 ${r.product_get.p50} ms, place-order (c=1) p50 ${r.place_order.p50} ms  [${elapsed()}]`);
	}
	let primitives = null;
	if (probe) {
		try {
			await settle([...systems, probe]);
			primitives = await probePrimitives(probe, ctx);
			log(`  ${"primitives".padEnd(16)} ${Object.entries(primitives.cost_ms).map(([k, v]) => `${k} ${v} ms`).join(", ")}  [${elapsed()}]`);
		} catch (err) {
			primitives = { error: String(err.message ?? err).slice(0, 500) };
			log(`  primitives: the probe failed (${primitives.error.split("\n")[0]}); floor sums are n/a`);
		}
	}
	for (const [name, r] of Object.entries(results)) {
		const counts = PRIMITIVES[name];
		if (!counts || !primitives?.cost_ms) continue;
		let sum = primitives.http_p50;
		for (const [op, k] of Object.entries(counts)) sum += k * (primitives.cost_ms[op] ?? 0);
		r.floor_sum_ms = Math.round(sum * 100) / 100;
		r.floor_primitives = counts;
		r.place_order_over_floor = ratio(r.place_order.p50, sum);
	}
	return { results, primitives };
}

async function probePrimitives(probe, ctx) {
	const n = SIZE.floor.requests;
	const w = SIZE.floor.warmup;
	// Probe name -> [the probe Worker's operation, the warehouse it runs at]. rpc-reserve leaves its holds
	// open at wh-floor (a reserve among others: the alarm stays where it is); rpc-hold runs at a warehouse
	// where nothing else is held, so its reserve arms the alarm and its commit clears it, as for an order
	// placed alone; rpc-hold-busy is the same pair at wh-floor, where the open holds keep the alarm still.
	const probes = {
		noop: ["noop", "wh-floor"],
		jwt: ["jwt", "wh-floor"],
		d1: ["d1", "wh-floor"],
		"d1-write": ["d1-write", "wh-floor"],
		"d1-read-batch": ["d1-read-batch", "wh-floor"],
		"d1-batch": ["d1-batch", "wh-floor"],
		rpc: ["rpc", "wh-floor"],
		"rpc-reserve": ["rpc-reserve", "wh-floor"],
		"rpc-hold": ["rpc-hold", "wh-floor-hold"],
		"rpc-hold-busy": ["rpc-hold", "wh-floor"],
	};
	await api(probe, "GET", "/floor/setup?w=wh-floor");
	await api(probe, "GET", "/floor/setup?w=wh-floor-hold");
	const rep = (req, k) => Array.from({ length: k }, () => req);
	const request = (name) => ({ method: "GET", path: `/floor/${probes[name][0]}?w=${probes[name][1]}`, token: ctx.admin });
	// One warm-up pass over every probe first, so the first one measured is not the one that pays for a cold isolate.
	await sequential(probe, Object.keys(probes).flatMap((name) => rep(request(name), w)), []);
	const http = {};
	for (const name of Object.keys(probes)) {
		http[name] = await sequential(probe, rep(request(name), n), rep(request(name), w));
		if (http[name].failed) throw new Error(`${request(name).path}: ${http[name].statuses.join(", ")}`);
	}
	// In-Worker loops: one primitive repeated, timed by the Worker's clock (which advances on I/O).
	const loop = {};
	for (const name of Object.keys(probes).filter((k) => k !== "noop" && k !== "jwt")) {
		const [op, wh] = probes[name];
		const res = await api(probe, "GET", `/floor/loop?op=${op}&n=${SIZE.floor.loop}&w=${wh}`);
		loop[name] = Math.round((res.ms / res.n) * 1000) / 1000;
	}
	// A primitive's cost: p50 of a request doing one of it, minus p50 of a request doing nothing.
	// (The in-Worker loop's per-call times are kept as a cross-check; the Worker's clock only
	// moves on I/O, so they miss CPU-only work such as the token check.)
	const cost_ms = {};
	for (const name of Object.keys(probes)) if (name !== "noop") cost_ms[name] = Math.max(0, Math.round((http[name].p50 - http.noop.p50) * 100) / 100);
	return { http_p50: http.noop.p50, cost_ms, loop_ms_per_call: loop, http };
}

// ---- report ------------------------------------------------------------------------------------

const CONTENTION_COLUMNS = [
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

function ratios(results) {
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

function renderScenario(name, entry) {
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

/** The issue's targets for stockgate, checked against this run. */
function targets(scenarios) {
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

// ---- main --------------------------------------------------------------------------------------

async function main() {
	const date = new Date().toISOString();
	const command = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
	const info = machine();
	log(`stockgate benchmark (${QUICK ? "quick" : "full"}) ${date}`);
	log(`machine: ${info.cores} cores, ${info.cpu_model}, ${info.memory_gib} GiB, ${info.os}, load average ${loadavg().map((v) => v.toFixed(1)).join(" ")}`);
	log(
		`versions: node ${info.versions.node}, wrangler ${info.versions.wrangler}, miniflare ${info.versions.miniflare}, workerd ${info.versions.workerd}, stockgate ${info.versions.stockgate ?? "n/a"}`,
	);

	const tmp = mkdtempSync(join(tmpdir(), "stockgate-bench-"));
	const secret = randomBytes(32).toString("hex");
	const envFile = join(tmp, "bench.env");
	writeFileSync(envFile, `JWT_SECRET=${secret}\nPAYMENT_WEBHOOK_SECRET=${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
	// The baseline and the probe run on stockgate's compatibility date and flags.
	const compat = join(root, "wrangler.toml");
	const cleanup = () => {
		killHosts();
		if (!KEEP_STATE) rmSync(tmp, { recursive: true, force: true });
	};
	process.once("SIGINT", () => {
		cleanup();
		process.exit(130);
	});

	const wantProbe = SELECTED.includes("floor");
	let host = null;
	let systems = [];
	let probe = null;
	let exitCode = 0;
	let otherWorkerd = [];
	if (PROFILE) log("--profile: the inspector is on and the CPU profiler samples every 200 us: timings of this run are not comparable to a plain run.");
	const report = { date, command, mode: QUICK ? "quick" : "full", profiled: PROFILE, machine: { ...info, load_average_at_start: loadavg() }, runtime: {}, scenarios: {}, state_dir: KEEP_STATE ? tmp : null };
	try {
		log(`starting ${RUN_SYSTEMS.map((s) => s.name).join(", ")}${wantProbe ? ", floor-probe" : ""} on workerd (fresh state under ${tmp})...`);
		host = forkHost("workers");
		const starting = RUN_SYSTEMS.map((s) => startSystem(host, s, tmp, envFile, s.name === "stockgate" ? undefined : compat));
		const probeStarting = wantProbe
			? startSystem(host, PROBE, tmp, envFile, compat).catch((err) => {
					log(`  floor-probe did not start: ${String(err.message).split("\n")[0]} (primitives will be n/a)`);
					return null;
				})
			: Promise.resolve(null);
		systems = await Promise.all(starting);
		probe = await probeStarting;
		const pids = await host.call("pids");
		otherWorkerd = pids.others;
		ALL_RUNTIMES = Object.values(pids.runtime).filter(Boolean);
		for (const s of [...systems, ...(probe ? [probe] : [])]) {
			s.pids.runtime = pids.runtime[s.name] ?? null;
			log(`  ${s.name.padEnd(16)} ${s.url} (runtime pid ${s.pids.runtime ?? "?"}, started in ${(s.startup_ms / 1000).toFixed(1)} s)`);
		}

		const admin = await mintToken(secret, { sub: "bench-admin", admin: true, expiresIn: "2h" });
		const ctx = { secret, admin };
		const builders = {
			"last-units": () => lastUnits(SIZE.lastUnits),
			"flash-sale": () => flashSale(SIZE.flashSale),
			catalog: () => catalog(SIZE.catalog),
			"fan-out": () => fanOut(SIZE.fanOut),
			floor: () => floor(SIZE.floor),
		};
		for (const name of SELECTED) {
			const sc = builders[name]();
			if (QUICK && performance.now() - runStarted > QUICK_BUDGET_MS) {
				report.scenarios[name] = { description: sc.description, skipped: "the --quick time budget was used up" };
				log(`\n${name}: skipped (quick-mode time budget)`);
				continue;
			}
			log(`\n${name}: ${sc.description} (load average ${loadavg().map((v) => v.toFixed(1)).join(" ")})`);
			if (name === "floor") {
				const { results, primitives } = await floorScenario(sc, systems, probe, ctx);
				report.scenarios[name] = { description: sc.description, load_average_before: loadavg(), results, primitives };
			} else {
				const results = await contentionScenario(sc, systems, ctx);
				report.scenarios[name] = { description: sc.description, concurrency: sc.concurrency, results, ratios: ratios(results) };
				if (results["baseline-nolock"]) {
					const caught = results["baseline-nolock"].oversold + results["baseline-nolock"].stock_drift;
					log(`  self-test: the unguarded baseline ${caught > 0 ? `was caught: oversold ${results["baseline-nolock"].oversold}, stock drift ${results["baseline-nolock"].stock_drift}` : "oversold nothing this time (a race is not guaranteed)"}`);
				}
				const sg = results.stockgate;
				if (sg && (sg.oversold > 0 || sg["5xx"] > 0)) exitCode = 1;
			}
		}

		for (const s of [...systems, ...(probe ? [probe] : [])]) {
			report.runtime[s.name] = {
				url: s.url,
				startup_ms: s.startup_ms,
				runtime_pid: s.pids.runtime,
				runtime_memory: memoryOf(s.pids.runtime),
			};
		}
		report.wrangler_proxies = otherWorkerd.map((pid) => ({ pid, ...memoryOf(pid) }));
	} catch (err) {
		console.error(`\nbenchmark failed: ${err.stack ?? err}`);
		exitCode = 2;
		report.error = String(err.message ?? err);
	} finally {
		for (const s of systems) s.agent?.destroy();
		probe?.agent?.destroy();
		await host?.stop().catch(() => {});
		cleanup();
	}

	report.targets = targets(report.scenarios);
	report.total_s = Math.round((performance.now() - runStarted) / 100) / 10;
	report.exit_code = exitCode;
	mkdirSync(join(OUT, ".."), { recursive: true });
	writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);

	log(`\n## Results (${report.mode}, ${date})\n`);
	log(`Command: \`${command}\`  `);
	log(`Machine: ${info.cores} cores, ${info.cpu_model}, ${info.memory_gib} GiB RAM, ${info.os}  `);
	log(`Versions: node ${info.versions.node}, wrangler ${info.versions.wrangler}, miniflare ${info.versions.miniflare}, workerd ${info.versions.workerd}, stockgate ${info.versions.stockgate ?? "n/a"}  `);
	const mem = Object.entries(report.runtime).map(([name, r]) => `${name} ${r.runtime_memory.peak_rss_mib ?? "n/a"} MiB`);
	if (mem.length) {
		const proxies = (report.wrangler_proxies ?? []).map((p) => p.peak_rss_mib).join(" / ");
		log(`Peak RSS of each runtime workerd process: ${mem.join(", ")} (wrangler's idle dev-proxy workerd processes: ${proxies || "n/a"} MiB)\n`);
	}
	for (const [name, entry] of Object.entries(report.scenarios)) log(renderScenario(name, entry));
	if (report.targets.length) {
		log("Targets of issue 5 (informational: they never decide the exit code)\n");
		log(table([{ key: "target", title: "target", align: "left" }, { key: "measured", title: "measured", align: "left" }, { key: "met", title: "met", align: "left" }], report.targets));
		log("");
	}
	log(`Total ${report.total_s} s. Results: ${relative(process.cwd(), OUT)}`);
	if (exitCode === 1) log("FAIL: stockgate oversold or answered 5xx (see above).");
	return exitCode;
}

main().then(
	(code) => process.exit(code),
	(err) => {
		console.error(err);
		killHosts();
		process.exit(2);
	},
);
