/**
 * The served /openapi.json must be usable on its own by generators and linters:
 * every $ref points inside the document, every operation says how it is
 * authenticated (public ones with `security: []`), and it names a server.
 */
import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";
import { danglingRefs, refsOf, resolve } from "../helpers/openapi";

async function servedDocument() {
	const r = await call("GET", "/openapi.json");
	expect(r.status).toBe(200);
	return r.body;
}

describe("/openapi.json is self-contained", () => {
	it("resolves every $ref inside the document", async () => {
		const doc = await servedDocument();
		const refs = refsOf(doc);
		// The document has nested components (Order -> Address): the walk must see them.
		expect(refs.length).toBeGreaterThan(20);
		expect(danglingRefs(doc)).toEqual([]);
		expect(JSON.stringify(doc)).not.toContain("$defs");
	});

	it("keeps nested components as references to components", async () => {
		const doc = await servedDocument();
		const schemas = doc.components.schemas;
		expect(schemas.OrderWithHistory.properties.address.$ref).toBe("#/components/schemas/Address");
		expect(resolve(doc, "#/components/schemas/Order/properties/address/$ref")).toBe("#/components/schemas/Address");
	});

	it("gives a component's request and response shapes separate names when they differ", async () => {
		const doc = await servedDocument();
		// A response Address is closed (additionalProperties: false); the request body is not.
		const body = doc.paths["/cart/address"].put.requestBody.content["application/json"].schema;
		const bodySchema = resolve(doc, body.$ref) as { additionalProperties?: unknown };
		expect(body.$ref).toBe("#/components/schemas/AddressInput");
		expect(bodySchema.additionalProperties).toBeUndefined();
		expect(doc.components.schemas.Address.additionalProperties).toBe(false);
	});

	it("states the security of every operation and names a server", async () => {
		const doc = await servedDocument();
		const ops = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>).flatMap(([path, methods]) =>
			Object.entries(methods).map(([method, op]) => ({ op: `${method} ${path}`, security: op.security })),
		);
		expect(ops.filter((o) => !Array.isArray(o.security))).toEqual([]);
		expect(ops.find((o) => o.op === "get /health")?.security).toEqual([]);
		expect(ops.find((o) => o.op === "get /orders")?.security).toEqual([{ bearerAuth: [] }]);
		expect(doc.servers?.length).toBeGreaterThan(0);
	});
});
