import { describe, expect, it } from "vitest";
import { claimConfig } from "../../bench/sim/config";
import { costsFrom, loadInputs } from "../../bench/sim/costs";
import { EventQueue } from "../../bench/sim/heap";
import { Sim } from "../../bench/sim/model";
import { resultOf } from "../../bench/sim/report";

/** A small sale: 600 orders/s for 10 s, a hot unit of 600 that sells out and comes back from hoarders. */
const small = (over = {}) =>
	claimConfig({ peakPerS: 600, rampS: 1, holdS: 10, hotStock: 600, N: 4, S: 4, warehousesPerSite: 1, warehouses: 2, locations: 5, isolates: 50, paymentWindowMs: 5000, payDelayMs: [500, 3000] as [number, number], cronMs: 10_000, holdTtlMs: 20_000, ...over });

function run(cfg: ReturnType<typeof small>) {
	const sim = new Sim(cfg);
	sim.run();
	return resultOf(sim);
}

describe("the event queue", () => {
	it("runs events in time order, equal times first come first served", () => {
		const q = new EventQueue();
		const seen: string[] = [];
		for (const [t, name] of [[5, "c"], [1, "a"], [5, "d"], [3, "b"], [0, "z"]] as const) q.at(t, () => seen.push(name));
		q.runUntil(10);
		expect(seen).toEqual(["z", "a", "b", "c", "d"]);
	});
});

describe("the model", () => {
	// The small sale at its default S=4, run once for the tests that look at that configuration.
	let sale: ReturnType<typeof run> | undefined;
	const smallSale = () => (sale ??= run(small()));

	it("is deterministic for a seed", () => {
		const b = run(small());
		expect(smallSale().counters).toEqual(b.counters);
		expect(smallSale().latency).toEqual(b.latency);
	});

	it.each([1, 4])("with S=%i sells the hot unit out exactly: no oversell, no false 409, hoarders' units sold to the buyers who come back", (S) => {
		const r = S === small().S ? smallSale() : run(small({ S }));
		expect(r.soldOutAtS).not.toBeNull();
		expect(r.counters.refused).toBeGreaterThan(0);
		expect(r.oversold).toBe(0);
		expect(r.stockDrift).toBe(0);
		expect(r.falseRefused).toBe(0);
		expect(r.counters.cancelledByWindow).toBeGreaterThan(0);
		expect(r.lostAfterWindow).toBe(0);
		expect(r.unsoldHot).toBe(0);
	});

	it("an isolate lost after its decisions leaves commits that the reconciler replays", () => {
		const r = run(small({ faults: { restart: null, isolateLost: { atS: 5 } } }));
		expect(r.counters.commitsLeft).toBeGreaterThan(0);
		expect(r.counters.commitsReplayed + r.counters.alarmCommits).toBeGreaterThanOrEqual(r.counters.commitsLeft);
	});

	it("a restarted object fails what it had queued, and nothing is left held or oversold", () => {
		const r = run(small({ faults: { restart: { atS: 4, downMs: 300 }, isolateLost: null } }));
		expect(r.counters.unavailable).toBeGreaterThan(0);
		expect(r.oversold).toBe(0);
		expect(r.stockDrift).toBe(0);
	});
});

describe("the escrow operations' costs", () => {
	const inputs = loadInputs();
	const busy = inputs.capacity.busy_ms;
	const names = { grant: "rpc-grant", giveBack: "rpc-give-back", ask: "rpc-ask" };

	it("stand in from a reserve's write and an availability read when the floor results lack them", () => {
		for (const name of Object.values(names)) expect(busy[name]).toBeUndefined();
		const c = costsFrom(inputs, 1, 1, names);
		expect(c.grant).toBe(busy["rpc-reserve"]);
		expect(c.giveBack).toBe(busy["rpc-reserve"]);
		expect(c.ask).toBe(busy["rpc-availability"]);
		expect(c.escrowSources.grant).toContain("no rpc-grant");
	});

	it("are read from the floor results by name when there, scaled like every object's work", () => {
		const measured = { ...inputs, capacity: { ...inputs.capacity, busy_ms: { ...busy, "rpc-grant": 0.9, "rpc-give-back": 0.7, "rpc-ask": 0.2 } } };
		const c = costsFrom(measured, 1, 2, names);
		expect([c.grant, c.giveBack, c.ask]).toEqual([1.8, 1.4, 0.4]);
		expect(c.escrowSources).toEqual({ grant: "rpc-grant", giveBack: "rpc-give-back", ask: "rpc-ask" });
	});

	it("reach the model under the names the config gives", () => {
		const sim = new Sim(small({ grantCostKey: "d1-write", giveBackCostKey: "d1-read", askCostKey: "rpc-snapshot-1-unit" }));
		expect([sim.costs.grant, sim.costs.giveBack, sim.costs.ask]).toEqual([busy["d1-write"], busy["d1-read"], busy["rpc-snapshot-1-unit"]]);
	});
});
