/**
 * Shapes of the local-development token endpoint (src/demo/routes.ts).
 */
import { z } from "zod";

/** Demo and race customers only: the endpoint never mints a token for a real user id or an admin. */
export const DemoUserId = z
	.string()
	.regex(/^(demo|race)-[A-Za-z0-9_-]{1,40}$/, "must start with demo- or race- followed by 1 to 40 of A-Z, a-z, 0-9, _ or -");

export const DemoTokensBody = z.strictObject({ user_ids: z.array(DemoUserId).min(1).max(500) });

export const DemoTokens = z
	.object({ tokens: z.array(z.object({ user_id: DemoUserId, token: z.string() })) })
	.meta({ id: "DemoTokens" });
