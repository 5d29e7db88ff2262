/**
 * Operational endpoints: health, the OpenAPI document and its docs page. The
 * document is built once per isolate from the same route list the router uses.
 */
import { z } from "zod";
import { buildOpenApi, renderDocs } from "../http/openapi";
import { reply, route, type RouteDef } from "../http/route";

export function opsRoutes(all: () => RouteDef[]): RouteDef[] {
	let doc: Record<string, unknown> | undefined;
	const document = () => (doc ??= buildOpenApi(all()));
	return [
		route({
			method: "get",
			path: "/health",
			tag: "ops",
			summary: "Liveness",
			access: "public",
			responses: { 200: { description: "The Worker is up", schema: z.object({ ok: z.literal(true) }) } },
			handler: () => reply({ ok: true }),
		}),
		route({
			method: "get",
			path: "/openapi.json",
			tag: "ops",
			summary: "This API as an OpenAPI 3.1 document",
			access: "public",
			responses: { 200: { description: "OpenAPI 3.1 document" } },
			handler: () => reply(document()),
		}),
		route({
			method: "get",
			path: "/docs",
			tag: "ops",
			summary: "Human-readable API reference",
			access: "public",
			responses: { 200: { description: "HTML page" } },
			handler: () => new Response(renderDocs(document()), { headers: { "content-type": "text/html; charset=utf-8" } }),
		}),
	];
}
