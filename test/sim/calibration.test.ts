import { describe, expect, it } from "vitest";
import { calibrate, renderCalibration } from "../../bench/sim/calibrate";

describe("the simulation configured as today's system on this machine", () => {
	const cases = calibrate();
	console.log(renderCalibration(cases));

	it.each(cases.map((c) => [c.name, c] as const))("reproduces %s within its tolerance", (_, c) => {
		expect(Math.abs(c.simulated / c.expected - 1)).toBeLessThanOrEqual(c.tolerance);
	});

	it("covers every ceiling the capacity model derives, and the stampede", () => {
		expect(cases.filter((c) => c.source.startsWith("SCALING")).length).toBe(7);
		expect(cases.filter((c) => c.source.startsWith("BENCHMARKS")).length).toBe(3);
	});
});
