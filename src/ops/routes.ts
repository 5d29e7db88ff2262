/**
 * Operational endpoints: health and the OpenAPI document, built once per
 * isolate from the same route list the router uses. The human reference at
 * /docs is a static page (web/docs/, Scalar) that renders this document.
 */
import { z } from "zod";
import { buildOpenApi } from "../http/openapi";
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
	];
}
