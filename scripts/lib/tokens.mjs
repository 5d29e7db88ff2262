// Mints local HS256 tokens for development (never used in production).
import { SignJWT } from "jose";

export async function mintToken(secret, { sub, admin = false, email, expiresIn = "7d" }) {
	return new SignJWT({ ...(admin ? { role: "admin" } : {}), ...(email ? { email } : {}) })
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime(expiresIn)
		.sign(new TextEncoder().encode(secret));
}
