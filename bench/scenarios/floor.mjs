// The floor scenario: sequential (c=1) latencies of a few endpoints against the
// sum of the primitives a place-order is built from, measured by the probe Worker.
import { log, elapsed, SIZE } from "../lib/options.mjs";
import { sequential, settle } from "../lib/measure.mjs";
import { api, mintAll, prepare } from "../lib/systems.mjs";
import { ratio } from "../lib/stats.mjs";
import { capacityOf } from "./capacity.mjs";

/**
 * What one place-order is built from, on its critical path, counted from the code
 * for an order from one warehouse without an Idempotency-Key (docs/BENCHMARKS.md,
 * "floor"). Update it when the place-order path changes.
 * stockgate (src/checkout/routes.ts, placeOrder.ts, cart/load.ts): token check;
 *   the context read at the customer's order shard (cart and lines, one
 *   statement; products and warehouses from the catalog snapshot, no D1 in
 *   steady state); the floor's buyer lives in the one warehouse's postal area, so
 *   the shortcut reserves there directly (no availability RPC); reserve + commit
 *   RPCs; the decision D1 batch at the shard (outbox clean-up and event
 *   publishing run after the answer).
 * baseline (bench/baseline/src/place.ts): token check; cart, lines and stock
 *   reads; one compare-and-set UPDATE; the order batch.
 */
export const PRIMITIVES = {
	stockgate: { jwt: 1, "d1-read-shard": 1, "rpc-hold": 1, "d1-batch-shard": 1 },
	baseline: { jwt: 1, d1: 3, "d1-write": 1, "d1-batch": 1 },
};

export async function floorScenario(sc, systems, probe, ctx) {
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
			// The capacity model's inputs (docs/SCALING.md): each store's busy time per operation.
			primitives.capacity = await capacityOf(probe);
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

export async function probePrimitives(probe, ctx) {
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
		"d1-read-shard": ["d1-read-shard", "wh-floor"],
		"d1-batch-shard": ["d1-batch-shard", "wh-floor"],
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
