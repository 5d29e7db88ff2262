/**
 * buildOpenApi() over small made-up route lists: named schemas nested in named
 * schemas, the same name used for requests and responses, a name reused by a
 * different schema. The served document's own checks are in test/http/openapi.test.ts.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildOpenApi } from "../../src/http/openapi";
import { reply, route, type RouteDef } from "../../src/http/route";
import { danglingRefs, resolve } from "../helpers/openapi";

// Ids are unique to this file: zod's metadata registry is global.
const Place = z.object({ city: z.string(), zone: z.string().default("A") }).meta({ id: "UnitPlace" });
const Parcel = z.object({ id: z.string(), to: Place, from: Place.nullable() }).meta({ id: "UnitParcel" });
const Tracked = Parcel.extend({ events: z.array(z.object({ at: z.string(), where: Place })) }).meta({ id: "UnitTracked" });
const Note = z.object({ text: z.string().max(10) }).meta({ id: "UnitNote" });

const handler = () => reply({});
const routes: RouteDef[] = [
	route({ method: "get", path: "/ping", tag: "t", summary: "ping", access: "public", responses: { 200: { description: "ok" } }, handler }),
	route({
		method: "get",
		path: "/parcels/:id",
		tag: "t",
		summary: "one parcel",
		access: "user",
		params: z.object({ id: z.string() }),
		responses: { 200: { description: "the parcel", schema: Tracked } },
		errors: ["NOT_FOUND"],
		handler,
	}),
	route({
		method: "put",
		path: "/parcels/:id/to",
		tag: "t",
		summary: "new destination",
		access: "admin",
		params: z.object({ id: z.string() }),
		body: Place,
		responses: { 200: { description: "the parcel", schema: Parcel } },
		handler,
	}),
	route({
		method: "post",
		path: "/notes",
		tag: "t",
		summary: "a note",
		access: "user",
		body: Note,
		responses: { 204: { description: "stored" } },
		handler,
	}),
];

type Doc = {
	servers: Array<{ url: string }>;
	paths: Record<string, Record<string, { security: unknown[]; requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>>;
	components: { schemas: Record<string, Record<string, unknown>> };
};

describe("buildOpenApi", () => {
	const doc = buildOpenApi(routes) as unknown as Doc;

	it("hoists named schemas nested in named schemas into components; every ref resolves", () => {
		expect(danglingRefs(doc)).toEqual([]);
		expect(JSON.stringify(doc)).not.toMatch(/\$defs|x-pending/);
		const s = doc.components.schemas;
		expect(resolve(doc, "#/components/schemas/UnitTracked/properties/to")).toEqual({ $ref: "#/components/schemas/UnitPlace" });
		expect(s.UnitParcel).toBeDefined();
		// An inline (unnamed) object inside a named one stays inline, its refs rewritten too.
		expect(resolve(doc, "#/components/schemas/UnitTracked/properties/events/items/properties/where")).toEqual({ $ref: "#/components/schemas/UnitPlace" });
	});

	it("names the request form <id>Input only when it differs from the response form", () => {
		const s = doc.components.schemas;
		const body = doc.paths["/parcels/{id}/to"]!.put!.requestBody!.content["application/json"]!.schema;
		expect(body.$ref).toBe("#/components/schemas/UnitPlaceInput");
		// Response: the defaulted field is always there. Request: it may be left out.
		expect(s.UnitPlace!.required).toEqual(["city", "zone"]);
		expect(s.UnitPlaceInput!.required).toEqual(["city"]);
		// Only ever a request body: keeps its own name.
		expect(doc.paths["/notes"]!.post!.requestBody!.content["application/json"]!.schema.$ref).toBe("#/components/schemas/UnitNote");
		expect(s.UnitNoteInput).toBeUndefined();
	});

	it("states security on every operation, empty for public ones, and a relative server", () => {
		expect(doc.paths["/ping"]!.get!.security).toEqual([]);
		expect(doc.paths["/parcels/{id}"]!.get!.security).toEqual([{ bearerAuth: [] }]);
		expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
	});

	it("refuses two different schemas carrying the same id", () => {
		const Other = z.object({ city: z.number() }).meta({ id: "UnitPlace" });
		const clash = route({ method: "get", path: "/other", tag: "t", summary: "clash", access: "public", responses: { 200: { description: "x", schema: Other } }, handler });
		expect(() => buildOpenApi([...routes, clash])).toThrow(/two different schemas carry the id UnitPlace/);
	});

	it("marks a request body required only when an empty body is refused", () => {
		const optional = z.strictObject({ reason: z.string().optional() });
		const withOptional = route({ method: "post", path: "/parcels/:id/hold", tag: "t", summary: "hold", access: "user", body: optional, responses: { 200: { description: "held" } }, handler });
		const d = buildOpenApi([...routes, withOptional]) as unknown as { paths: Record<string, Record<string, { requestBody: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> } }>> };
		expect(d.paths["/parcels/{id}/hold"]!.post!.requestBody.required).toBe(false);
		expect(d.paths["/parcels/{id}/hold"]!.post!.requestBody.content["application/json"]!.schema.additionalProperties).toBe(false);
		expect(d.paths["/notes"]!.post!.requestBody.required).toBe(true);
	});

	it("documents X-Request-Id on every answer, errors included, and a route's own answer headers", () => {
		const replayed = route({
			method: "post",
			path: "/labels",
			tag: "t",
			summary: "a label",
			access: "user",
			responseHeaders: { "Label-Replayed": { description: "a replay" } },
			responses: { 201: { description: "made" } },
			handler,
		});
		const d = buildOpenApi([...routes, replayed]) as unknown as { paths: Record<string, Record<string, { responses: Record<string, { headers: Record<string, unknown> }> }>> };
		const labels = d.paths["/labels"]!.post!.responses;
		expect(Object.keys(labels["201"]!.headers)).toEqual(["X-Request-Id", "Label-Replayed"]);
		expect(Object.keys(labels["401"]!.headers)).toEqual(["X-Request-Id", "Label-Replayed"]);
		expect(Object.keys(d.paths["/ping"]!.get!.responses["200"]!.headers)).toEqual(["X-Request-Id"]);
	});

	it("is deterministic: the same routes give the same document", () => {
		expect(JSON.stringify(buildOpenApi(routes))).toBe(JSON.stringify(doc));
	});
});
