/**
 * stockgate's entry: the HTTP app built from the route list, the cron-driven
 * reconciler (and the move of customers between order shards after N grew),
 * the `order-events` queue consumer, and the Warehouse Durable Object class.
 */
import type { Env } from "./env";
import { consume } from "./events/consumer";
import type { StockgateEvent } from "./events/types";
import { createApp } from "./http/app";
import { reconcile } from "./ops/reconcile";
import { rehomePass } from "./ops/rehome";
import { withD1Stats } from "./shared/d1Count";
import { log } from "./shared/log";
import { routes } from "./routes";

export { Warehouse } from "./stock/binding";

const app = createApp(routes);

export default {
	// withD1Stats: env itself unless the bench asked for per-database D1 stats (D1_STATS).
	fetch: (request, env, ctx) => app.fetch(request, withD1Stats(env), ctx),
	scheduled: (controller, rawEnv, ctx) => {
		const env = withD1Stats(rawEnv);
		ctx.waitUntil(reconcile(env, controller.scheduledTime));
		// Customers still to move between order shards after N grew (nothing to do otherwise).
		ctx.waitUntil(rehomePass(env, controller.scheduledTime).catch((err) => log.warn("[rehome]", "run_failed", { error: String(err) })));
	},
	queue: (batch, env) => consume(batch as MessageBatch<StockgateEvent>, withD1Stats(env)),
} satisfies ExportedHandler<Env>;
