/** Mints test tokens locally with the test JWT_SECRET (no network). */
import { SignJWT } from "jose";
import { env } from "cloudflare:workers";

export async function token(sub: string, opts: { admin?: boolean; expiresIn?: string; secret?: string } = {}): Promise<string> {
	const jwt = new SignJWT(opts.admin ? { role: "admin" } : {})
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime(opts.expiresIn ?? "1h");
	return jwt.sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET!));
}
