/**
 * The OpenAPI 3.1 document, generated from the route list and the zod schemas
 * that validate requests (zod 4's JSON Schema output is draft 2020-12, which is
 * what OpenAPI 3.1 uses). Schemas carrying `.meta({ id })` become components.
 *
 * The document is self-contained: zod puts named schemas under a per-call
 * `$defs`, and every one of them (including those nested inside other named
 * schemas) is hoisted into `components.schemas` with its refs rewritten. A named
 * schema renders differently as a request (defaults optional) and as a
 * response (every field present); when the two differ the request one is published
 * as `<id>Input`. test/http/openapi.test.ts checks every $ref resolves.
 */
import { z } from "zod";
import type { RouteDef } from "./route";
import { statusOf } from "./errors";
import { ErrorBody } from "../shared/schema";

type JsonSchema = Record<string, unknown>;
type Io = "input" | "output";

function toOpenApiPath(path: string): string {
	return path.replace(/:(\w+)/g, "{$1}");
}

// A component's final name is known only once both of its renderings are seen,
// so refs first point at a pending name and are settled in finish().
const PENDING = "#/x-pending/";

/** Deep copy with every `$ref` rewritten by `to` (JSON values only, as zod emits). */
function mapRefs<T>(node: T, to: (ref: string) => string): T {
	if (Array.isArray(node)) return node.map((v) => mapRefs(v, to)) as T;
	if (!node || typeof node !== "object") return node;
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(node)) out[k] = k === "$ref" && typeof v === "string" ? to(v) : mapRefs(v, to);
	return out as T;
}

interface Collector {
	schema(s: z.ZodType, io: Io): JsonSchema;
	/** Settles component names in `doc` and returns `components.schemas`. */
	finish<T>(doc: T): { doc: T; schemas: Record<string, JsonSchema> };
}

function collector(): Collector {
	const named = new Map<string, Partial<Record<Io, string>>>(); // id -> canonical JSON per io
	return {
		schema(s, io) {
			const { $defs, $schema: _, ...root } = z.toJSONSchema(s, {
				target: "draft-2020-12",
				io,
				unrepresentable: "any",
				reused: "inline",
			}) as JsonSchema & { $defs?: Record<string, JsonSchema> };
			const pending = (ref: string) => {
				if (!ref.startsWith("#/$defs/")) throw new Error(`openapi: zod emitted a ref the generator cannot place: ${ref}`);
				return `${PENDING}${io}/${ref.slice("#/$defs/".length)}`;
			};
			for (const [id, def] of Object.entries($defs ?? {})) {
				const json = JSON.stringify(mapRefs(def, pending));
				const seen = named.get(id) ?? {};
				if (seen[io] !== undefined && seen[io] !== json) throw new Error(`openapi: two different schemas carry the id ${id}`);
				named.set(id, { ...seen, [io]: json });
			}
			return mapRefs(root, pending);
		},
		finish(doc) {
			const nameOf = (io: Io, id: string) => {
				const both = named.get(id);
				return io === "input" && both?.output !== undefined && both.output !== both.input ? `${id}Input` : id;
			};
			const settle = <T>(node: T) =>
				mapRefs(node, (ref) => {
					if (!ref.startsWith(PENDING)) return ref;
					const [io, id] = ref.slice(PENDING.length).split("/") as [Io, string];
					return `#/components/schemas/${nameOf(io, id)}`;
				});
			const schemas: Record<string, JsonSchema> = {};
			for (const id of [...named.keys()].sort()) {
				for (const io of ["output", "input"] as const) {
					const json = named.get(id)?.[io];
					if (json !== undefined) schemas[nameOf(io, id)] ??= settle(JSON.parse(json) as JsonSchema);
				}
			}
			return { doc: settle(doc), schemas };
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

/** Every answer carries X-Request-Id (src/http/app.ts), plus the headers the route declares. */
function responseHeaders(def: RouteDef): Record<string, unknown> {
	const all = { "X-Request-Id": { description: "The caller's X-Request-Id when it is 8 to 128 of A-Z, a-z, 0-9, ., _, :, -; otherwise a fresh UUID. Also in the [http] log line" }, ...def.responseHeaders };
	return Object.fromEntries(Object.entries(all).map(([name, h]) => [name, { description: h.description, schema: { type: "string" } }]));
}

/**
 * The document for `routes`. `serverUrl` defaults to "/": the origin that
 * serves the document, so /docs and generated clients call the same Worker.
 */
export function buildOpenApi(routes: RouteDef[], serverUrl = "/"): Record<string, unknown> {
	const c = collector();
	const errorRef = c.schema(ErrorBody, "output");
	const paths: Record<string, Record<string, unknown>> = {};
	for (const def of routes) {
		const responses: Record<string, unknown> = {};
		const headers = responseHeaders(def);
		for (const [status, r] of Object.entries(def.responses)) {
			responses[status] = r.schema
				? { description: r.description, headers, content: { "application/json": { schema: c.schema(r.schema, "output") } } }
				: { description: r.description, headers };
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
				headers,
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
		// Public operations say so explicitly (`[]`): no security is a statement, not an omission.
		op.security = def.access === "public" ? [] : [{ bearerAuth: [] }];
		if (def.body) {
			// A request without a body is validated as `{}` (src/http/app.ts): the body is required only when `{}` is refused.
			op.requestBody = { required: !def.body.safeParse({}).success, content: { "application/json": { schema: c.schema(def.body, "input") } } };
		}
		(paths[toOpenApiPath(def.path)] ??= {})[def.method] = op;
	}
	const { doc: settledPaths, schemas } = c.finish(paths);
	return {
		openapi: "3.1.0",
		info: {
			title: "stockgate",
			version: "0.1.0",
			license: { name: "MIT", identifier: "MIT" },
			description:
				"Order placement and stock coordination on Cloudflare Workers. Every error answer has the body { error, code, details? }.",
		},
		servers: [{ url: serverUrl, description: "The Worker serving this document" }],
		paths: settledPaths,
		components: {
			schemas,
			securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
		},
	};
}
