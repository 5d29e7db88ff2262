import { describe, expect, it } from "vitest";
import { readClaim, runSim } from "../../bench/sim/cli";
import { claimConfig } from "../../bench/sim/config";
import { render } from "../../bench/sim/report";

// 10,000 orders/s (0 to 10,000 in 5 s, held 60 s), 30% on one unit, 10 page views per order, pages off D1,
// an object restart and an isolate lost, with the stated round trips; N, S and warehouses per site from
// `npm run sim -- --search` (test/sim/minimal.test.ts shows each is the least that keeps it).
describe("the scale-out claim", () => {
	const { claim } = readClaim();

	it(`holds at N=${claim.N}, S=${claim.S}, ${claim.warehousesPerSite} warehouses per site`, () => {
		const r = runSim(claimConfig(claim));
		console.log(render(r));
		expect(r.stoppedAtS).toBeNull();
		expect(r.claim.failures).toEqual([]);
		// Every buyer answered; before the hot unit sells out every order is placed, at the curve's 10,000/s.
		const k = r.counters;
		expect(k.placed + k.refused + k.unavailable).toBe(k.arrivals);
		const soldOut = r.soldOutAtS ?? 0;
		expect(soldOut).toBeGreaterThan(10);
		const before = r.throughput.slice(6, Math.floor(soldOut) - 1);
		expect(before.reduce((a, p) => a + p.placed, 0) / before.length).toBeGreaterThan(9500);
	});

	it("fails at N=1, S=1, so it cannot hold vacuously", () => {
		// Stopped at the end of its first second past a limit: nothing later could mend it.
		const r = runSim(claimConfig({ ...claim, N: 1, S: 1 }), { stopAtBreach: true });
		expect(r.claim.ok).toBe(false);
		expect(r.claim.failures.some((f) => f.startsWith("orders-0"))).toBe(true);
	});
});
