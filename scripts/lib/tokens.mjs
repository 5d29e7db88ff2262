// Local credentials for development, the bench and the load tests (never used
// in production): HS256 tokens and signed payment-webhook headers.
import { createHmac } from "node:crypto";
import { SignJWT } from "jose";

export async function mintToken(secret, { sub, admin = false, email, expiresIn = "7d" }) {
	return new SignJWT({ ...(admin ? { role: "admin" } : {}), ...(email ? { email } : {}) })
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime(expiresIn)
		.sign(new TextEncoder().encode(secret));
}

/** The Payment-Signature header for a raw webhook body, signed at `nowS` (seconds). */
export function paymentSignature(secret, raw, nowS = Math.floor(Date.now() / 1000)) {
	const mac = createHmac("sha256", secret).update(`${nowS}.${raw}`).digest("hex");
	return `t=${nowS},v1=${mac}`;
}
