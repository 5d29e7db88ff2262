/**
 * The Worker's bindings, vars and secrets (see wrangler.toml and .dev.vars.example).
 * Vars arrive as strings; src/config.ts turns them into typed settings.
 */
import type { StockgateEvent } from "./events/types";
import type { Warehouse } from "./stock/binding";

export interface Env {
	DB: D1Database;
	WAREHOUSE: DurableObjectNamespace<Warehouse>;
	/** Producer for the `order-events` queue (optional: without it events are only logged). */
	EVENTS?: Queue<StockgateEvent>;
	/** The built pages (dist/); the Worker only runs for paths that are not pages (wrangler.toml [assets]). */
	ASSETS?: Fetcher;
	/** Cloudflare `send_email` binding (optional: without it emails are logged). */
	MAILER?: SendEmail;
	MAIL_FROM?: string;
	CURRENCY?: string;
	TAX_RATE?: string;
	RESERVATION_TTL_SECONDS?: string;
	/** Seconds an order may stay pending and unpaid before the reconciler cancels it (default 1800; 0 never). */
	PAYMENT_WINDOW_SECONDS?: string;
	/** "false": checkout commits before answering instead of after (tests of the synchronous path). */
	COMMIT_AFTER_ANSWER?: string;
	CORS_ORIGINS?: string;
	JWT_SECRET?: string;
	JWT_JWKS_URL?: string;
	JWT_ISSUER?: string;
	JWT_AUDIENCE?: string;
	PAYMENT_WEBHOOK_SECRET?: string;
	/** Stripe, on when both are set: the API key refunds are issued with, and the signing secret of POST /payments/stripe. */
	STRIPE_SECRET_KEY?: string;
	STRIPE_WEBHOOK_SECRET?: string;
	/** Tests and local work only: the Stripe API's base URL (e.g. a fake on http://127.0.0.1:<port>). */
	STRIPE_API_BASE?: string;
	/** "true" only under `npm start`: enables POST /demo/tokens (src/demo/routes.ts). Never set in wrangler.toml. */
	DEMO_TOKENS?: string;
	/** "true" lets webhook endpoints be plain http://localhost or http://127.0.0.1 (local development). */
	WEBHOOK_ALLOW_HTTP_LOCALHOST?: string;
	/** Days finished webhook messages and their attempts are kept (default 7). */
	WEBHOOK_RETENTION_DAYS?: string;
	/** The shard count customers are being moved from after N grew (1: an upgrade from one database); unset once they all have (src/ops/rehome.ts). */
	ORDER_SHARDS_MOVING_FROM?: string;
	/** "on" only in the bench's env files: per-database D1 statements and reported durations in each `[http]` line (src/shared/d1Count.ts). */
	D1_STATS?: string;
}

type StockgateEnv = Env;

declare global {
	namespace Cloudflare {
		interface Env extends StockgateEnv {}
	}
}
