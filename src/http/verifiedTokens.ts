/**
 * Tokens this isolate has verified, so a customer's next requests with the same
 * token (cart, summary, checkout) skip the signature check: in the catalog
 * bench the token check was a quarter of a request's own CPU before any I/O.
 *
 * An entry is the exact token string plus the settings it was verified under
 * (secret or key set URL, issuer, audience): a change of any of them misses.
 * A hit re-checks the time claims against `now` with the same tolerance as a
 * full verification, so an entry never outlives its token's `exp`; it also
 * lapses MAX_AGE_MS after its verification (with the key-set cache's age, the
 * bound on a removed JWKS key: see auth.ts), and the oldest entries go first
 * past MAX_ENTRIES.
 * Pure: the caller passes the clock.
 */
import type { JWTPayload } from "jose";

export const MAX_ENTRIES = 10_000;
export const MAX_AGE_MS = 3 * 60_000;

interface Entry {
	settings: string;
	payload: JWTPayload;
	verifiedAt: number;
}

export class VerifiedTokens {
	private readonly entries = new Map<string, Entry>();

	constructor(
		private readonly toleranceS: number,
		private readonly maxEntries = MAX_ENTRIES,
		private readonly maxAgeMs = MAX_AGE_MS,
	) {}

	/** The payload verified for this token under these settings, if it still holds at `nowMs`. */
	get(token: string, settings: string, nowMs: number): JWTPayload | undefined {
		const e = this.entries.get(token);
		if (!e) return undefined;
		if (e.settings !== settings || nowMs - e.verifiedAt >= this.maxAgeMs || !this.timely(e.payload, nowMs)) {
			this.entries.delete(token);
			return undefined;
		}
		return e.payload;
	}

	put(token: string, settings: string, payload: JWTPayload, nowMs: number): void {
		this.entries.delete(token);
		this.entries.set(token, { settings, payload, verifiedAt: nowMs });
		while (this.entries.size > this.maxEntries) {
			const oldest = this.entries.keys().next().value as string;
			this.entries.delete(oldest);
		}
	}

	get size(): number {
		return this.entries.size;
	}

	/** exp, nbf and iat against now, as the full verification checks them. */
	private timely(p: JWTPayload, nowMs: number): boolean {
		const now = nowMs / 1000;
		if (typeof p.exp !== "number" || p.exp + this.toleranceS <= now) return false;
		if (typeof p.nbf === "number" && p.nbf - this.toleranceS > now) return false;
		if (typeof p.iat === "number" && p.iat > now + this.toleranceS) return false;
		return true;
	}
}
