/**
 * Delivery quotes and order totals, all in integer cents. Pure: the clock is
 * the `now` argument. Estimated dates are UTC calendar days that count only
 * Monday to Friday; an order placed on a weekend counts from the next Monday
 * (so Saturday + 1 business day is Tuesday, Friday + 1 is Monday).
 */
import { percentOf } from "../shared/money";
import { DEFAULT_RATES, DELIVERY_MODES, type DeliveryMode, type RateTable } from "./rates";
import type { Tier } from "./tiers";

export interface DeliveryQuote {
	delivery_cost_cents: number;
	business_days: number;
	/** YYYY-MM-DD, UTC. */
	estimated_delivery_date: string;
}

export interface DeliveryOption extends DeliveryQuote {
	delivery_mode: DeliveryMode;
}

export interface Totals {
	subtotal: number;
	delivery_cost: number;
	tax: number;
	total: number;
}

const DAY_MS = 86_400_000;

function isWeekend(date: Date): boolean {
	const day = date.getUTCDay();
	return day === 0 || day === 6;
}

/** `now` + `days` business days, as YYYY-MM-DD (UTC). */
export function addBusinessDays(now: Date, days: number): string {
	if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("addBusinessDays: invalid date");
	if (!Number.isSafeInteger(days) || days < 0) throw new TypeError("addBusinessDays: days must be a non-negative integer");
	// Midnight UTC, so the time of day cannot push the result across a date line.
	let date = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
	while (isWeekend(date)) date = new Date(date.getTime() + DAY_MS);
	let left = days;
	while (left > 0) {
		date = new Date(date.getTime() + DAY_MS);
		if (!isWeekend(date)) left--;
	}
	return date.toISOString().slice(0, 10);
}

export function deliveryQuote(mode: DeliveryMode, tier: Tier, now: Date, rates: RateTable = DEFAULT_RATES): DeliveryQuote {
	const rate = rates[mode]?.[tier];
	if (!rate) throw new TypeError(`deliveryQuote: no rate for ${mode}/${tier}`);
	return {
		delivery_cost_cents: rate.cost_cents,
		business_days: rate.business_days,
		estimated_delivery_date: addBusinessDays(now, rate.business_days),
	};
}

/** Every mode for one tier, in DELIVERY_MODES order, for the cart summary. */
export function deliveryOptions(tier: Tier, now: Date, rates: RateTable = DEFAULT_RATES): DeliveryOption[] {
	return DELIVERY_MODES.map((delivery_mode) => ({ delivery_mode, ...deliveryQuote(delivery_mode, tier, now, rates) }));
}

function assertCents(value: number, what: string): void {
	if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`totals: ${what} must be a non-negative integer`);
}

/** Tax applies to the goods only, not to delivery, rounded half up to the cent. */
export function totals(input: {
	lines: ReadonlyArray<{ unit_price_cents: number; quantity: number }>;
	delivery_cost_cents: number;
	tax_rate: number;
}): Totals {
	if (!Number.isFinite(input.tax_rate) || input.tax_rate < 0) throw new TypeError("totals: tax_rate must be a non-negative number");
	assertCents(input.delivery_cost_cents, "delivery_cost_cents");
	let subtotal = 0;
	for (const line of input.lines) {
		assertCents(line.unit_price_cents, "unit_price_cents");
		assertCents(line.quantity, "quantity");
		subtotal += line.unit_price_cents * line.quantity;
	}
	assertCents(subtotal, "subtotal");
	const tax = percentOf(subtotal, input.tax_rate);
	return { subtotal, delivery_cost: input.delivery_cost_cents, tax, total: subtotal + input.delivery_cost_cents + tax };
}
