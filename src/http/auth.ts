/**
 * Bearer-token authentication per the contract. HS256 with JWT_SECRET by default;
 * RS256/ES256 against JWT_JWKS_URL when it is set (issuer and audience checked
 * when configured). `exp` is required. Admin = `role: "admin"` or "admin" in `roles`.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Env } from "../env";
import { fail } from "./errors";

export interface User {
	id: string;
	admin: boolean;
	/** The token's `email` claim, when it has a plausible one. */
	email?: string;
}

const keySets = new Map<string, JWTVerifyGetKey>();

function remoteKeySet(url: string): JWTVerifyGetKey {
	let set = keySets.get(url);
	if (!set) {
		set = createRemoteJWKSet(new URL(url));
		keySets.set(url, set);
	}
	return set;
}

export function isAdmin(payload: JWTPayload): boolean {
	if (payload.role === "admin") return true;
	const roles = payload.roles;
	return Array.isArray(roles) && roles.includes("admin");
}

async function verify(token: string, env: Env): Promise<JWTPayload> {
	const common = {
		requiredClaims: ["exp", "sub"],
		...(env.JWT_ISSUER ? { issuer: env.JWT_ISSUER } : {}),
		...(env.JWT_AUDIENCE ? { audience: env.JWT_AUDIENCE } : {}),
	};
	if (env.JWT_JWKS_URL) {
		const { payload } = await jwtVerify(token, remoteKeySet(env.JWT_JWKS_URL), {
			...common,
			algorithms: ["RS256", "ES256"],
		});
		return payload;
	}
	if (!env.JWT_SECRET) fail("UNAUTHORIZED", "Authentication is not configured on this server.");
	const { payload } = await jwtVerify(token, new TextEncoder().encode(env.JWT_SECRET), {
		...common,
		algorithms: ["HS256"],
	});
	return payload;
}

export async function authenticate(request: Request, env: Env): Promise<User> {
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
