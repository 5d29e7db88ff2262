// The contract's conventions, shared by every endpoint: error body, JSON-only
// bodies, size limit, auth, CORS, request ids.
import { describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { admin, call, seedCatalog } from "../helpers/http";

function expectErrorBody(body: any, code: string) {
	expect(body).toEqual(expect.objectContaining({ code, error: expect.any(String) }));
	expect(body.error.length).toBeGreaterThan(0);
}

describe("error bodies and input rules", () => {
	it("unknown route is 404 NOT_FOUND with the contract body", async () => {
		const r = await call("GET", "/nope");
		expect(r.status).toBe(404);
		expectErrorBody(r.body, "NOT_FOUND");
	});

	it("a known path with the wrong method is 405", async () => {
		const r = await call("DELETE", "/products");
		expect(r.status).toBe(405);
		expectErrorBody(r.body, "METHOD_NOT_ALLOWED");
	});

	it("a 405 names the methods the path serves in Allow", async () => {
		for (const [method, path, allow] of [
			["DELETE", "/products", "GET"],
			["PATCH", "/admin/webhooks", "GET, POST"],
			["POST", "/cart/items/p1/M", "DELETE, PUT"],
			["PUT", "/orders/o1/cancel", "POST"],
		] as const) {
			const r = await call(method, path);
			expect(r.status, `${method} ${path}`).toBe(405);
			expect(r.headers.get("allow"), `${method} ${path}`).toBe(allow);
		}
	});

	it("a 404 carries no Allow", async () => {
		const r = await call("PATCH", "/nope");
		expect(r.status).toBe(404);
		expect(r.headers.get("allow")).toBeNull();
	});

	it("malformed JSON is 400 INVALID_JSON", async () => {
		const r = await call("PUT", "/admin/products/p1", { auth: await admin(), raw: "{not json", headers: { "content-type": "application/json" } });
		expect(r.status).toBe(400);
		expectErrorBody(r.body, "INVALID_JSON");
	});

	it("a non-JSON body is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
		const r = await call("PUT", "/admin/products/p1", { auth: await admin(), raw: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
		expect(r.status).toBe(415);
		expectErrorBody(r.body, "UNSUPPORTED_MEDIA_TYPE");
	});

	it("a body over 64 KiB is 413 PAYLOAD_TOO_LARGE", async () => {
		const big = JSON.stringify({ name: "x".repeat(70 * 1024), price: 1, sizes: ["S"] });
		const r = await call("PUT", "/admin/products/p1", { auth: await admin(), raw: big, headers: { "content-type": "application/json" } });
		expect(r.status).toBe(413);
		expectErrorBody(r.body, "PAYLOAD_TOO_LARGE");
	});

	it("validation errors list every offending field in details", async () => {
		const r = await call("PUT", "/admin/products/p1", { auth: await admin(), body: { name: "", price: 1.234, sizes: "S" } });
		expect(r.status).toBe(400);
		expectErrorBody(r.body, "VALIDATION_ERROR");
		const fields = r.body.details.map((d: { field: string }) => d.field);
		expect(fields).toEqual(expect.arrayContaining(["name", "price", "sizes"]));
	});

	it("an invalid id in the path is 400 VALIDATION_ERROR", async () => {
		const r = await call("GET", `/products/${"x".repeat(65)}`);
		expect(r.status).toBe(400);
		expectErrorBody(r.body, "VALIDATION_ERROR");
		expect(r.body.details[0].field).toBe("path.product_id");
	});

	it("a JSON array where an object is expected is a validation error, not a 500", async () => {
		const r = await call("POST", "/api/stock/deduct", { auth: await admin(), body: [1, 2, 3] });
		expect(r.status).toBe(400);
		expectErrorBody(r.body, "VALIDATION_ERROR");
	});
});

describe("auth", () => {
	it("no token is 401 UNAUTHORIZED", async () => {
		const r = await call("GET", "/admin/warehouses");
		expect(r.status).toBe(401);
		expectErrorBody(r.body, "UNAUTHORIZED");
	});

	it("a token signed with another secret is 401", async () => {
		const r = await call("GET", "/admin/warehouses", { auth: await token("x", { admin: true, secret: "wrong-secret" }) });
		expect(r.status).toBe(401);
		expectErrorBody(r.body, "UNAUTHORIZED");
	});

	it("an expired token is 401", async () => {
		const r = await call("GET", "/admin/warehouses", { auth: await token("x", { admin: true, expiresIn: "-1m" }) });
		expect(r.status).toBe(401);
	});

	it("a garbage bearer value is 401", async () => {
		const r = await call("GET", "/admin/warehouses", { auth: "not.a.jwt" });
		expect(r.status).toBe(401);
	});

	it("a customer token on an admin endpoint is 403 FORBIDDEN", async () => {
		const r = await call("GET", "/admin/warehouses", { auth: await token("alice") });
		expect(r.status).toBe(403);
		expectErrorBody(r.body, "FORBIDDEN");
	});

	it("roles: ['admin'] also grants admin", async () => {
		const { SignJWT } = await import("jose");
		const { env } = await import("cloudflare:workers");
		const jwt = await new SignJWT({ roles: ["staff", "admin"] })
			.setProtectedHeader({ alg: "HS256" })
			.setSubject("bob")
			.setExpirationTime("1h")
			.sign(new TextEncoder().encode(env.JWT_SECRET!));
		const r = await call("GET", "/admin/warehouses", { auth: jwt });
		expect(r.status).toBe(200);
	});

	it("a token without exp is refused", async () => {
		const { SignJWT } = await import("jose");
		const { env } = await import("cloudflare:workers");
		const jwt = await new SignJWT({ role: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("eve").sign(new TextEncoder().encode(env.JWT_SECRET!));
		const r = await call("GET", "/admin/warehouses", { auth: jwt });
		expect(r.status).toBe(401);
	});
});

describe("CORS and request ids", () => {
	it("reflects a configured origin with credentials, never *", async () => {
		const r = await call("GET", "/health", { headers: { origin: "https://shop.example" } });
		expect(r.headers.get("access-control-allow-origin")).toBe("https://shop.example");
		expect(r.headers.get("access-control-allow-credentials")).toBe("true");
	});

	it("does not allow an unknown origin", async () => {
		const r = await call("GET", "/health", { headers: { origin: "https://evil.example" } });
		expect(r.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("answers a preflight for a configured origin", async () => {
		const r = await call("OPTIONS", "/cart/place-order", {
			headers: { origin: "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
		});
		expect(r.status).toBe(204);
		expect(r.headers.get("access-control-allow-origin")).toBe("https://shop.example");
		expect(r.headers.get("access-control-allow-headers")).toMatch(/Idempotency-Key/);
	});

	it("keeps a caller's request id and sets one on errors too", async () => {
		const r = await call("GET", "/nope", { headers: { "x-request-id": "trace-12345678" } });
		expect(r.headers.get("x-request-id")).toBe("trace-12345678");
	});
});

describe("OpenAPI", () => {
	it("documents every served route with its schemas", async () => {
		await seedCatalog();
		const r = await call("GET", "/openapi.json");
		expect(r.status).toBe(200);
		expect(r.body.openapi).toBe("3.1.0");
		const paths = r.body.paths;
		for (const [p, m] of [
			["/health", "get"],
			["/products", "get"],
			["/products/{product_id}", "get"],
			["/admin/products/{product_id}", "put"],
			["/admin/warehouses/{warehouse_id}", "put"],
			["/admin/warehouses", "get"],
			["/admin/warehouses/{warehouse_id}/stock", "get"],
			["/admin/warehouses/{warehouse_id}/stock", "put"],
			["/admin/warehouses/{warehouse_id}/stock/adjust", "post"],
			["/admin/warehouses/{warehouse_id}/ledger", "get"],
			["/api/stock/deduct", "post"],
			["/api/stock/restore", "post"],
		] as const) {
			expect(paths[p]?.[m], `${m} ${p}`).toBeDefined();
		}
		const deduct = paths["/api/stock/deduct"].post;
		expect(deduct.requestBody.content["application/json"].schema.required).toEqual(expect.arrayContaining(["warehouse_id", "product_id", "size", "quantity"]));
		expect(deduct.responses["409"].content["application/json"].schema.$ref).toBe("#/components/schemas/Error");
		expect(r.body.components.schemas.Error.required).toEqual(expect.arrayContaining(["error", "code"]));
	});
});
