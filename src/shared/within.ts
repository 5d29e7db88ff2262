/** Waiting for a promise another request started, for a bounded time. */

export const TIMED_OUT = Symbol("timed out");

/**
 * The promise's outcome, or TIMED_OUT after `ms`. Readers that join a refresh
 * another request started use it: a request cancelled mid-refresh (client gone)
 * may never settle its promise, and nobody should wait for it forever.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
		timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		if (timer !== undefined) clearTimeout(timer);
	}
}
