/**
 * Typed settings from the Worker's vars, with the contract's defaults. A bad
 * value is a deployment mistake: it falls back to the default and is logged once.
 */
import type { Env } from "./env";
import { log } from "./shared/log";
import { DEFAULT_RATES, type RateTable } from "./checkout/rates";

export interface Config {
	currency: string;
	taxRate: number;
	reservationTtlMs: number;
	/** How long an order may stay pending and unpaid before the reconciler cancels it; 0: never. */
	paymentWindowMs: number;
	/** Phase 2 of checkout after the answer, gathered per warehouse (default); "false" commits before answering. */
	commitAfterAnswer: boolean;
	/** How long finished webhook messages and their attempts are kept. */
	webhookRetentionMs: number;
	rates: RateTable;
}

let warned = false;

function number(name: string, raw: string | undefined, fallback: number, ok: (n: number) => boolean): number {
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (Number.isFinite(n) && ok(n)) return n;
	if (!warned) log.warn("[http]", "bad_config", { name, value: raw, using: fallback });
	warned = true;
	return fallback;
}

export function config(env: Env): Config {
	return {
		currency: /^[A-Z]{3}$/.test(env.CURRENCY ?? "") ? env.CURRENCY! : "USD",
		taxRate: number("TAX_RATE", env.TAX_RATE, 0.1, (n) => n >= 0 && n < 1),
		reservationTtlMs: number("RESERVATION_TTL_SECONDS", env.RESERVATION_TTL_SECONDS, 120, (n) => n >= 1 && n <= 3600) * 1000,
		paymentWindowMs: number("PAYMENT_WINDOW_SECONDS", env.PAYMENT_WINDOW_SECONDS, 1800, (n) => Number.isInteger(n) && n >= 0 && n <= 30 * 86_400) * 1000,
		commitAfterAnswer: env.COMMIT_AFTER_ANSWER !== "false",
		webhookRetentionMs: number("WEBHOOK_RETENTION_DAYS", env.WEBHOOK_RETENTION_DAYS, 7, (n) => Number.isInteger(n) && n >= 1 && n <= 365) * 86_400_000,
		rates: DEFAULT_RATES,
	};
}
