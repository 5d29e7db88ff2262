/**
 * The delivery rate table: cost in integer cents and business days per
 * (mode, tier). One table, replaceable by configuration; `validateRates`
 * states what any table must satisfy. Pure.
 */
import { TIERS, type Tier } from "./tiers";

export type DeliveryMode = "standard" | "express";

export const DELIVERY_MODES: readonly DeliveryMode[] = ["standard", "express"];

export interface Rate {
	cost_cents: number;
	business_days: number;
}

export type RateTable = Readonly<Record<DeliveryMode, Readonly<Record<Tier, Readonly<Rate>>>>>;

export const DEFAULT_RATES: RateTable = Object.freeze({
	standard: Object.freeze({
		tier_1: Object.freeze({ cost_cents: 499, business_days: 3 }),
		tier_2: Object.freeze({ cost_cents: 699, business_days: 4 }),
		tier_3: Object.freeze({ cost_cents: 999, business_days: 6 }),
	}),
	express: Object.freeze({
		tier_1: Object.freeze({ cost_cents: 999, business_days: 1 }),
		tier_2: Object.freeze({ cost_cents: 1299, business_days: 2 }),
		tier_3: Object.freeze({ cost_cents: 1799, business_days: 3 }),
	}),
});

export function isDeliveryMode(value: unknown): value is DeliveryMode {
	return value === "standard" || value === "express";
}

/**
 * Problems with a table, empty when it is valid. Paying more for express must
 * buy speed, so express may be neither cheaper nor slower than standard.
 */
export function validateRates(table: RateTable): string[] {
	const problems: string[] = [];
	for (const mode of DELIVERY_MODES) {
		for (const tier of TIERS) {
			const rate = table[mode]?.[tier];
			if (!rate) {
				problems.push(`${mode}/${tier}: missing`);
				continue;
			}
			if (!Number.isSafeInteger(rate.cost_cents) || rate.cost_cents < 0) {
				problems.push(`${mode}/${tier}: cost_cents must be a non-negative integer`);
			}
			if (!Number.isSafeInteger(rate.business_days) || rate.business_days < 0) {
				problems.push(`${mode}/${tier}: business_days must be a non-negative integer`);
			}
		}
	}
	for (const tier of TIERS) {
		const standard = table.standard?.[tier];
		const express = table.express?.[tier];
		if (!standard || !express) continue;
		if (express.cost_cents < standard.cost_cents) problems.push(`${tier}: express is cheaper than standard`);
		if (express.business_days > standard.business_days) problems.push(`${tier}: express is slower than standard`);
	}
	return problems;
}
