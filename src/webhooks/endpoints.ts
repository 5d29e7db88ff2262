/**
 * The active endpoints as the per-event path reads them: from DB at most once
 * per ENDPOINT_CACHE_MS in an isolate, so storing and attempting an event's
 * messages costs DB no read. A change made through this isolate's admin API
 * (or by its own attempts: a failing streak, a disabled endpoint) drops the
 * copy at once; other isolates see it within ENDPOINT_CACHE_MS.
 */
import type { Env } from "../env";
import { listEndpoints, type EndpointRecord } from "./queries";

/** How old the copy may be: the bound on how long an endpoint change takes to apply everywhere. */
export const ENDPOINT_CACHE_MS = 5_000;

let copy: { readAt: number; endpoints: Promise<EndpointRecord[]> } | undefined;

/** The active endpoints, read at most ENDPOINT_CACHE_MS before `now` (the isolate's clock unless given). */
export function activeEndpoints(env: Env, now: number = Date.now()): Promise<EndpointRecord[]> {
	if (copy && now >= copy.readAt && now - copy.readAt < ENDPOINT_CACHE_MS) return copy.endpoints;
	const endpoints = listEndpoints(env.DB, { activeOnly: true });
	const entry = { readAt: now, endpoints };
	copy = entry;
	// A failed read is not kept: the next caller reads again.
	endpoints.catch(() => {
		if (copy === entry) copy = undefined;
	});
	return endpoints;
}

/** Forgets the copy: the next read goes to DB. */
export function forgetEndpoints(): void {
	copy = undefined;
}
