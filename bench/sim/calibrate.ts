/**
 * The calibration: the simulation configured as today's system on this machine
 * (N = 1, S = 1, the floor probe's local costs, no network) against what the
 * capacity model derives (docs/SCALING.md, "Ceilings") and what the stampede
 * measured (docs/BENCHMARKS.md). Each ceiling is measured the way it is
 * derived: the bench's closed crowd of buyers saturates that one store, the
 * others given room (an object's ceiling with the orders over 4 databases).
 */
import { DEFAULTS, type SimConfig } from "./config";
import { Sim } from "./model";
import { resultOf } from "./report";

/** Today's system, locally: the bench's crowd, no network, one location and one isolate, no faults, no payments during the pass. */
export function todayConfig(over: Partial<SimConfig> = {}): SimConfig {
	return {
		...DEFAULTS,
		driver: "closed",
		buyers: 4000,
		concurrency: 64,
		hotShare: 1,
		hotStock: 1_000_000,
		hoarderShare: 0,
		hotLimited: false,
		warehouses: 1,
		warehousesPerSite: 1,
		viewsPerOrder: 0,
		pagesOffD1: false,
		locations: 1,
		isolates: 1,
		N: 1,
		S: 1,
		rttD1Ms: 0,
		rttObjectMs: 0,
		rttObjectObjectMs: 0,
		rttQueueMs: 0,
		retry: false,
		faults: { restart: null, isolateLost: null },
		...over,
	};
}

export interface CalibrationCase {
	name: string;
	/** What the docs give: the derived ceiling (orders/s) or the measured throughput (attempts/s). */
	expected: number;
	source: string;
	simulated: number;
	/** simulated / expected - 1 */
	error: number;
	tolerance: number;
	ok: boolean;
}

const catalogOrders = { hotShare: 0, minLines: 2, maxLines: 2, maxQty: 1, catalogUnits: 1000 };
/** k holds per gathered commit, exactly: one isolate flushing every k orders. */
const k = (n: number) => ({ commitMax: n });
/** An object's ceiling is measured with the orders' D1 work spread over 4 databases, so the object binds. */
const roomyD1 = { N: 4 };

/** The stampede (bench/lib/workloads.mjs): 500 units over 2 warehouses, 2,000 buyers at 200, a tenth hoarders of 2, the product limited. */
export function stampedeConfig(browsing: boolean): SimConfig {
	return todayConfig({
		buyers: 2000,
		concurrency: 200,
		hotStock: 500,
		warehouses: 2,
		hotWarehouses: 2,
		hoarderShare: 0.1,
		hoarderQty: 2,
		hotLimited: true,
		commitMax: 200,
		sharedCore: true,
		softLimitRps: 0,
		viewsTotal: browsing ? 20_000 : 0,
		viewConcurrency: 50,
	});
}

const CASES: Array<{ name: string; expected: number; source: string; tolerance: number; cfg: SimConfig; measure: "orders" | "attempts" | "views" }> = [
	{ name: "one object, hot unit, k=1", expected: 500, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig({ ...k(1), ...roomyD1 }), measure: "orders" },
	{ name: "one object, hot unit, k=10", expected: 909, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig({ ...k(10), ...roomyD1 }), measure: "orders" },
	{ name: "one object, catalog (2 lines), k=1", expected: 500, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig({ ...k(1), ...roomyD1, ...catalogOrders }), measure: "orders" },
	{ name: "one object, catalog (2 lines), k=10", expected: 909, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig({ ...k(10), ...roomyD1, ...catalogOrders }), measure: "orders" },
	{ name: "D1 writer, whole shop, k=1", expected: 313, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig(k(1)), measure: "orders" },
	{ name: "D1 writer, whole shop, k=10", expected: 507, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig(k(10)), measure: "orders" },
	{ name: "D1, k=10, 10 page views per order", expected: 68, source: "SCALING.md ceiling", tolerance: 0.1, cfg: todayConfig({ ...k(10), viewsPerOrder: 10, buyers: 1500 }), measure: "orders" },
	// 2,000 place-orders over the buying pass's wall time (6.8 s quiet, 7.9 s browsing); views: 20,000 over their own wall time.
	{ name: "stampede, quiet: place-orders/s", expected: 2000 / 6.8, source: "BENCHMARKS.md stampede", tolerance: 0.25, cfg: stampedeConfig(false), measure: "attempts" },
	{ name: "stampede, browsing: place-orders/s", expected: 2000 / 7.9, source: "BENCHMARKS.md stampede", tolerance: 0.25, cfg: stampedeConfig(true), measure: "attempts" },
	{ name: "stampede, browsing: page views/s", expected: 484.1, source: "BENCHMARKS.md stampede", tolerance: 0.25, cfg: stampedeConfig(true), measure: "views" },
];

export function calibrate(): CalibrationCase[] {
	const runs = new Map<SimConfig, ReturnType<typeof resultOf>>();
	return CASES.map((c) => {
		let r = runs.get(c.cfg);
		if (!r) {
			const sim = new Sim(c.cfg);
			sim.run();
			r = resultOf(sim);
			runs.set(c.cfg, r);
		}
		const simulated =
			c.measure === "orders" ? r.counters.placed / (r.buyingWallS ?? 1) : c.measure === "attempts" ? c.cfg.buyers / (r.buyingWallS ?? 1) : c.cfg.viewsTotal / (r.viewsWallS ?? 1);
		const error = simulated / c.expected - 1;
		return { name: c.name, expected: Math.round(c.expected * 10) / 10, source: c.source, simulated: Math.round(simulated * 10) / 10, error: Math.round(error * 1000) / 1000, tolerance: c.tolerance, ok: Math.abs(error) <= c.tolerance };
	});
}

export function renderCalibration(cases: CalibrationCase[]): string {
	const lines = ["case                                        expected  simulated   error  within", ...cases.map((c) => `${c.name.padEnd(42)} ${String(c.expected).padStart(9)} ${String(c.simulated).padStart(10)} ${`${(c.error * 100).toFixed(1)}%`.padStart(7)}  ${c.ok ? "yes" : "NO"} (${c.tolerance * 100}%)`)];
	return lines.join("\n");
}
