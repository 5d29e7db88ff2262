/**
 * Time in tests. A condition is waited for with `eventually` (a bounded poll
 * that fails with the condition's own last error); `sleep` is only for a head
 * start in a race or a quiet period that no condition can tell. Tests that move
 * an object's time use its injected clock (test/helpers/stock.ts `useClock`).
 */
import { vi } from "vitest";

/** Pauses for `ms`. */
export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `check` (an assertion, or a value it returns) until it passes, at most `timeoutMs`; answers what it returned. */
export function eventually<T>(check: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
	return vi.waitFor(check, { timeout: opts.timeoutMs ?? 10_000, interval: opts.intervalMs ?? 20 });
}
