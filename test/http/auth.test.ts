// Authentication edges: the JWKS mode (RS256/ES256 against a key set served
// locally, issuer and audience required) and the 30 s clock tolerance on exp,
// nbf and iat in both modes. No test here touches the network: the key set is
// answered by a fetch spy that fails on any other URL.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { call, uid } from "../helpers/http";
import { callWith, jwksToken, serveJwks, signingKey, type SigningKey } from "../helpers/jwks";
import { captureLogs } from "../helpers/orders";

const ISS = "https://issuer.test/";
const AUD = "stockgate-api";

function expectUnauthorized(r: { status: number; body: any }, what: string) {
	expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(401);
	expect(r.body.code, what).toBe("UNAUTHORIZED");
	expect(typeof r.body.error, what).toBe("string");
}

/** An HS256 token with the test secret, its time claims `exp`, `nbf`, `iat` given in seconds from now (null: left out). */
async function hsToken(times: { exp?: number; nbf?: number; iat?: number | null }, admin = true): Promise<string> {
	const now = Math.floor(Date.now() / 1000);
	const jwt = new SignJWT(admin ? { role: "admin" } : {}).setProtectedHeader({ alg: "HS256" }).setSubject(uid("user")).setExpirationTime(now + (times.exp ?? 3600));
	if (times.nbf !== undefined) jwt.setNotBefore(now + times.nbf);
	if (times.iat !== null) jwt.setIssuedAt(now + (times.iat ?? 0));
	return jwt.sign(new TextEncoder().encode(env.JWT_SECRET!));
}

describe("clock tolerance of 30 s (HS256 mode)", () => {
	it("exp up to 30 s past is accepted, beyond that refused", async () => {
		expect((await call("GET", "/admin/warehouses", { auth: await hsToken({ exp: -20 }) })).status).toBe(200);
		expectUnauthorized(await call("GET", "/admin/warehouses", { auth: await hsToken({ exp: -45 }) }), "exp 45 s ago");
	});

	it("nbf up to 30 s ahead is accepted, beyond that refused", async () => {
		expect((await call("GET", "/admin/warehouses", { auth: await hsToken({ nbf: 20 }) })).status).toBe(200);
		expectUnauthorized(await call("GET", "/admin/warehouses", { auth: await hsToken({ nbf: 45 }) }), "nbf 45 s ahead");
	});

	it("iat up to 30 s ahead is accepted; iat in the future beyond that is refused", async () => {
		expect((await call("GET", "/admin/warehouses", { auth: await hsToken({ iat: 20 }) })).status).toBe(200);
		expectUnauthorized(await call("GET", "/admin/warehouses", { auth: await hsToken({ iat: 45 }) }), "iat 45 s ahead");
		expectUnauthorized(await call("GET", "/admin/warehouses", { auth: await hsToken({ iat: 3600 }) }), "iat an hour ahead");
		// A token without iat is still fine (the contract requires only exp).
		expect((await call("GET", "/admin/warehouses", { auth: await hsToken({ iat: null }) })).status).toBe(200);
	});
});

