/**
 * `POST /demo/tokens`: customer tokens for the demo storefront and the race
 * page, local development only. It exists only while the var DEMO_TOKENS is
 * "true" (`npm start` passes it with `--var`; wrangler.toml never sets it) and
 * HS256 auth is in use; otherwise it answers 404 like any unknown path. It
 * mints customer tokens (never admin) for `demo-*` / `race-*` user ids only.
 */
import { SignJWT } from "jose";
import type { Env } from "../env";
import { fail } from "../http/errors";
import { reply, route } from "../http/route";
import { validate } from "../http/validate";
import { DemoTokens, DemoTokensBody } from "./schema";

const TOKEN_LIFETIME = "1d";

export function demoTokensEnabled(env: Env): boolean {
	return env.DEMO_TOKENS === "true" && !!env.JWT_SECRET && !env.JWT_JWKS_URL;
}

async function mint(secret: string, userId: string): Promise<string> {
	return new SignJWT({ email: `${userId}@example.com` })
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(userId)
		.setIssuedAt()
		.setExpirationTime(TOKEN_LIFETIME)
		.sign(new TextEncoder().encode(secret));
}

export const demoRoutes = [
	route({
		method: "post",
		path: "/demo/tokens",
		tag: "demo",
		summary: "Local development only (DEMO_TOKENS=true): customer tokens for demo-* and race-* user ids",
		access: "public",
		body: DemoTokensBody,
		// Validated in the handler, after the switch: without DEMO_TOKENS any request is 404.
		rawBodyOnly: true,
		responses: { 200: { description: "One token per user id, valid for a day", schema: DemoTokens } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, body }) => {
			if (!demoTokensEnabled(env)) fail("NOT_FOUND", "No route for POST /demo/tokens.");
			const { user_ids } = validate(DemoTokensBody, body, "body");
			const secret = env.JWT_SECRET!;
			const tokens = await Promise.all([...new Set(user_ids)].map(async (user_id) => ({ user_id, token: await mint(secret, user_id) })));
			return reply({ tokens });
		},
	}),
];
