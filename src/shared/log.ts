/**
 * Structured logs: one JSON object per line on stdout (Workers Logs indexes them).
 * Every line carries the request id of the request it belongs to, taken from an
 * AsyncLocalStorage scope opened by `withRequestContext`, so callers never pass it.
 * The grep tags (`[place-order]`, `[stock-deduct]`, `[stock-restore]`, ...)
 * are kept in the `tag` field.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type LogTag =
	| "[http]"
	| "[place-order]"
	| "[stock-deduct]"
	| "[stock-restore]"
	| "[stock]"
	| "[catalog]"
	| "[warehouse]"
	| "[transfer]"
	| "[reconciler]"
	| "[rehome]"
	| "[orders]"
	| "[payments]"
	| "[auth]"
	| "[events]"
	| "[webhooks]"
	| "[error]";

type Fields = Record<string, unknown>;

const scope = new AsyncLocalStorage<{ requestId: string; counters: Record<string, number> }>();

export function withRequestContext<T>(requestId: string, fn: () => T): T {
	return scope.run({ requestId, counters: {} }, fn);
}

/** Counts something the current request caused (e.g. Warehouse RPCs); the request's `[http]` line reports it. */
export function countInRequest(name: string, n = 1): void {
	const counters = scope.getStore()?.counters;
	if (counters) counters[name] = (counters[name] ?? 0) + n;
}

/** What the current request counted so far (empty outside a request). */
export function requestCounters(): Record<string, number> {
	return { ...scope.getStore()?.counters };
}

export function currentRequestId(): string | undefined {
	return scope.getStore()?.requestId;
}

function emit(level: "info" | "warn" | "error", tag: LogTag, event: string, fields: Fields): void {
	const line = JSON.stringify({
		level,
		tag,
		event,
		request_id: currentRequestId(),
		...fields,
		ts: new Date().toISOString(),
	});
	if (level === "error") console.error(line);
	else if (level === "warn") console.warn(line);
	else console.log(line);
}

export const log = {
	info: (tag: LogTag, event: string, fields: Fields = {}) => emit("info", tag, event, fields),
	warn: (tag: LogTag, event: string, fields: Fields = {}) => emit("warn", tag, event, fields),
	error: (event: string, fields: Fields = {}, tag: LogTag = "[error]") => emit("error", tag, event, fields),
};
