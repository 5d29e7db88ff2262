/**
 * The planning limits the claim holds every store to, judged on each store's
 * busiest 5 s: an object under 500 requests/s (the band for writes under the
 * published soft limit), a database or queue under 60% busy.
 */
import type { StoreKind } from "./stores";

export const CLAIM = { objectRps: 500, d1Util: 0.6, queueUtil: 0.6, p99PlacedMs: 1000 };

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

/** Over 5 s: mean requests/s and busy share, rounded as the tables print them. */
export function fiveSeconds(requests: number, busyMs: number): { rps: number; util: number } {
	return { rps: round(requests / 5, 1), util: round(busyMs / 5000, 3) };
}

/** Whether a store of this kind is at or past its limit with this load. */
export function pastLimit(kind: StoreKind, rps: number, util: number): boolean {
	if (kind === "object") return rps >= CLAIM.objectRps;
	if (kind === "d1") return util >= CLAIM.d1Util;
	if (kind === "queue") return util >= CLAIM.queueUtil;
	return false;
}
