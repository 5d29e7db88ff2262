import { describe, expect, it } from "vitest";
import { ALARM_RETRY_CAP_MS, alarmRetryDelayMs } from "../../src/stock/object/backoff";

describe("alarmRetryDelayMs", () => {
	it("doubles from one second", () => {
		expect([1, 2, 3, 4, 5].map(alarmRetryDelayMs)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
	});

	it("is capped at one minute, also after very many failures", () => {
		expect(alarmRetryDelayMs(7)).toBe(ALARM_RETRY_CAP_MS);
		expect(alarmRetryDelayMs(1_000)).toBe(ALARM_RETRY_CAP_MS);
	});

	it("treats a count below one as the first failure", () => {
		expect(alarmRetryDelayMs(0)).toBe(1_000);
	});
});
