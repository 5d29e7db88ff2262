/**
 * The clients' side: real HTTP to the Worker's URL with Node's fetch, tokens
 * minted locally with jose (HS256 with the test secret), signed payment
 * webhooks, a bounded pool of concurrent clients, and a tally of answers.
 */
import { createHmac } from "node:crypto";
import { SignJWT } from "jose";
import { SECRETS } from "./harness.ts";

export interface Answer {
	status: number;
	body: any;
}

export interface CallOptions {
	token?: string;
	body?: unknown;
	headers?: Record<string, string>;
	/** A raw body sent as is (with content-type application/json). */
	raw?: string;
}

export class Api {
	readonly base: URL;

	constructor(base: URL) {
		this.base = base;
	}

	/** One request; a network failure (no answer at all) throws. */
	async call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
		const headers: Record<string, string> = { ...opts.headers };
		if (opts.token) headers.authorization = `Bearer ${opts.token}`;
		let body = opts.raw;
		if (opts.body !== undefined) body = JSON.stringify(opts.body);
		if (body !== undefined) headers["content-type"] = "application/json";
		const res = await fetch(new URL(path, this.base), { method, headers, body });
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			/* not JSON: kept as text */
		}
		return { status: res.status, body: parsed };
	}

	/** Like call(), but anything but `expected` is a setup failure. */
	async must(method: string, path: string, opts: CallOptions, expected = 200): Promise<any> {
		const a = await this.call(method, path, opts);
		if (a.status !== expected) throw new Error(`${method} ${path}: ${a.status} ${JSON.stringify(a.body)}`);
		return a.body;
	}
}

export async function tokenFor(sub: string, opts: { admin?: boolean } = {}): Promise<string> {
	return new SignJWT(opts.admin ? { role: "admin" } : {})
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(sub)
		.setIssuedAt()
		.setExpirationTime("2h")
		.sign(new TextEncoder().encode(SECRETS.JWT_SECRET));
}

/** The Payment-Signature header for a raw webhook body, signed now. */
export function paymentSignature(raw: string, nowS = Math.floor(Date.now() / 1000)): string {
	const mac = createHmac("sha256", SECRETS.PAYMENT_WEBHOOK_SECRET).update(`${nowS}.${raw}`).digest("hex");
	return `t=${nowS},v1=${mac}`;
}

/** Runs every task with at most `limit` in flight; results in task order. */
export async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<PromiseSettledResult<T>[]> {
	const results: PromiseSettledResult<T>[] = new Array(tasks.length);
	let next = 0;
	async function lane() {
		while (next < tasks.length) {
			const i = next++;
			try {
				results[i] = { status: "fulfilled", value: await tasks[i]!() };
			} catch (reason) {
				results[i] = { status: "rejected", reason };
			}
		}
	}
	await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
	return results;
}

/** Every settled task must have succeeded (setup steps). */
export function allOk<T>(results: PromiseSettledResult<T>[]): T[] {
	const failed = results.find((r) => r.status === "rejected");
	if (failed) throw (failed as PromiseRejectedResult).reason;
	return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Answers per kind of request and status ("none": no answer at all). */
export class Tally {
	readonly counts: Record<string, Record<string, number>> = {};
	/** Up to 3 bodies of each error status (and of "none"), per kind. */
	readonly samples: Record<string, unknown[]> = {};

	add(kind: string, status: number | "none", body?: unknown): void {
		const k = (this.counts[kind] ??= {});
		k[status] = (k[status] ?? 0) + 1;
		if (status === "none" || status >= 400) {
			const s = (this.samples[`${kind} ${status}`] ??= []);
			if (s.length < 3) s.push(body);
		}
	}

	of(kind: string, status: number | "none"): number {
		return this.counts[kind]?.[status] ?? 0;
	}

	/** Statuses seen for `kind` that are not in `allowed`. */
	unexpected(kind: string, allowed: Array<number | "none">): Record<string, number> {
		const out: Record<string, number> = {};
		for (const [s, n] of Object.entries(this.counts[kind] ?? {})) if (!allowed.map(String).includes(s)) out[s] = n;
		return out;
	}
}
