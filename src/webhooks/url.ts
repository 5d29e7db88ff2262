/**
 * Where webhooks may be sent: https only, except plain http to localhost or
 * 127.0.0.1 when WEBHOOK_ALLOW_HTTP_LOCALHOST is "true" (local development).
 * Checked when an endpoint is registered and again before every attempt, so
 * turning the setting off stops plain-http deliveries.
 */
import type { Env } from "../env";

export function allowsHttpLocalhost(env: Env): boolean {
	return env.WEBHOOK_ALLOW_HTTP_LOCALHOST === "true";
}

/** Why `raw` may not receive webhooks, or null when it may. */
export function urlProblem(raw: string, allowHttpLocalhost: boolean): string | null {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return "must be an absolute URL";
	}
	if (url.username || url.password) return "must not carry credentials";
	if (url.protocol === "https:") return null;
	if (allowHttpLocalhost && url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1")) return null;
	return allowHttpLocalhost ? "must be https (plain http only to localhost or 127.0.0.1)" : "must be https";
}
