/**
 * When a failed delivery is tried again, and when an endpoint is given up on.
 * Pure: times are epoch milliseconds passed in.
 *
 * The delays grow from seconds to hours; together they span more than 24 hours
 * (27 h 36 min), so an event is retried for at least a day. The cron reconciler
 * runs due attempts every minute, so a delay is a lower bound.
 */
export const ATTEMPT_TIMEOUT_MS = 10_000;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The wait after the n-th failed attempt (index n - 1); after the last one, the event is given up. */
export const RETRY_DELAYS_MS = [5 * SECOND, MINUTE, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR] as const;

/** An endpoint that answered nothing but failures for this long is disabled. */
export const DISABLE_AFTER_MS = 24 * HOUR;

/** When to try again after attempt number `attempt` (1-based) failed at `now`; null: give up. */
export function nextAttemptAt(attempt: number, now: number): number | null {
	const delay = RETRY_DELAYS_MS[attempt - 1];
	return delay === undefined ? null : now + delay;
}

/** A failure at `now` disables an endpoint whose failing streak (first failure since its last success) began at or before this. */
export function disableCutoff(now: number): number {
	return now - DISABLE_AFTER_MS;
}
