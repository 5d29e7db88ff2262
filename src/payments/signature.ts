/**
 * Payment webhook signatures: header `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">` (several v1 values allowed, for secret rotation). Only the
 * first MAX_V1 v1 values are considered, and the HMAC over the body (up to 64 KiB)
 * is computed once: each candidate is then compared with it in constant time, so
 * a header stuffed with candidates costs one HMAC, not one per candidate.
 * Timestamps more than TOLERANCE_S away from now are refused, so a captured
 * request cannot be replayed later.
 */
export const TOLERANCE_S = 300;
/** How many `v1=` candidates are considered (the rest are ignored). */
export const MAX_V1 = 3;

export type SignatureCheck = { ok: true } | { ok: false; why: "missing" | "malformed" | "stale" | "mismatch" };

function hexToBytes(hex: string): Uint8Array | null {
	if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
	const out = new Uint8Array(hex.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	return out;
}

export function parseHeader(header: string): { t: number; v1: string[] } | null {
	let t: number | undefined;
	const v1: string[] = [];
	for (const part of header.split(",")) {
		const [k, v] = part.trim().split("=", 2);
		if (k === "t" && v && /^\d{1,12}$/.test(v)) t = Number(v);
		else if (k === "v1" && v && v1.length < MAX_V1) v1.push(v);
	}
	return t === undefined || v1.length === 0 ? null : { t, v1 };
}

async function key(secret: string): Promise<CryptoKey> {
	return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function hmac(rawBody: string, secret: string, t: number): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.sign("HMAC", await key(secret), new TextEncoder().encode(`${t}.${rawBody}`)));
}

/** Equal-length byte comparison whose time does not depend on where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
	return diff === 0;
}

export async function verifySignature(header: string | null, rawBody: string, secret: string, nowS: number): Promise<SignatureCheck> {
	if (!header) return { ok: false, why: "missing" };
	const parsed = parseHeader(header);
	if (!parsed) return { ok: false, why: "malformed" };
	if (Math.abs(nowS - parsed.t) > TOLERANCE_S) return { ok: false, why: "stale" };
	const expected = await hmac(rawBody, secret, parsed.t);
	// Every candidate is compared (no early exit), so timing does not tell which one matched.
	let match = false;
	for (const candidate of parsed.v1) {
		const sig = candidate.length === expected.length * 2 ? hexToBytes(candidate) : null;
		if (sig && sameBytes(sig, expected)) match = true;
	}
	return match ? { ok: true } : { ok: false, why: "mismatch" };
}

/** Signs a body the way the payment provider does (used by tests and local tooling). */
export async function signPayload(rawBody: string, secret: string, t: number): Promise<string> {
	const hex = [...(await hmac(rawBody, secret, t))].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `t=${t},v1=${hex}`;
}
