import { describe, expect, it } from "vitest";
import { readClaim, runSim } from "../../bench/sim/cli";
import { claimConfig } from "../../bench/sim/config";
import type { Knob } from "../../bench/sim/search";

// Each knob of the claim one lower, the others held: the claim's run (same seed, and one random stream per
// kind of draw, so the two runs differ by that knob alone) breaks at a store that knob scales, and only there.
// A run stops at the end of the first second a store passes its limit: nothing later could mend it.
describe("the claim's N, S and warehouses per site are each the least that keeps it", () => {
	const { claim } = readClaim();
	const cases: Array<{ knob: Knob; stores: RegExp; what: string }> = [
		{ knob: "N", stores: /^orders-\d+: /, what: "an order shard's database passes 60% busy" },
		{ knob: "S", stores: /^hot\.\d+: /, what: "a shard of the hot unit passes 500 requests/s" },
		{ knob: "warehousesPerSite", stores: /^w\d+\.\d+: /, what: "a site's warehouse object passes 500 requests/s" },
	];

	it.each(cases.map((c) => [c.knob, c.what, c] as const))("one %s fewer: %s", (_, __, { knob, stores }) => {
		const r = runSim(claimConfig({ ...claim, [knob]: claim[knob] - 1 }), { stopAtBreach: true });
		expect(r.stoppedAtS).not.toBeNull();
		const past = r.claim.failures.filter((f) => f.includes(": "));
		expect(past.length).toBeGreaterThan(0);
		expect(past.filter((f) => !stores.test(f))).toEqual([]);
		// Nothing else failed up to the stop: no oversell, no false 409, no "overloaded", the 201 in time.
		expect(r.claim.failures.filter((f) => !f.includes(": ") && !f.startsWith("stopped at"))).toEqual([]);
	});
});
