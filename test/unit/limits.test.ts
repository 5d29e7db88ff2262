import { describe, expect, it } from "vitest";
import { anyLimited, countedUnits, excesses, orderedUnits, unitsByProduct, withinLimit, type Allowance } from "../../src/limits/rules";
import { awaitingPayment, overdue, windowCutoff } from "../../src/orders/paymentWindow";

const allowance = (product_id: string, limit: number | null, already: number): Allowance => ({ product_id, limit, already });

describe("purchase limits", () => {
	it("adds up the units of a product over all its sizes", () => {
		const units = unitsByProduct([
			{ product_id: "tee", quantity: 1 },
			{ product_id: "cap", quantity: 4 },
			{ product_id: "tee", quantity: 2 },
		]);
		expect([...units]).toEqual([
			["tee", 3],
			["cap", 4],
		]);
	});

	it("a request fits while already + requested stays at or under the limit; no limit always fits", () => {
		expect(withinLimit(allowance("tee", 3, 1), 2)).toBe(true);
		expect(withinLimit(allowance("tee", 3, 1), 3)).toBe(false);
		expect(withinLimit(allowance("tee", 3, 3), 0)).toBe(true);
		expect(withinLimit(allowance("tee", null, 1_000), 1_000)).toBe(true);
	});

	it("reports each product over its limit with limit, already and requested", () => {
		const allowances = new Map([
			["tee", allowance("tee", 2, 1)],
			["cap", allowance("cap", 10, 0)],
			["bag", allowance("bag", null, 50)],
		]);
		const requested = new Map([
			["tee", 2],
			["cap", 10],
			["bag", 99],
			["unknown", 5],
		]);
		expect(excesses(requested, allowances)).toEqual([{ product_id: "tee", limit: 2, already: 1, requested: 2 }]);
	});

	it("knows when no line is limited (nothing to read)", () => {
		expect(anyLimited([{ max_per_customer: null }, { max_per_customer: null }])).toBe(false);
		expect(anyLimited([{ max_per_customer: null }, { max_per_customer: 1 }])).toBe(true);
		expect(anyLimited([])).toBe(false);
	});
});

describe("payment window", () => {
	const now = Date.parse("2026-11-30T12:00:00.000Z");

	it("the cutoff is now minus the window; a window of 0 is off", () => {
		expect(windowCutoff(now, 1_800_000)).toBe("2026-11-30T11:30:00.000Z");
		expect(windowCutoff(now, 0)).toBeNull();
	});

	it("only a pending order with its payment pending or failed awaits payment", () => {
		expect(awaitingPayment({ status: "pending", payment_status: "pending" })).toBe(true);
		expect(awaitingPayment({ status: "pending", payment_status: "failed" })).toBe(true);
		expect(awaitingPayment({ status: "paid", payment_status: "paid" })).toBe(false);
		expect(awaitingPayment({ status: "cancelled", payment_status: "pending" })).toBe(false);
		expect(awaitingPayment({ status: "processing", payment_status: "pending" })).toBe(false);
	});

	it("an unpaid order is overdue once placed before the cutoff, never when the window is off", () => {
		const cutoff = windowCutoff(now, 1_800_000);
		const order = (created_at: string, payment_status: "pending" | "failed" | "paid" = "pending") => ({ status: "pending" as const, payment_status, created_at });
		expect(overdue(order("2026-11-30T11:29:59.999Z"), cutoff)).toBe(true);
		expect(overdue(order("2026-11-30T11:29:59.999Z", "failed"), cutoff)).toBe(true);
		expect(overdue(order("2026-11-30T11:30:00.000Z"), cutoff)).toBe(false);
		expect(overdue(order("2026-11-30T11:00:00.000Z", "paid"), cutoff)).toBe(false);
		expect(overdue(order("2020-01-01T00:00:00.000Z"), null)).toBe(false);
	});
});

describe("PAYMENT_WINDOW_SECONDS", () => {
	it("defaults to 1800 s, 0 turns the window off, a bad value falls back to the default", async () => {
		const { config } = await import("../../src/config");
		const env = (v?: string) => ({ PAYMENT_WINDOW_SECONDS: v }) as unknown as Parameters<typeof config>[0];
		expect(config(env()).paymentWindowMs).toBe(1_800_000);
		expect(config(env("0")).paymentWindowMs).toBe(0);
		expect(config(env("90")).paymentWindowMs).toBe(90_000);
		expect(config(env("-5")).paymentWindowMs).toBe(1_800_000);
		expect(config(env("soon")).paymentWindowMs).toBe(1_800_000);
	});
});

describe("units counted against limits, kits included", () => {
	it("a cart line of a kit counts the kit and each component's units times the line's quantity", () => {
		const units = countedUnits([
			{ product_id: "drop-kit", quantity: 3, components: [{ product_id: "sneaker", quantity: 1 }, { product_id: "sock", quantity: 2 }] },
			{ product_id: "sneaker", quantity: 2, components: null },
			{ product_id: "twin-kit", quantity: 1, components: [{ product_id: "sneaker", quantity: 2 }] },
		]);
		expect([...units]).toEqual([
			["drop-kit", 3],
			["sneaker", 7],
			["sock", 6],
			["twin-kit", 1],
		]);
	});

	it("an order line of a kit counts the kit and its components' units as ordered (already multiplied)", () => {
		const units = orderedUnits([
			{ product_id: "drop-kit", quantity: 3, components: [{ product_id: "sneaker", quantity: 3 }, { product_id: "sock", quantity: 6 }] },
			{ product_id: "sneaker", quantity: 2 },
		]);
		expect([...units]).toEqual([
			["drop-kit", 3],
			["sneaker", 5],
			["sock", 6],
		]);
	});

	it("a kit's component limit is passed by kits alone, and named in the excess", () => {
		const requested = countedUnits([{ product_id: "drop-kit", quantity: 3, components: [{ product_id: "sneaker", quantity: 1 }] }]);
		const allowances = new Map([
			["sneaker", allowance("sneaker", 2, 0)],
			["drop-kit", allowance("drop-kit", null, 0)],
		]);
		expect(excesses(requested, allowances)).toEqual([{ product_id: "sneaker", limit: 2, already: 0, requested: 3 }]);
	});

	it("a cart with a kit line needs the limits read even when no line's own product is limited", () => {
		expect(anyLimited([{ max_per_customer: null, components: [{ product_id: "sneaker", quantity: 1 }] }])).toBe(true);
		expect(anyLimited([{ max_per_customer: null, components: null }])).toBe(false);
	});
});
