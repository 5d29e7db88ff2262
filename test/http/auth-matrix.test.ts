// The auth matrix, generated from the route list (src/routes.ts): every
// non-public route is a row, so a route added later is covered without anyone
// writing a test for it. Columns are the ways a request can fail
// authentication (401 UNAUTHORIZED), a customer on an admin route (403
// FORBIDDEN), another user's order (404 NOT_FOUND on routes with :order_id),
// and a control: the right token gets past auth. Auth runs before path, query
// and body validation (src/http/app.ts), so empty bodies are enough: a 400
// here would mean validation ran first.
import { env } from "cloudflare:workers";
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteDef } from "../../src/http/route";
import { routes } from "../../src/routes";
import { token } from "../helpers/auth";
import { admin, call, uid } from "../helpers/http";
import { signingKey } from "../helpers/jwks";
import { customerWithOrder } from "../helpers/orders";
import { makeShop } from "../helpers/shop";

const secret = () => new TextEncoder().encode(env.JWT_SECRET!);
const now = () => Math.floor(Date.now() / 1000);
const claims = (role: "admin" | "customer") => (role === "admin" ? { role: "admin" } : {});

type Column = { name: string; status: number; code: string; applies: (r: RouteDef) => boolean; header: (r: RouteDef) => Promise<Record<string, string>> };
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
// Each 401 column carries the admin role, so a route refusing it can only be refusing the token itself.
const always = () => true;

let otherOrderId: string;
let rsaKey: CryptoKey;

const columns: Column[] = [
	{ name: "no Authorization header", status: 401, code: "UNAUTHORIZED", applies: always, header: async () => ({}) },
	{ name: "malformed header (no Bearer scheme)", status: 401, code: "UNAUTHORIZED", applies: always, header: async () => ({ authorization: `Basic ${btoa("admin:admin")}` }) },
	{ name: "malformed header (Bearer, two values)", status: 401, code: "UNAUTHORIZED", applies: always, header: async () => ({ authorization: `Bearer ${await token("admin-1", { admin: true })} extra` }) },
	{ name: "malformed token (not a JWT)", status: 401, code: "UNAUTHORIZED", applies: always, header: async () => bearer("not.a.jwt") },
	{
		name: "bad signature (another secret)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(await token("admin-1", { admin: true, secret: "some-other-secret" })),
	},
	{
		name: "bad signature (payload changed after signing)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => {
			const [h, , s] = (await token("cust", {})).split(".");
			const forged = btoa(JSON.stringify({ sub: "cust", role: "admin", exp: now() + 3600 })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
			return bearer(`${h}.${forged}.${s}`);
		},
	},
	{
		name: "expired (exp 60 s ago, beyond the 30 s tolerance)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(await new SignJWT(claims("admin")).setProtectedHeader({ alg: "HS256" }).setSubject("admin-1").setIssuedAt(now() - 3600).setExpirationTime(now() - 60).sign(secret())),
	},
	{
		name: "not yet valid (nbf 60 s ahead)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(await new SignJWT(claims("admin")).setProtectedHeader({ alg: "HS256" }).setSubject("admin-1").setNotBefore(now() + 60).setExpirationTime(now() + 3600).sign(secret())),
	},
	{
		name: "alg: none",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(new UnsecuredJWT(claims("admin")).setSubject("admin-1").setIssuedAt().setExpirationTime("1h").encode()),
	},
	{
		name: "wrong algorithm (HS512 with the right secret)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(await new SignJWT(claims("admin")).setProtectedHeader({ alg: "HS512" }).setSubject("admin-1").setIssuedAt().setExpirationTime("1h").sign(secret())),
	},
	{
		name: "wrong algorithm (RS256 where HS256 is expected)",
		status: 401,
		code: "UNAUTHORIZED",
		applies: always,
		header: async () => bearer(await new SignJWT(claims("admin")).setProtectedHeader({ alg: "RS256" }).setSubject("admin-1").setIssuedAt().setExpirationTime("1h").sign(rsaKey)),
	},
	{ name: "customer on an admin route", status: 403, code: "FORBIDDEN", applies: (r) => r.access === "admin", header: async () => bearer(await token(uid("cust"))) },
	{
		name: "another user's order",
		status: 404,
		code: "NOT_FOUND",
		applies: (r) => r.access === "user" && r.path.includes(":order_id"),
		header: async () => bearer(await token(uid("intruder"))),
	},
];

/** The right token gets past auth (whatever the route then answers, it is not 401/403). */
const control = async (r: RouteDef) => bearer(r.access === "admin" ? await admin() : await token(uid("cust")));

function pathOf(r: RouteDef): string {
	return r.path.replace(/:([a-z_]+)/g, (_, name: string) => (name === "order_id" ? otherOrderId : name === "size" ? "M" : uid(name.replace(/_id$/, ""))));
}

const protectedRoutes = routes.filter((r) => r.access !== "public");
const visited = new Map<string, Set<string>>();
let cells = 0;

beforeAll(async () => {
	const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 10 } }] });
	otherOrderId = (await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 1 }])).order.order_id;
	rsaKey = (await signingKey("RS256")).privateKey;
});

describe("auth matrix over every non-public route", () => {
	it("the route list has non-public routes of both kinds and order routes", () => {
		expect(protectedRoutes.filter((r) => r.access === "admin").length).toBeGreaterThan(0);
		expect(protectedRoutes.filter((r) => r.access === "user").length).toBeGreaterThan(0);
		expect(protectedRoutes.filter((r) => r.path.includes(":order_id") && r.access === "user").map((r) => `${r.method} ${r.path}`)).toEqual(
			expect.arrayContaining(["get /orders/:order_id", "post /orders/:order_id/cancel"]),
		);
	});

	for (const r of protectedRoutes) {
		const key = `${r.method.toUpperCase()} ${r.path}`;
		it(`${key} (${r.access})`, async () => {
			const path = pathOf(r);
			const done = new Set<string>();
			const send = async (headers: Record<string, string>) => {
				const body = r.method === "get" || r.method === "delete" ? undefined : "{}";
				return call(r.method.toUpperCase(), path, { headers: { ...headers, ...(body ? { "content-type": "application/json" } : {}) }, raw: body });
			};
			for (const col of columns.filter((c) => c.applies(r))) {
				const res = await send(await col.header(r));
				expect(res.status, `${key} / ${col.name}: ${JSON.stringify(res.body)}`).toBe(col.status);
				expect(res.body, `${key} / ${col.name}`).toMatchObject({ code: col.code, error: expect.any(String) });
				done.add(col.name);
				cells++;
			}
			const ok = await send(await control(r));
			expect([401, 403], `${key} / right token: ${JSON.stringify(ok.body)}`).not.toContain(ok.status);
			expect(ok.status, `${key} / right token`).toBeLessThan(500);
			done.add("right token");
			cells++;
			visited.set(key, done);
		});
	}

	afterAll(() => {
		// Every non-public route was a row, with every column that applies to it: a new route cannot escape.
		const expected = protectedRoutes.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
		expect([...visited.keys()].sort()).toEqual(expected);
		for (const r of protectedRoutes) {
			const want = columns.filter((c) => c.applies(r)).length + 1;
			expect(visited.get(`${r.method.toUpperCase()} ${r.path}`)?.size, `${r.method} ${r.path}`).toBe(want);
		}
		console.info(`auth matrix: ${protectedRoutes.length} routes, ${cells} cells`);
	});
});