describe("JWKS mode", () => {
	let rs: SigningKey;
	let es: SigningKey;
	let stranger: SigningKey;
	beforeAll(async () => {
		[rs, es, stranger] = await Promise.all([signingKey("RS256"), signingKey("ES256"), signingKey("RS256")]);
	});
	afterEach(() => vi.restoreAllMocks());

	it("a key removed from the set is refused within 5 minutes, counting the key-set cache and the token memory together", async () => {
		const removed = await signingKey("RS256");
		const keys = [removed, es];
		const { url } = serveJwks(keys);
		const settings = { JWT_JWKS_URL: url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD };
		const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
		// The injected clock: jose's cache and the token memory both read Date.now().
		vi.useFakeTimers({ toFake: ["Date"], now: T0 });
		try {
			const at = (ms: number) => vi.setSystemTime(T0 + ms);
			const get = (jwt: string) => callWith(settings, "GET", "/orders", { auth: jwt });
			expect((await get(await jwksToken(removed, { iss: ISS, aud: AUD }))).status).toBe(200);
			keys.splice(0, 1);
			// The worst case: a fresh token verified against the cached set just before it is re-read...
			at(2 * 60_000 - 1);
			const late = await jwksToken(removed, { iss: ISS, aud: AUD });
			expect((await get(late)).status).toBe(200);
			// ...is remembered a little longer, but never 5 minutes after the removal.
			at(5 * 60_000 - 2);
			expect((await get(late)).status).toBe(200);
			at(5 * 60_000);
			expectUnauthorized(await get(late), "remembered token after the bound");
			expectUnauthorized(await get(await jwksToken(removed, { iss: ISS, aud: AUD })), "new token after the bound");
			expect((await get(await jwksToken(es, { iss: ISS, aud: AUD }))).status).toBe(200);
		} finally {
			vi.useRealTimers();
		}
	});

	it("RS256 and ES256 tokens from the key set, with the configured issuer and audience, are accepted (admin role honoured)", async () => {
		const { url, fetched } = serveJwks([rs, es]);
		const settings = { JWT_JWKS_URL: url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD };
		for (const key of [rs, es]) {
			const admin = await jwksToken(key, { iss: ISS, aud: AUD, claims: { role: "admin" } });
			const r = await callWith(settings, "GET", "/admin/warehouses", { auth: admin });
			expect(r.status, `${key.alg}: ${JSON.stringify(r.body)}`).toBe(200);
			const customer = await jwksToken(key, { iss: ISS, aud: [AUD, "other"] });
			expect((await callWith(settings, "GET", "/orders", { auth: customer })).status).toBe(200);
			expect((await callWith(settings, "GET", "/admin/warehouses", { auth: customer })).status).toBe(403);
		}
		expect(new Set(fetched)).toEqual(new Set([url]));
	});

	it("refuses tokens with the wrong issuer or audience, none of them, a key outside the set, or an HS256 token", async () => {
		const { url } = serveJwks([rs, es]);
		const settings = { JWT_JWKS_URL: url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD };
		const cases: Array<[string, string]> = [
			["wrong audience", await jwksToken(rs, { iss: ISS, aud: "another-api", claims: { role: "admin" } })],
			["no audience", await jwksToken(rs, { iss: ISS, claims: { role: "admin" } })],
			["wrong issuer", await jwksToken(es, { iss: "https://evil.test/", aud: AUD, claims: { role: "admin" } })],
			["no issuer", await jwksToken(es, { aud: AUD, claims: { role: "admin" } })],
			["key outside the set, its kid", await jwksToken(stranger, { iss: ISS, aud: AUD, claims: { role: "admin" } })],
			["key outside the set, a known kid", await jwksToken(stranger, { iss: ISS, aud: AUD, claims: { role: "admin" }, header: { kid: rs.kid } })],
			["HS256 with JWT_SECRET", await hsToken({})],
		];
		for (const [what, jwt] of cases) expectUnauthorized(await callWith(settings, "GET", "/admin/warehouses", { auth: jwt }), what);
	});

	it("the 30 s clock tolerance applies to key-set tokens too", async () => {
		const { url } = serveJwks([rs]);
		const settings = { JWT_JWKS_URL: url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD };
		const ok = (spec: Parameters<typeof jwksToken>[1]) => jwksToken(rs, { iss: ISS, aud: AUD, ...spec });
		expect((await callWith(settings, "GET", "/orders", { auth: await ok({ exp: -20 }) })).status).toBe(200);
		expect((await callWith(settings, "GET", "/orders", { auth: await ok({ nbf: 20, iat: 20 }) })).status).toBe(200);
		expectUnauthorized(await callWith(settings, "GET", "/orders", { auth: await ok({ exp: -45 }) }), "exp 45 s ago");
		expectUnauthorized(await callWith(settings, "GET", "/orders", { auth: await ok({ nbf: 45 }) }), "nbf 45 s ahead");
		expectUnauthorized(await callWith(settings, "GET", "/orders", { auth: await ok({ iat: 45 }) }), "iat 45 s ahead");
	});

	for (const [missing, settingsOf] of [
		["JWT_ISSUER and JWT_AUDIENCE", (url: string) => ({ JWT_JWKS_URL: url })],
		["JWT_AUDIENCE", (url: string) => ({ JWT_JWKS_URL: url, JWT_ISSUER: ISS })],
		["JWT_ISSUER", (url: string) => ({ JWT_JWKS_URL: url, JWT_AUDIENCE: AUD })],
	] as const) {
		it(`without ${missing}, every authenticated request is 401 with an error log line naming it, even for a valid key-set token`, async () => {
			const { url } = serveJwks([rs]);
			const logs = captureLogs();
			try {
				const jwt = await jwksToken(rs, { iss: ISS, aud: AUD, claims: { role: "admin" } });
				expectUnauthorized(await callWith(settingsOf(url), "GET", "/admin/warehouses", { auth: jwt }), "admin route");
				expectUnauthorized(await callWith(settingsOf(url), "GET", "/orders", { auth: jwt }), "user route");
				// Public routes are unaffected.
				expect((await callWith(settingsOf(url), "GET", "/health")).status).toBe(200);
				const lines = logs.lines("[auth]").filter((l) => l.level === "error");
				expect(lines.length).toBeGreaterThanOrEqual(2);
				for (const l of lines) {
					expect(l.event).toBe("jwks_settings_missing");
					for (const name of missing.split(" and ")) expect(JSON.stringify(l)).toContain(name);
				}
			} finally {
				logs.stop();
			}
		});
	}
});
