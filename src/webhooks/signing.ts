/**
 * Standard Webhooks signing: secrets are `whsec_<base64 key>`; a delivery is
 * signed with HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`,
 * keyed with the decoded key, sent as `webhook-signature: v1,<base64>`.
 * The webhook-id of an event at an endpoint is derived from both ids, so every
 * attempt (and any repeated fan-out) of one event carries the same id.
 */
const PREFIX = "whsec_";
const KEY_BYTES = 32;

function base64(bytes: ArrayBuffer | Uint8Array): string {
	const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
	let s = "";
	for (const x of b) s += String.fromCharCode(x);
	return btoa(s);
}

function hex(bytes: ArrayBuffer): string {
	return [...new Uint8Array(bytes)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

export function newSecret(): string {
	return PREFIX + base64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/** The raw HMAC key of a `whsec_` secret. */
export function secretKey(secret: string): Uint8Array {
	if (!secret.startsWith(PREFIX)) throw new TypeError("webhook secret must start with whsec_");
	const bin = atob(secret.slice(PREFIX.length));
	return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
	let key = keys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", secretKey(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		if (keys.size > 1000) keys.clear();
		keys.set(secret, key);
	}
	return key;
}

/** The `webhook-signature` header value. */
export async function signature(secret: string, messageId: string, timestampSeconds: number, body: string): Promise<string> {
	const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(`${messageId}.${timestampSeconds}.${body}`));
	return `v1,${base64(mac)}`;
}

/** The `webhook-id` of `eventId` at endpoint `webhookId`: stable, so receivers can de-duplicate by it. */
export async function messageId(eventId: string, webhookId: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${webhookId}\n${eventId}`));
	return `msg_${hex(digest).slice(0, 32)}`;
}

export function newWebhookId(): string {
	return `wh_${crypto.randomUUID().replaceAll("-", "")}`;
}
