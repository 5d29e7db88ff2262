/**
 * Payment webhook signatures: header `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">` (several v1 values allowed, for secret rotation). Compared
 * with crypto.subtle.verify, which is constant-time. Timestamps more than
 * TOLERANCE_S away from now are refused, so a captured request cannot be replayed later.
 */
export const TOLERANCE_S = 300;

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
		else if (k === "v1" && v) v1.push(v);
	}
	return t === undefined || v1.length === 0 ? null : { t, v1 };
}

async function key(secret: string): Promise<CryptoKey> {
	return crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export async function verifySignature(header: string | null, rawBody: string, secret: string, nowS: number): Promise<SignatureCheck> {
	if (!header) return { ok: false, why: "missing" };
	const parsed = parseHeader(header);
	if (!parsed) return { ok: false, why: "malformed" };
	if (Math.abs(nowS - parsed.t) > TOLERANCE_S) return { ok: false, why: "stale" };
	const k = await key(secret);
	const data = new TextEncoder().encode(`${parsed.t}.${rawBody}`);
	for (const candidate of parsed.v1) {
		const sig = hexToBytes(candidate);
		if (sig && sig.length === 32 && (await crypto.subtle.verify("HMAC", k, sig, data))) return { ok: true };
	}
	return { ok: false, why: "mismatch" };
}

/** Signs a body the way the payment provider does (used by tests and local tooling). */
export async function signPayload(rawBody: string, secret: string, t: number): Promise<string> {
	const mac = await crypto.subtle.sign("HMAC", await key(secret), new TextEncoder().encode(`${t}.${rawBody}`));
	const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `t=${t},v1=${hex}`;
}
