import { describe, expect, it } from "vitest";
import { addBusinessDays, deliveryOptions, deliveryQuote, totals } from "../../src/checkout/pricing";
import { DEFAULT_RATES, validateRates, type RateTable } from "../../src/checkout/rates";
import { TIERS } from "../../src/checkout/tiers";

// 2026-01-02 is a Friday.
const FRIDAY = new Date("2026-01-02T15:30:00Z");
const SATURDAY = new Date("2026-01-03T09:00:00Z");
const SUNDAY = new Date("2026-01-04T23:59:59Z");
const MONDAY = new Date("2026-01-05T00:00:00Z");
const WEDNESDAY = new Date("2026-01-07T12:00:00Z");

describe("rates", () => {
	it("default table is valid", () => {
		expect(validateRates(DEFAULT_RATES)).toEqual([]);
	});

	it("express is never cheaper or slower than standard, for every tier", () => {
		for (const tier of TIERS) {
			const standard = deliveryQuote("standard", tier, MONDAY);
			const express = deliveryQuote("express", tier, MONDAY);
			expect(express.delivery_cost_cents).toBeGreaterThanOrEqual(standard.delivery_cost_cents);
			expect(express.business_days).toBeLessThanOrEqual(standard.business_days);
			expect(express.estimated_delivery_date <= standard.estimated_delivery_date).toBe(true);
		}
	});

	it("validateRates rejects express cheaper or slower than standard", () => {
		const bad: RateTable = {
			standard: { ...DEFAULT_RATES.standard, tier_2: { cost_cents: 1500, business_days: 1 } },
			express: DEFAULT_RATES.express,
		};
		expect(validateRates(bad)).toEqual(["tier_2: express is cheaper than standard", "tier_2: express is slower than standard"]);
	});

	it("validateRates rejects non-integer or negative values", () => {
		const bad: RateTable = {
			standard: { ...DEFAULT_RATES.standard, tier_1: { cost_cents: -1, business_days: 1.5 } },
			express: DEFAULT_RATES.express,
		};
		expect(validateRates(bad)).toEqual([
			"standard/tier_1: cost_cents must be a non-negative integer",
			"standard/tier_1: business_days must be a non-negative integer",
		]);
	});

	it("free standard delivery is not a rule: a big order still pays", () => {
		expect(deliveryQuote("standard", "tier_1", MONDAY).delivery_cost_cents).toBe(499);
	});
});

describe("deliveryQuote", () => {
	it("uses the default table", () => {
		expect(deliveryQuote("standard", "tier_1", WEDNESDAY)).toEqual({ delivery_cost_cents: 499, business_days: 3, estimated_delivery_date: "2026-01-12" });
		expect(deliveryQuote("standard", "tier_2", MONDAY)).toEqual({ delivery_cost_cents: 699, business_days: 4, estimated_delivery_date: "2026-01-09" });
		expect(deliveryQuote("standard", "tier_3", MONDAY)).toEqual({ delivery_cost_cents: 999, business_days: 6, estimated_delivery_date: "2026-01-13" });
		expect(deliveryQuote("express", "tier_1", MONDAY)).toEqual({ delivery_cost_cents: 999, business_days: 1, estimated_delivery_date: "2026-01-06" });
		expect(deliveryQuote("express", "tier_2", MONDAY)).toEqual({ delivery_cost_cents: 1299, business_days: 2, estimated_delivery_date: "2026-01-07" });
		expect(deliveryQuote("express", "tier_3", MONDAY)).toEqual({ delivery_cost_cents: 1799, business_days: 3, estimated_delivery_date: "2026-01-08" });
	});

	it("takes a custom rate table", () => {
		const rates: RateTable = { ...DEFAULT_RATES, standard: { ...DEFAULT_RATES.standard, tier_1: { cost_cents: 0, business_days: 2 } } };
		expect(deliveryQuote("standard", "tier_1", MONDAY, rates)).toEqual({ delivery_cost_cents: 0, business_days: 2, estimated_delivery_date: "2026-01-07" });
	});
});

