/**
 * Where webhooks may be sent: https to a public host (see target.ts for what
 * is not public). WEBHOOK_ALLOW_HTTP_LOCALHOST="true" lets through exactly
 * http://localhost and http://127.0.0.1 (local development; `npm start` sets
 * it), and nothing else inward: not https to them either, which no local
 * receiver needs. Checked when an endpoint is registered and again
 * before every attempt, so an endpoint stored before a rule, or with the
 * setting since turned off, is not sent to.
 */
import type { Env } from "../env";
import { classifyHost, describeKind } from "./target";

export function allowsHttpLocalhost(env: Env): boolean {
	return env.WEBHOOK_ALLOW_HTTP_LOCALHOST === "true";
}

const LOCAL_WORK_HOSTS = new Set(["localhost", "127.0.0.1"]);

/** Why `raw` may not receive webhooks, or null when it may. */
export function urlProblem(raw: string, allowHttpLocalhost: boolean): string | null {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return "must be an absolute URL";
	}
	if (url.username || url.password) return "must not carry credentials";
	if (url.protocol !== "https:" && url.protocol !== "http:") return "must be https";
	if (allowHttpLocalhost && url.protocol === "http:" && LOCAL_WORK_HOSTS.has(url.hostname)) return null;
	const kind = classifyHost(url.hostname);
	if (kind !== "public") return `must be a public host (${url.hostname} is ${describeKind(kind)})`;
	if (url.protocol === "http:") return allowHttpLocalhost ? "must be https (plain http only to localhost or 127.0.0.1)" : "must be https";
	return null;
}
