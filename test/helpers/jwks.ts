/**
 * A local JSON Web Key Set for the JWKS auth mode, with no network: key pairs
 * are generated in the test, and `serveJwks` answers the key set's URL from a
 * spy on the global fetch (any other URL fails the test). `callWith` sends a
 * request through the real app with settings added to the test env.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { vi } from "vitest";
import type { Env } from "../../src/env";
import { createApp } from "../../src/http/app";
import { routes } from "../../src/routes";
import type { Call } from "./http";
import { uid } from "./http";

export type Alg = "RS256" | "ES256";

export interface SigningKey {
	alg: Alg;
	kid: string;
	privateKey: CryptoKey;
	jwk: Record<string, unknown>;
}

export async function signingKey(alg: Alg): Promise<SigningKey> {
	const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
	const kid = uid(`kid-${alg}`);
	return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** Serves `{ keys }` at a fresh https URL; returns the URL and the list of every URL fetched. */
export function serveJwks(keys: SigningKey[]): { url: string; fetched: string[] } {
	const url = `https://jwks.test/${uid("set")}/.well-known/jwks.json`;
	const fetched: string[] = [];
	vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
		const target = input instanceof Request ? input.url : String(input);
		fetched.push(target);
		if (target === url) return Response.json({ keys: keys.map((k) => k.jwk) });
		if (target.startsWith("https://jwks.test/")) return new Response("not found", { status: 404 });
		// Anything else is a network call a test must not make.
		throw new Error(`unexpected network call in a test: ${target}`);
	});
	return { url, fetched };
}

export interface TokenSpec {
	sub?: string;
	claims?: JWTPayload;
	iss?: string;
	aud?: string | string[];
	/** Seconds from now; null leaves the claim out. */
	exp?: number | null;
	nbf?: number;
	iat?: number | null;
	header?: Record<string, unknown>;
}

export async function jwksToken(key: SigningKey, spec: TokenSpec = {}): Promise<string> {
	const now = Math.floor(Date.now() / 1000);
	const jwt = new SignJWT(spec.claims ?? {}).setProtectedHeader({ alg: key.alg, kid: key.kid, ...spec.header }).setSubject(spec.sub ?? uid("user"));
	if (spec.iss !== undefined) jwt.setIssuer(spec.iss);
	if (spec.aud !== undefined) jwt.setAudience(spec.aud);
	if (spec.exp !== null) jwt.setExpirationTime(now + (spec.exp ?? 3600));
	if (spec.nbf !== undefined) jwt.setNotBefore(now + spec.nbf);
	if (spec.iat !== null) jwt.setIssuedAt(now + (spec.iat ?? 0));
	return jwt.sign(key.privateKey);
}

const app = createApp(routes);

/** One request through the real app, with `settings` layered over the test env. */
export async function callWith(settings: Partial<Env>, method: string, path: string, opts: { auth?: string; body?: unknown } = {}): Promise<Call> {
	const headers = new Headers();
	if (opts.auth) headers.set("authorization", `Bearer ${opts.auth}`);
	if (opts.body !== undefined) headers.set("content-type", "application/json");
	const ctx = createExecutionContext();
	const res = await app.fetch(
		new Request(`https://stockgate.test${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) }),
		{ ...(env as unknown as Env), ...settings },
		ctx,
	);
	await waitOnExecutionContext(ctx);
	const text = await res.text();
	return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
