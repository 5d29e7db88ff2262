/**
 * The Stripe client, on when STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are
 * both set. It speaks through fetch (the Workers runtime has no node:http) and
 * never retries by itself: a refund call that fails stays due and the
 * reconciler asks again with the same idempotency key (./issue.ts).
 * STRIPE_API_BASE (tests and local work only) points it at another server.
 */
import Stripe from "stripe";
import type { Env } from "../env";

export interface StripeSettings {
	secretKey: string;
	webhookSecret: string;
	apiBase: string | null;
}

/** Seconds a Stripe-Signature timestamp may be away from now (Stripe's own default). */
export const STRIPE_TOLERANCE_S = 300;
const TIMEOUT_MS = 10_000;

export function stripeSettings(env: Env): StripeSettings | null {
	if (!env.STRIPE_SECRET_KEY || !env.STRIPE_WEBHOOK_SECRET) return null;
	return { secretKey: env.STRIPE_SECRET_KEY, webhookSecret: env.STRIPE_WEBHOOK_SECRET, apiBase: env.STRIPE_API_BASE || null };
}

const clients = new Map<string, Stripe>();

export function stripeClient(settings: StripeSettings): Stripe {
	const key = `${settings.secretKey}|${settings.apiBase ?? ""}`;
	let client = clients.get(key);
	if (!client) {
		const base = settings.apiBase ? new URL(settings.apiBase) : null;
		client = new Stripe(settings.secretKey, {
			httpClient: Stripe.createFetchHttpClient(),
			maxNetworkRetries: 0,
			timeout: TIMEOUT_MS,
			...(base ? { host: base.hostname, port: base.port || (base.protocol === "http:" ? 80 : 443), protocol: base.protocol === "http:" ? ("http" as const) : ("https" as const) } : {}),
		});
		clients.set(key, client);
	}
	return client;
}

const crypto = Stripe.createSubtleCryptoProvider();

export type Verified = { ok: true; event: unknown } | { ok: false; why: "missing" | "invalid" };

/** Checks the Stripe-Signature header over the raw body (HMAC, and the timestamp within STRIPE_TOLERANCE_S) with Stripe's own library. */
export async function verifyStripeEvent(settings: StripeSettings, rawBody: string, header: string | null): Promise<Verified> {
	if (!header) return { ok: false, why: "missing" };
	try {
		const event = await stripeClient(settings).webhooks.constructEventAsync(rawBody, header, settings.webhookSecret, STRIPE_TOLERANCE_S, crypto);
		return { ok: true, event };
	} catch (err) {
		if (err instanceof Stripe.errors.StripeSignatureVerificationError) return { ok: false, why: "invalid" };
		throw err;
	}
}
