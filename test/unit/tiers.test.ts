import { describe, expect, it } from "vitest";
import { tierFor, worstTier } from "../../src/checkout/tiers";

const place = (postal_code: string, region: string, country: string) => ({ postal_code, region, country });

describe("tierFor", () => {
	it("tier_1: same postal area and country", () => {
		expect(tierFor(place("94107", "CA", "US"), place("94103", "CA", "US"))).toBe("tier_1");
	});

	it("tier_1 ignores spaces and case in the postal code", () => {
		expect(tierFor(place("sw1a 1aa", "London", "GB"), place("SW 1X7", "Greater London", "gb"))).toBe("tier_1");
	});

	it("tier_1 does not need the same region", () => {
		expect(tierFor(place("10115", "Berlin", "DE"), place("10117", "Brandenburg", "DE"))).toBe("tier_1");
	});

	it("same postal prefix but different country is not tier_1 (nor tier_2)", () => {
		expect(tierFor(place("10115", "Berlin", "DE"), place("10001", "Berlin", "US"))).toBe("tier_3");
	});

	it("postal code shorter than three characters compares whole", () => {
		expect(tierFor(place("12", "R", "XX"), place("12", "Other", "XX"))).toBe("tier_1");
		expect(tierFor(place("12", "R", "XX"), place("123", "Other", "XX"))).toBe("tier_3");
		expect(tierFor(place("1 2", "R", "XX"), place("12", "Other", "XX"))).toBe("tier_1");
	});

	it("tier_2: same region (trimmed, case-insensitive) and country, different postal area", () => {
		expect(tierFor(place("94107", " California ", "US"), place("90001", "california", "US"))).toBe("tier_2");
	});

	it("same region name in another country is tier_3", () => {
		expect(tierFor(place("94107", "Georgia", "US"), place("0105", "Georgia", "GE"))).toBe("tier_3");
	});

	it("tier_3 elsewhere in the same country", () => {
		expect(tierFor(place("94107", "CA", "US"), place("10001", "NY", "US"))).toBe("tier_3");
	});

	it("blank postal codes or regions never match", () => {
		expect(tierFor(place("", "", "US"), place("", "", "US"))).toBe("tier_3");
		expect(tierFor(place("  ", "CA", "US"), place("", "CA", "US"))).toBe("tier_2");
	});
});

describe("worstTier", () => {
	it("a split order takes its worst tier", () => {
		expect(worstTier(["tier_1", "tier_3", "tier_2"])).toBe("tier_3");
		expect(worstTier(["tier_1", "tier_2"])).toBe("tier_2");
		expect(worstTier(["tier_1"])).toBe("tier_1");
	});

	it("empty list throws TypeError", () => {
		expect(() => worstTier([])).toThrow(TypeError);
	});
});
