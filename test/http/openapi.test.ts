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
		// A product's request form may leave out its defaulted fields; the response form always has them.
		const body = doc.paths["/admin/products/{product_id}"].put.requestBody.content["application/json"].schema;
		expect(resolve(doc, "#/components/schemas/Product/required")).toEqual(expect.arrayContaining(["active", "components"]));
		expect(JSON.stringify(body)).not.toContain('"required":["name","price","sizes","active"');
		// Address is the same both ways (every field closed, no defaults): one component.
		expect(doc.paths["/cart/address"].put.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/Address");
		expect(doc.components.schemas.AddressInput).toBeUndefined();
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

type Schema = Record<string, any>;

/** Every object schema reachable from `schema` (refs followed once each), with its path. */
function objectsIn(doc: Schema, schema: Schema, at: string, seen = new Set<string>()): Array<{ at: string; schema: Schema }> {
	if (!schema || typeof schema !== "object") return [];
	if (typeof schema.$ref === "string") {
		if (seen.has(schema.$ref)) return [];
		seen.add(schema.$ref);
		return objectsIn(doc, resolve(doc, schema.$ref) as Schema, schema.$ref, seen);
	}
	const out = schema.type === "object" ? [{ at, schema }] : [];
	for (const [k, v] of Object.entries(schema)) {
		if (k === "properties") for (const [name, p] of Object.entries(v as Schema)) out.push(...objectsIn(doc, p as Schema, `${at}.${name}`, seen));
		else if (v && typeof v === "object") out.push(...objectsIn(doc, v as Schema, `${at}/${k}`, seen));
	}
	return out;
}

function operations(doc: Schema): Array<{ op: string; operation: Schema }> {
	return Object.entries(doc.paths as Schema).flatMap(([path, methods]) => Object.entries(methods as Schema).map(([method, operation]) => ({ op: `${method} ${path}`, operation: operation as Schema })));
}

const bodyOf = (doc: Schema, op: string) => operations(doc).find((o) => o.op === op)!.operation.requestBody;
const bodySchema = (doc: Schema, op: string): Schema => {
	const s = bodyOf(doc, op).content["application/json"].schema;
	return s.$ref ? (resolve(doc, s.$ref) as Schema) : s;
};

describe("/openapi.json says what the API enforces", () => {
	it("closes every request body object (additionalProperties: false) but the payment provider's events", async () => {
		const doc = await servedDocument();
		const open: string[] = [];
		let bodies = 0;
		for (const { op, operation } of operations(doc)) {
			if (!operation.requestBody) continue;
			bodies++;
			for (const o of objectsIn(doc, operation.requestBody.content["application/json"].schema, op)) {
				const closed = o.schema.additionalProperties === false;
				if (op === "post /payments/webhook" ? closed : !closed) open.push(o.at);
			}
		}
		expect(bodies).toBeGreaterThanOrEqual(17);
		expect(open).toEqual([]);
	});

	it("marks a body required only where the API refuses a request without one", async () => {
		const doc = await servedDocument();
		expect(bodyOf(doc, "post /cart/place-order").required).toBe(false);
		expect(bodyOf(doc, "post /orders/{order_id}/cancel").required).toBe(false);
		expect(bodyOf(doc, "post /cart/items").required).toBe(true);
		expect(bodyOf(doc, "put /admin/products/{product_id}").required).toBe(true);
	});

	it("states the formats and bounds the API checks", async () => {
		const doc = await servedDocument();
		const webhook = bodySchema(doc, "post /admin/webhooks");
		expect(webhook.properties.url).toEqual(expect.objectContaining({ format: "uri", pattern: "^https://" }));
		expect(webhook.properties.events.uniqueItems).toBe(true);
		const product = bodySchema(doc, "put /admin/products/{product_id}");
		expect(product.properties.sizes.uniqueItems).toBe(true);
		expect(product.properties.price.maximum).toBe(10_000_000_000);
		expect(bodySchema(doc, "post /admin/warehouses/{warehouse_id}/stock/adjust").properties.delta.not).toEqual({ const: 0 });
		// Trimmed text: the document refuses what trims to nothing, and patterns leave no blank ends.
		const address = bodySchema(doc, "put /cart/address");
		expect(address.properties.name.pattern).toBe("\\S");
		expect(new RegExp(address.properties.phone.pattern).test("+53-)   ")).toBe(false);
		expect(new RegExp(address.properties.postal_code.pattern).test("   ")).toBe(false);
		for (const op of ["get /orders", "get /admin/orders", "get /admin/transfers", "get /admin/webhooks/{webhook_id}/deliveries"]) {
			const cursor = operations(doc).find((o) => o.op === op)!.operation.parameters.find((p: Schema) => p.name === "cursor");
			expect(cursor.schema.minLength, op).toBe(1);
		}
	});

	it("documents X-Request-Id on every answer and Idempotent-Replayed on place-order's", async () => {
		const doc = await servedDocument();
		const missing: string[] = [];
		for (const { op, operation } of operations(doc)) {
			for (const [status, r] of Object.entries(operation.responses as Schema)) if (!r.headers?.["X-Request-Id"]) missing.push(`${op} ${status}`);
		}
		expect(missing).toEqual([]);
		const place = operations(doc).find((o) => o.op === "post /cart/place-order")!.operation;
		expect(place.responses["201"].headers["Idempotent-Replayed"]).toBeDefined();
		expect(place.responses["409"].headers["Idempotent-Replayed"]).toBeDefined();
	});

	it("says place-order's 201 holds stock at once and commits it within a second by default", async () => {
		const doc = await servedDocument();
		const description = operations(doc).find((o) => o.op === "post /cart/place-order")!.operation.responses["201"].description as string;
		expect(description).toMatch(/held at once/);
		expect(description).toMatch(/within about a second/);
	});
});
