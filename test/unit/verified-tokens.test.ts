/**
 * The isolate's memory of verified tokens (src/http/verifiedTokens.ts): a hit
 * only for the same token under the same settings, never past the token's time
 * claims (with the same tolerance as a full check) or the entry's maximum age,
 * and bounded in size.
 */
import { describe, expect, it } from "vitest";
import { JWKS_CACHE_MAX_AGE_MS, KEY_REMOVAL_BOUND_MS } from "../../src/http/auth";
import { MAX_AGE_MS, VerifiedTokens } from "../../src/http/verifiedTokens";

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const s = (ms: number) => Math.floor(ms / 1000);

describe("verified tokens", () => {
	it("answers the payload for the same token and settings, and nothing for another token or settings", () => {
		const v = new VerifiedTokens(30);
		const payload = { sub: "u1", exp: s(T0) + 3600 };
		v.put("tok-a", "settings-1", payload, T0);
		expect(v.get("tok-a", "settings-1", T0 + 1000)).toEqual(payload);
		expect(v.get("tok-b", "settings-1", T0 + 1000)).toBeUndefined();
		// A new secret (or issuer, audience, key set) is a miss, and the entry is dropped.
		expect(v.get("tok-a", "settings-2", T0 + 1000)).toBeUndefined();
		expect(v.get("tok-a", "settings-1", T0 + 1000)).toBeUndefined();
	});

	it("never outlives exp, with the tolerance a full verification allows", () => {
		const v = new VerifiedTokens(30);
		const exp = s(T0) + 60;
		v.put("tok", "x", { sub: "u", exp }, T0);
		expect(v.get("tok", "x", (exp + 29) * 1000)).toBeDefined();
		expect(v.get("tok", "x", (exp + 30) * 1000)).toBeUndefined();
	});

	it("is refused for a token not yet valid or issued in the future beyond the tolerance", () => {
		const v = new VerifiedTokens(30);
		v.put("nbf", "x", { sub: "u", exp: s(T0) + 3600, nbf: s(T0) + 31 }, T0);
		expect(v.get("nbf", "x", T0)).toBeUndefined();
		v.put("iat", "x", { sub: "u", exp: s(T0) + 3600, iat: s(T0) + 31 }, T0);
		expect(v.get("iat", "x", T0)).toBeUndefined();
	});

	it("lapses after its maximum age even while the token is valid", () => {
		const v = new VerifiedTokens(30, 100, 5 * 60_000);
		v.put("tok", "x", { sub: "u", exp: s(T0) + 86_400 }, T0);
		expect(v.get("tok", "x", T0 + 5 * 60_000 - 1)).toBeDefined();
		expect(v.get("tok", "x", T0 + 5 * 60_000)).toBeUndefined();
	});

	it("the key-set cache and the token memory together stay within 5 minutes", () => {
		expect(JWKS_CACHE_MAX_AGE_MS + MAX_AGE_MS).toBe(KEY_REMOVAL_BOUND_MS);
		expect(KEY_REMOVAL_BOUND_MS).toBeLessThanOrEqual(5 * 60_000);
	});

	it("keeps at most its bound, dropping the oldest first", () => {
		const v = new VerifiedTokens(30, 3);
		for (const t of ["a", "b", "c", "d"]) v.put(t, "x", { sub: t, exp: s(T0) + 3600 }, T0);
		expect(v.size).toBe(3);
		expect(v.get("a", "x", T0)).toBeUndefined();
		expect(v.get("d", "x", T0)?.sub).toBe("d");
	});
});
