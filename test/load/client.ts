/**
 * The clients' side: real HTTP to the Worker's URL with Node's fetch, tokens
 * minted locally (HS256 with the test secret), signed payment webhooks, a
 * bounded pool of concurrent clients, and a tally of answers. Token minting,
 * signing and the pool are the ones the bench uses (scripts/lib/).
 */
import { settleAll } from "../../scripts/lib/pool.mjs";
import { mintToken, paymentSignature as signPayment } from "../../scripts/lib/tokens.mjs";
import { SECRETS } from "./harness.ts";

export interface Answer {
	status: number;
	body: any;
	/** Response headers, lower-case names. */
	headers: Record<string, string>;
}

export interface CallOptions {
	token?: string;
	body?: unknown;
	headers?: Record<string, string>;
	/** A raw body sent as is (with content-type application/json). */
	raw?: string;
	/** What the request asks for when its body does not say (a checkout's cart lines): recorded by the history, never sent. */
	asked?: Array<{ product_id: string; size: string; quantity: number }>;
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
		return { status: res.status, body: parsed, headers: Object.fromEntries(res.headers) };
	}

	/** Like call(), but anything but `expected` is a setup failure. */
	async must(method: string, path: string, opts: CallOptions, expected = 200): Promise<any> {
		const a = await this.call(method, path, opts);
		if (a.status !== expected) throw new Error(`${method} ${path}: ${a.status} ${JSON.stringify(a.body)}`);
		return a.body;
	}
}

export function tokenFor(sub: string, opts: { admin?: boolean } = {}): Promise<string> {
	return mintToken(SECRETS.JWT_SECRET, { sub, admin: opts.admin, expiresIn: "2h" });
}

/** The Payment-Signature header for a raw webhook body, signed now. */
export function paymentSignature(raw: string, nowS?: number): string {
	return signPayment(SECRETS.PAYMENT_WEBHOOK_SECRET, raw, nowS);
}

/** Runs every task with at most `limit` in flight; every outcome, settled, in task order. */
export function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<PromiseSettledResult<T>[]> {
	return settleAll(tasks, limit, (task) => task());
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
