import { env } from "cloudflare:workers";
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { createApp } from "../../src/http/app";
import { routes } from "../../src/routes";
import { admin, call } from "../helpers/http";

const app = createApp(routes);
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

async function post(body: unknown, overrides: Partial<Env>) {
	const res = await app.fetch(
		new Request("https://stockgate.test/demo/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
		{ ...(env as Env), ...overrides },
		ctx,
	);
	return { status: res.status, body: (await res.json()) as any };
}

describe("POST /demo/tokens (local development only)", () => {
	it("is 404 without DEMO_TOKENS, also for a bad body", async () => {
		const res = await call("POST", "/demo/tokens", { body: { user_ids: ["demo-alice"] } });
		expect(res.status).toBe(404);
		expect(res.body.code).toBe("NOT_FOUND");
		expect((await post({ nonsense: true }, {})).status).toBe(404);
		expect((await post({ user_ids: ["demo-alice"] }, { DEMO_TOKENS: "false" })).status).toBe(404);
	});

	it("is 404 when tokens come from a JWKS, even with DEMO_TOKENS", async () => {
		expect((await post({ user_ids: ["demo-alice"] }, { DEMO_TOKENS: "true", JWT_JWKS_URL: "https://keys.example/jwks.json" })).status).toBe(404);
	});

	it("mints customer tokens (never admin) that the API accepts", async () => {
		const res = await post({ user_ids: ["demo-alice", "race-1", "demo-alice"] }, { DEMO_TOKENS: "true" });
		expect(res.status).toBe(200);
		expect(res.body.tokens.map((t: any) => t.user_id)).toEqual(["demo-alice", "race-1"]);
		const { payload } = await jwtVerify(res.body.tokens[0].token, new TextEncoder().encode(env.JWT_SECRET!));
		expect(payload.sub).toBe("demo-alice");
		expect(payload.role).toBeUndefined();
		const cart = await call("GET", "/cart", { auth: res.body.tokens[0].token });
		expect(cart.status).toBe(200);
		const adminOnly = await call("GET", "/admin/warehouses", { auth: res.body.tokens[0].token });
		expect(adminOnly.status).toBe(403);
	});

	it("refuses user ids outside demo-/race- and more than 500 at once", async () => {
		const bad = await post({ user_ids: ["admin-1"] }, { DEMO_TOKENS: "true" });
		expect(bad.status).toBe(400);
		expect(bad.body.code).toBe("VALIDATION_ERROR");
		const many = await post({ user_ids: Array.from({ length: 501 }, (_, i) => `race-${i}`) }, { DEMO_TOKENS: "true" });
		expect(many.status).toBe(400);
	});
});

describe("admin reads for the console", () => {
	it("GET /admin/products lists inactive products too; the stock view has the open holds", async () => {
		const token = await admin();
		const id = `p-${crypto.randomUUID().slice(0, 8)}`;
		await call("PUT", `/admin/products/${id}`, { auth: token, body: { name: "Hidden", price: 1, sizes: ["M"], active: false } });
		const list = await call("GET", "/admin/products", { auth: token });
		expect(list.status).toBe(200);
		expect(list.body.products.find((p: any) => p.product_id === id)).toMatchObject({ active: false });
		const wh = `wh-${crypto.randomUUID().slice(0, 8)}`;
		await call("PUT", `/admin/warehouses/${wh}`, { auth: token, body: { name: "W", postal_code: "10001", region: "NY", country: "US" } });
		const stock = await call("GET", `/admin/warehouses/${wh}/stock`, { auth: token });
		expect(stock.body.holds).toEqual({ held: 0, next_expiry: null });
	});
});
