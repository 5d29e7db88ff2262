/**
 * How long the Warehouse alarm waits before trying again after it could not
 * read the decisions from D1: doubling from one second, capped at one minute
 * (the reconciler's period, so a D1 outage never leaves a hold unresolved for
 * much longer than the outage itself). Pure: the caller counts the failures.
 */
export const ALARM_RETRY_BASE_MS = 1_000;
export const ALARM_RETRY_CAP_MS = 60_000;

/** The delay after the `failures`-th failure in a row (1 is the first). */
export function alarmRetryDelayMs(failures: number): number {
	const n = Math.max(1, Math.floor(failures));
	return Math.min(ALARM_RETRY_CAP_MS, ALARM_RETRY_BASE_MS * 2 ** Math.min(n - 1, 30));
}
