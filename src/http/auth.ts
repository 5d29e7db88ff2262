/**
 * Bearer-token authentication per the contract. HS256 with JWT_SECRET by default
 * (issuer and audience checked when configured); RS256/ES256 against JWT_JWKS_URL
 * when it is set, and then JWT_ISSUER and JWT_AUDIENCE are required: without them
 * a key set shared with other services would let any of their tokens in (role
 * claim included), so every authenticated request is refused and an error line
 * names the missing settings. `exp` is required; `exp`, `nbf` and `iat` are
 * checked with CLOCK_TOLERANCE_S of skew (an `iat` further in the future is
 * refused). Admin = `role: "admin"` or "admin" in `roles`. A token verified
 * once is remembered by the isolate for up to 3 minutes, never past its `exp`
 * (./verifiedTokens.ts): the same customer's next requests skip the signature.
 * The key set is re-read at least every 2 minutes, so a key removed from it is
 * refused within KEY_REMOVAL_BOUND_MS (a token verified against the cached set
 * just before a re-read is remembered for the memory's whole age).
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Env } from "../env";
import { fail } from "./errors";
import { log } from "../shared/log";
import { MAX_AGE_MS, VerifiedTokens } from "./verifiedTokens";

export interface User {
	id: string;
	admin: boolean;
	/** The token's `email` claim, when it has a plausible one. */
	email?: string;
}

/** Seconds of clock skew allowed between the token's issuer and this Worker. */
export const CLOCK_TOLERANCE_S = 30;

/** How long jose serves a fetched key set before reading it again (its default is 10 minutes). */
export const JWKS_CACHE_MAX_AGE_MS = 2 * 60_000;
/** How long a key removed from the set can still let a request in: the cache plus the token memory. */
export const KEY_REMOVAL_BOUND_MS = JWKS_CACHE_MAX_AGE_MS + MAX_AGE_MS;

const keySets = new Map<string, JWTVerifyGetKey>();

function remoteKeySet(url: string): JWTVerifyGetKey {
	let set = keySets.get(url);
	if (!set) {
		set = createRemoteJWKSet(new URL(url), { cacheMaxAge: JWKS_CACHE_MAX_AGE_MS });
		keySets.set(url, set);
	}
	return set;
}

export function isAdmin(payload: JWTPayload): boolean {
	if (payload.role === "admin") return true;
	const roles = payload.roles;
	return Array.isArray(roles) && roles.includes("admin");
}

/** The settings the JWKS mode needs but lacks (empty when complete, or not in JWKS mode). */
export function missingJwksSettings(env: Pick<Env, "JWT_JWKS_URL" | "JWT_ISSUER" | "JWT_AUDIENCE">): string[] {
	if (!env.JWT_JWKS_URL) return [];
	return (["JWT_ISSUER", "JWT_AUDIENCE"] as const).filter((name) => !env[name]);
}

/**
 * The HS256 secret as a CryptoKey, imported once per isolate and secret: given
 * raw bytes, jose would import them again on every request.
 */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
	let key = hmacKeys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
		// A failed import is not kept: the next request tries again.
		key.catch(() => hmacKeys.delete(secret));
		hmacKeys.set(secret, key);
	}
	return key;
}

const verified = new VerifiedTokens(CLOCK_TOLERANCE_S);

/** What a verification depends on besides the token: a change of any of these must not reuse a result. */
function settingsOf(env: Env): string {
	return JSON.stringify([env.JWT_JWKS_URL ?? null, env.JWT_JWKS_URL ? null : (env.JWT_SECRET ?? null), env.JWT_ISSUER ?? null, env.JWT_AUDIENCE ?? null]);
}

async function verify(token: string, env: Env): Promise<JWTPayload> {
	const settings = settingsOf(env);
	const known = verified.get(token, settings, Date.now());
	if (known) return known;
	const payload = await verifyNow(token, env);
	verified.put(token, settings, payload, Date.now());
	return payload;
}

async function verifyNow(token: string, env: Env): Promise<JWTPayload> {
	const common = {
		requiredClaims: ["exp", "sub"],
		clockTolerance: CLOCK_TOLERANCE_S,
		...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
		...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
	};
	const { payload } = env.JWT_JWKS_URL
		? await jwtVerify(token, remoteKeySet(env.JWT_JWKS_URL), { ...common, algorithms: ["RS256", "ES256"] })
		: await jwtVerify(token, await hmacKey(env.JWT_SECRET!), { ...common, algorithms: ["HS256"] });
	// jose checks a future `iat` only together with a maximum token age; a token issued in the future is refused here.
	if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw new Error("iat in the future");
	return payload;
}

export async function authenticate(request: Request, env: Env): Promise<User> {
	const missing = missingJwksSettings(env);
	if (missing.length > 0) {
		log.error("jwks_settings_missing", { missing, message: `JWT_JWKS_URL is set but ${missing.join(" and ")} is not: every authenticated request is refused.` }, "[auth]");
		fail("UNAUTHORIZED", "Authentication is not configured on this server.");
	}
	if (!env.JWT_JWKS_URL && !env.JWT_SECRET) fail("UNAUTHORIZED", "Authentication is not configured on this server.");
	const header = request.headers.get("authorization") ?? "";
	const match = /^Bearer\s+(\S+)$/i.exec(header);
	if (!match) fail("UNAUTHORIZED", "Missing bearer token.");
	let payload: JWTPayload;
	try {
		payload = await verify(match[1]!, env);
	} catch {
		fail("UNAUTHORIZED", "Invalid or expired token.");
	}
	const sub = payload.sub;
	if (typeof sub !== "string" || sub.length === 0 || sub.length > 255) {
		fail("UNAUTHORIZED", "Token has no valid subject.");
	}
	const email = typeof payload.email === "string" && /^[^\s@]{1,64}@[^\s@]{1,255}$/.test(payload.email) ? payload.email : undefined;
	return { id: sub, admin: isAdmin(payload), ...(email ? { email } : {}) };
}
