/**
 * stockgate's entry: the HTTP app built from the route list, the cron-driven
 * reconciler, and the Warehouse Durable Object class.
 */
import type { Env } from "./env";
import { createApp } from "./http/app";
import { reconcile } from "./ops/reconcile";
import { routes } from "./routes";

export { Warehouse } from "./stock/Warehouse";

const app = createApp(routes);

export default {
	fetch: (request, env, ctx) => app.fetch(request, env, ctx),
	scheduled: (controller, env, ctx) => {
		ctx.waitUntil(reconcile(env, controller.scheduledTime));
	},
} satisfies ExportedHandler<Env>;
