/**
 * Storm sizes and what a run reports. STOCKGATE_LOAD_SCALE (default 1)
 * multiplies every storm's buyers, orders and stock; the number of clients in
 * flight at once stays capped (STOCKGATE_LOAD_CLIENTS, default 500). Each
 * storm prints one `[load]` line with its sizes, answers, durations and
 * invariant result; with STOCKGATE_LOAD_REPORT=<file> the same lines are
 * appended there as JSON.
 */
import { appendFileSync } from "node:fs";

function positive(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
	return n;
}

export const SCALE = positive("STOCKGATE_LOAD_SCALE", 1);
export const CLIENTS = Math.floor(positive("STOCKGATE_LOAD_CLIENTS", 500));

/** `n` at this run's scale (at least 1). */
export function sized(n: number): number {
	return Math.max(1, Math.round(n * SCALE));
}

/** A test timeout that grows with the scale. */
export function timeoutMs(atScale1: number): number {
	return Math.round(atScale1 * Math.max(1, SCALE * 1.5));
}

export class Clock {
	private readonly start = Date.now();
	private last = this.start;
	readonly laps: Record<string, number> = {};

	lap(name: string): void {
		const now = Date.now();
		this.laps[name] = now - this.last;
		this.last = now;
	}
}

export function report(storm: string, data: Record<string, unknown>): void {
	const line = { storm, scale: SCALE, clients: CLIENTS, ...data };
	console.log(`[load] ${JSON.stringify(line)}`);
	const file = process.env.STOCKGATE_LOAD_REPORT;
	if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}
