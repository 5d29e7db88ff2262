/**
 * The OpenAPI 3.1 document, generated from the route list and the zod schemas
 * that validate requests (zod 4's JSON Schema output is draft 2020-12, which is
 * what OpenAPI 3.1 uses). Schemas carrying `.meta({ id })` become components.
 */
import { z } from "zod";
import type { RouteDef } from "./route";
import { statusOf } from "./errors";
import { ErrorBody } from "../shared/schema";

type JsonSchema = Record<string, unknown>;

function toOpenApiPath(path: string): string {
	return path.replace(/:(\w+)/g, "{$1}");
}

interface Collector {
	schema(s: z.ZodType, io: "input" | "output"): JsonSchema;
	components: Record<string, JsonSchema>;
}

function collector(): Collector {
	const components: Record<string, JsonSchema> = {};
	return {
		components,
		schema(s, io) {
			const out = z.toJSONSchema(s, {
				target: "draft-2020-12",
				io,
				unrepresentable: "any",
				reused: "inline",
				override: (ctx) => {
					delete (ctx.jsonSchema as JsonSchema).$schema;
				},
			}) as JsonSchema & { $defs?: Record<string, JsonSchema> };
			const { $defs, ...rest } = out;
			delete rest.$schema;
			for (const [name, def] of Object.entries($defs ?? {})) components[name] = def;
			// Point local refs at components.
			return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
		},
	};
}

function parametersOf(c: Collector, def: RouteDef): unknown[] {
	const out: unknown[] = [];
	const add = (schema: z.ZodType | undefined, where: "path" | "query") => {
		if (!schema) return;
		const json = c.schema(schema, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
		for (const [name, s] of Object.entries(json.properties ?? {})) {
			out.push({ name, in: where, required: where === "path" || (json.required ?? []).includes(name), schema: s });
		}
	};
	add(def.params, "path");
	add(def.query, "query");
	for (const [name, h] of Object.entries(def.headers ?? {})) {
		out.push({ name, in: "header", required: h.required ?? false, description: h.description, schema: { type: "string" } });
	}
	return out;
}

export function buildOpenApi(routes: RouteDef[], serverUrl?: string): Record<string, unknown> {
	const c = collector();
	const errorRef = c.schema(ErrorBody, "output");
	const paths: Record<string, Record<string, unknown>> = {};
	for (const def of routes) {
		const responses: Record<string, unknown> = {};
		for (const [status, r] of Object.entries(def.responses)) {
			responses[status] = r.schema
				? { description: r.description, content: { "application/json": { schema: c.schema(r.schema, "output") } } }
				: { description: r.description };
		}
		const codes = new Set(def.errors ?? []);
		if (def.access !== "public") codes.add("UNAUTHORIZED");
		if (def.access === "admin") codes.add("FORBIDDEN");
		if (def.body) ["INVALID_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "VALIDATION_ERROR"].forEach((x) => codes.add(x as never));
		const byStatus = new Map<number, string[]>();
		for (const code of codes) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
		for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
			responses[String(status)] = {
				description: `Error: ${list.join(", ")}`,
				content: { "application/json": { schema: errorRef } },
			};
		}
		const op: Record<string, unknown> = {
			operationId: `${def.method}${toOpenApiPath(def.path).replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
			summary: def.summary,
			tags: [def.tag],
			parameters: parametersOf(c, def),
			responses,
		};
		if (def.access !== "public") op.security = [{ bearerAuth: [] }];
		if (def.body) {
			op.requestBody = { required: true, content: { "application/json": { schema: c.schema(def.body, "input") } } };
		}
		(paths[toOpenApiPath(def.path)] ??= {})[def.method] = op;
	}
	return {
		openapi: "3.1.0",
		info: {
			title: "stockgate",
			version: "0.1.0",
			description:
				"Order placement and stock coordination on Cloudflare Workers. Every error answer has the body { error, code, details? }.",
		},
		...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
		paths,
		components: {
			schemas: c.components,
			securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
		},
	};
}

const escape = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

/** A self-contained docs page (no CDN: it works offline and under `wrangler dev`). */
export function renderDocs(doc: Record<string, unknown>): string {
	const paths = doc.paths as Record<string, Record<string, { summary: string; security?: unknown; requestBody?: unknown; responses: Record<string, unknown>; parameters: unknown[] }>>;
	const rows = Object.entries(paths)
		.flatMap(([path, ops]) =>
			Object.entries(ops).map(([method, op]) => {
				const auth = op.security ? "bearer token" : "public";
				const detail = JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2);
				return `<details><summary><code class="m ${method}">${method.toUpperCase()}</code> <code>${escape(path)}</code> — ${escape(op.summary)} <small>(${auth})</small></summary><pre>${escape(detail)}</pre></details>`;
			}),
		)
		.join("\n");
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stockgate API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem}details{border-bottom:1px solid #ddd;padding:.4rem 0}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:12px}.m{display:inline-block;min-width:4.5em;font-weight:bold}
.get{color:#0a7}.post{color:#06c}.put{color:#a60}.delete{color:#c22}</style></head><body>
<h1>stockgate API</h1><p>Machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors always have the body
<code>{ "error": string, "code": string, "details"?: any }</code>. Authenticated endpoints take <code>Authorization: Bearer &lt;JWT&gt;</code>.</p>
${rows}</body></html>`;
}
