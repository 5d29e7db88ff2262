/**
 * The served /openapi.json must be usable on its own by generators and linters:
 * every $ref points inside the document, every operation says how it is
 * authenticated (public ones with `security: []`), and it names a server.
 */
import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

type Json = unknown;

/** Every `$ref` in the document with the JSON path where it sits. */
function refsOf(node: Json, at = "#"): Array<{ at: string; ref: string }> {
	if (Array.isArray(node)) return node.flatMap((v, i) => refsOf(v, `${at}/${i}`));
	if (!node || typeof node !== "object") return [];
	return Object.entries(node).flatMap(([k, v]) =>
		k === "$ref" && typeof v === "string" ? [{ at, ref: v }] : refsOf(v, `${at}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`),
	);
}

/** Resolves a local JSON pointer (`#/a/b`); undefined when any step is missing. */
function resolve(doc: Json, ref: string): Json {
	if (!ref.startsWith("#/")) return undefined;
	let node: Json = doc;
	for (const raw of ref.slice(2).split("/")) {
		const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
		if (!node || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
		node = (node as Record<string, Json>)[key];
	}
	return node;
}

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
		expect(refs.filter((r) => resolve(doc, r.ref) === undefined)).toEqual([]);
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