describe("business days across weekends", () => {
	it("Friday + 1 business day = Monday", () => {
		expect(addBusinessDays(FRIDAY, 1)).toBe("2026-01-05");
	});

	it("Friday + 3 business days = Wednesday", () => {
		expect(addBusinessDays(FRIDAY, 3)).toBe("2026-01-07");
	});

	it("an order placed on Saturday or Sunday counts from the next Monday", () => {
		expect(addBusinessDays(SATURDAY, 1)).toBe("2026-01-06");
		expect(addBusinessDays(SUNDAY, 1)).toBe("2026-01-06");
		expect(addBusinessDays(SUNDAY, 0)).toBe("2026-01-05");
	});

	it("spans more than one weekend", () => {
		expect(addBusinessDays(WEDNESDAY, 6)).toBe("2026-01-15");
		expect(addBusinessDays(MONDAY, 10)).toBe("2026-01-19");
	});

	it("uses the UTC date, whatever the time of day", () => {
		expect(addBusinessDays(new Date("2026-01-05T23:59:59.999Z"), 1)).toBe("2026-01-06");
	});

	it("crosses a month and year end", () => {
		// 2025-12-31 is a Wednesday.
		expect(addBusinessDays(new Date("2025-12-31T10:00:00Z"), 3)).toBe("2026-01-05");
	});

	it("rejects an invalid date", () => {
		expect(() => addBusinessDays(new Date("nope"), 1)).toThrow(TypeError);
	});
});

describe("deliveryOptions", () => {
	it("lists both modes for the tier", () => {
		expect(deliveryOptions("tier_2", FRIDAY)).toEqual([
			{ delivery_mode: "standard", delivery_cost_cents: 699, business_days: 4, estimated_delivery_date: "2026-01-08" },
			{ delivery_mode: "express", delivery_cost_cents: 1299, business_days: 2, estimated_delivery_date: "2026-01-06" },
		]);
	});
});

describe("totals", () => {
	it("adds subtotal, delivery and tax in integer cents", () => {
		expect(
			totals({
				lines: [
					{ unit_price_cents: 1299, quantity: 2 },
					{ unit_price_cents: 500, quantity: 1 },
				],
				delivery_cost_cents: 499,
				tax_rate: 0.1,
			}),
		).toEqual({ subtotal: 3098, delivery_cost: 499, tax: 310, total: 3907 });
	});

	it("half-up rounding: 10% of 1005 cents = 101, of 1004 cents = 100", () => {
		expect(totals({ lines: [{ unit_price_cents: 1005, quantity: 1 }], delivery_cost_cents: 0, tax_rate: 0.1 }).tax).toBe(101);
		expect(totals({ lines: [{ unit_price_cents: 1004, quantity: 1 }], delivery_cost_cents: 0, tax_rate: 0.1 }).tax).toBe(100);
	});

	it("tax is on the subtotal only, not on delivery", () => {
		expect(totals({ lines: [{ unit_price_cents: 1000, quantity: 1 }], delivery_cost_cents: 1799, tax_rate: 0.1 })).toEqual({
			subtotal: 1000,
			delivery_cost: 1799,
			tax: 100,
			total: 2899,
		});
	});

	it("zero tax rate", () => {
		expect(totals({ lines: [{ unit_price_cents: 333, quantity: 3 }], delivery_cost_cents: 499, tax_rate: 0 })).toEqual({
			subtotal: 999,
			delivery_cost: 499,
			tax: 0,
			total: 1498,
		});
	});

	it("rejects fractional cents and negative rates", () => {
		expect(() => totals({ lines: [{ unit_price_cents: 9.99, quantity: 1 }], delivery_cost_cents: 0, tax_rate: 0.1 })).toThrow(TypeError);
		expect(() => totals({ lines: [{ unit_price_cents: 999, quantity: 1 }], delivery_cost_cents: 0, tax_rate: -0.1 })).toThrow(TypeError);
	});
});
