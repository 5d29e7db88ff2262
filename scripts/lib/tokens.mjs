// Mints local HS256 tokens for development (never used in production).
import { SignJWT } from "jose";

export async function mintToken(secret, { sub, admin = false, expiresIn = "7d" }) {
	return new SignJWT(admin ? { role: "admin" } : {})
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime(expiresIn)
		.sign(new TextEncoder().encode(secret));
}
