/**
 * Admin endpoints for webhooks to the shop's systems: register an endpoint
 * (its secret is generated and shown to admins), list, delete, and the
 * attempts made to one endpoint, newest first.
 */
import { z } from "zod";
import { fail } from "../http/errors";
import { reply, route } from "../http/route";
import { log } from "../shared/log";
import { Limit } from "../shared/schema";
import { eventDatabases } from "../events/stores";
import { decodeCursor, deliveryPage, isCursorShaped } from "./deliveryPages";
import { forgetEndpoints } from "./endpoints";
import { deleteEndpoint, deleteEndpointRecords, endpointView, getEndpoint, insertEndpoint, listEndpoints } from "./queries";
import { CreateEndpointBody, DeliveryPage, Endpoint, EndpointList, EndpointParams } from "./schema";
import { syncStockListeners } from "./listeners";
import { newSecret, newWebhookId } from "./signing";
import { allowsHttpLocalhost, urlProblem } from "./url";

const DeliveriesQuery = z.object({
	limit: Limit(100, 20),
	cursor: z.string().min(1).max(8192).refine(isCursorShaped, "is not a cursor from a previous page").optional(),
});

async function requireEndpoint(db: D1Database, webhookId: string) {
	const endpoint = await getEndpoint(db, webhookId);
	if (!endpoint) fail("NOT_FOUND", `Webhook ${webhookId} not found.`);
	return endpoint;
}

export const webhookRoutes = [
	route({
		method: "post",
		path: "/admin/webhooks",
		tag: "webhooks",
		summary: "Register an endpoint of the shop's systems for signed event deliveries (the secret is generated)",
		access: "admin",
		body: CreateEndpointBody,
		responses: { 201: { description: "The endpoint with its whsec_ secret", schema: Endpoint } },
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, body }) => {
			const problem = urlProblem(body.url, allowsHttpLocalhost(env));
			if (problem) fail("VALIDATION_ERROR", `Invalid request body: url ${problem}.`, [{ field: "url", message: problem }]);
			const endpoint = {
				webhook_id: newWebhookId(),
				url: body.url,
				events: body.events,
				description: body.description ?? null,
				secret: newSecret(),
				active: true,
				created_at: new Date().toISOString(),
				failing_since: null,
				disabled_at: null,
			};
			await insertEndpoint(env.DB, endpoint);
			forgetEndpoints();
			// The endpoint is stored either way; a warehouse not told now is told by the next reconciler run.
			if (endpoint.events.includes("stock.changed")) await syncStockListeners(env).catch((err) => log.warn("[webhooks]", "stock_changed_listening_failed", { error: String(err) }));
			return reply(endpointView(endpoint), 201);
		},
	}),
	route({
		method: "get",
		path: "/admin/webhooks",
		tag: "webhooks",
		summary: "Every registered endpoint, with its secret (admins only)",
		access: "admin",
		responses: { 200: { description: "The endpoints, oldest first", schema: EndpointList } },
		handler: async ({ env }) => reply({ webhooks: (await listEndpoints(env.DB)).map(endpointView) }),
	}),
	route({
		method: "delete",
		path: "/admin/webhooks/:webhook_id",
		tag: "webhooks",
		summary: "Delete an endpoint: nothing more is sent to it, and its delivery history goes with it",
		access: "admin",
		params: EndpointParams,
		responses: { 204: { description: "Deleted" } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params }) => {
			if (!(await deleteEndpoint(env.DB, params.webhook_id))) fail("NOT_FOUND", `Webhook ${params.webhook_id} not found.`);
			forgetEndpoints();
			// Its messages and attempts, wherever their events live; any another isolate stores in the next seconds are pruned.
			await Promise.all((await eventDatabases(env)).map((db) => deleteEndpointRecords(db, params.webhook_id)));
			await syncStockListeners(env).catch((err) => log.warn("[webhooks]", "stock_changed_listening_failed", { error: String(err) }));
			return reply(null, 204);
		},
	}),
	route({
		method: "get",
		path: "/admin/webhooks/:webhook_id/deliveries",
		tag: "webhooks",
		summary: "Every delivery attempt to an endpoint, newest first",
		access: "admin",
		params: EndpointParams,
		query: DeliveriesQuery,
		responses: { 200: { description: "A page of attempts; pass next_cursor as ?cursor= for the next", schema: DeliveryPage } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params, query }) => {
			const positions = query.cursor ? decodeCursor(query.cursor, (await eventDatabases(env)).length) : null;
			// Shaped like a cursor but naming another number of databases: not one of this deployment's pages.
			if (query.cursor && !positions) fail("VALIDATION_ERROR", "Invalid request query: check query.cursor.", [{ field: "query.cursor", message: "is not a cursor from a previous page" }]);
			await requireEndpoint(env.DB, params.webhook_id);
			return reply(await deliveryPage(env, params.webhook_id, positions, query.limit));
		},
	}),
];
