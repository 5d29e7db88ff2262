/**
 * Test side of webhooks in the workers pool: an independent Standard Webhooks
 * verifier (WebCrypto `verify`, written here from the spec, not importing
 * src/webhooks/signing.ts) and a scripted receiver to inject as `send`.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { TransferUpdated } from "../../src/events/types";
import type { Send } from "../../src/webhooks/delivery";
import { admin, call, uid } from "./http";
import { allShards } from "./shards";

function fromBase64(s: string): Uint8Array<ArrayBuffer> {
	const bin = atob(s);
	const out = new Uint8Array(new ArrayBuffer(bin.length));
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

/** null when `signatureHeader` holds a v1 signature of `<id>.<timestamp>.<body>` under `secret`; else why not. */
export async function verifyStandardWebhook(secret: string, id: string | null, timestamp: string | null, signatureHeader: string | null, body: string): Promise<string | null> {
	if (!id || !timestamp || !signatureHeader) return "missing header";
	if (!/^\d+$/.test(timestamp)) return "timestamp is not unix seconds";
	if (!secret.startsWith("whsec_")) return "secret without whsec_";
	const key = await crypto.subtle.importKey("raw", fromBase64(secret.slice(6)), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
	const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
	for (const part of signatureHeader.split(" ")) {
		const comma = part.indexOf(",");
		if (part.slice(0, comma) !== "v1") continue;
		if (await crypto.subtle.verify("HMAC", key, fromBase64(part.slice(comma + 1)), signed)) return null;
	}
	return "no v1 signature matches";
}

/** "redirect" answers 302 towards an inward address, to check it is not followed. */
export type Step = "ok" | "fail" | "hang" | "throw" | "redirect";

export interface Seen {
	url: string;
	webhook_id: string | null;
	timestamp: string | null;
	body: string;
	problem: string | null;
	answer: Step;
	/** The request's redirect mode. */
	redirect: RequestInit["redirect"];
}

/**
 * A fake receiver per URL: each request takes the next step of that URL's script
 * (the last repeats). "hang" never answers: it rejects only when the request's
 * signal aborts, like a real fetch whose timeout fires.
 */
export function scriptedReceiver() {
	const inboxes = new Map<string, { secret: string; script: Step[]; seen: Seen[] }>();
	const send: Send = async (url, init) => {
		const box = inboxes.get(url);
		if (!box) return new Response("unknown endpoint", { status: 410 });
		const headers = new Headers(init.headers);
		const body = String(init.body);
		const problem = await verifyStandardWebhook(box.secret, headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature"), body);
		const answer = box.script[Math.min(box.seen.length, box.script.length - 1)]!;
		box.seen.push({ url, webhook_id: headers.get("webhook-id"), timestamp: headers.get("webhook-timestamp"), body, problem, answer, redirect: init.redirect });
		if (answer === "hang") {
			return new Promise<Response>((_, reject) => {
				const signal = init.signal!;
				signal.addEventListener("abort", () => reject(signal.reason));
			});
		}
		if (answer === "throw") throw new TypeError("Network connection lost.");
		if (problem) return new Response(problem, { status: 401 });
		if (answer === "redirect") return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } });
		return new Response(answer === "ok" ? "ok" : "failing", { status: answer === "ok" ? 200 : 503 });
	};
	return {
		send,
		listen(url: string, secret: string, script: Step[] = ["ok"]) {
			inboxes.set(url, { secret, script, seen: [] });
		},
		script(url: string, script: Step[]) {
			inboxes.get(url)!.script = script;
		},
		seen(url: string): Seen[] {
			return inboxes.get(url)?.seen ?? [];
		},
	};
}

export interface Registered {
	webhook_id: string;
	url: string;
	secret: string;
	events: string[];
	active: boolean;
}

/** Registers an endpoint through the admin API (201 asserted). */
export async function register(url: string, events: string[], description?: string): Promise<Registered> {
	const r = await call("POST", "/admin/webhooks", { auth: await admin(), body: { url, events, ...(description ? { description } : {}) } });
	expect(r.status, JSON.stringify(r.body)).toBe(201);
	return r.body as Registered;
}

export async function deliveriesOf(webhookId: string, limit = 100): Promise<any[]> {
	const r = await call("GET", `/admin/webhooks/${webhookId}/deliveries?limit=${limit}`, { auth: await admin() });
	expect(r.status, JSON.stringify(r.body)).toBe(200);
	return r.body.deliveries;
}

/** DB and every shard: where webhook messages and attempts live (an order event's in its order's shard). */
export function eventDatabases(): D1Database[] {
	return [...new Set([env.DB, ...allShards()])];
}

export interface MessageRow {
	message_id: string;
	event_id: string;
	state: string;
	attempts: number;
	next_attempt_at: string | null;
	order_id: string | null;
	sequence: number | null;
}

/** An endpoint's messages in every database, oldest first. */
export async function messagesOf(webhookId: string): Promise<MessageRow[]> {
	const pages = await Promise.all(
		eventDatabases().map((db) =>
			db
				.prepare(`SELECT message_id, event_id, state, attempts, next_attempt_at, order_id, sequence, created_at FROM webhook_messages WHERE webhook_id = ?`)
				.bind(webhookId)
				.all<MessageRow & { created_at: string }>(),
		),
	);
	return pages
		.flatMap((p) => p.results)
		.sort((a, b) => a.created_at.localeCompare(b.created_at) || (a.sequence ?? 0) - (b.sequence ?? 0))
		.map(({ created_at: _, ...m }) => m);
}

/**
 * A made-up transfer.updated event: the tests' endpoints subscribe to this type
 * because nothing else in their files emits it, so no real traffic mixes in.
 */
export function transferEvent(at: number = Date.now()): TransferUpdated {
	const iso = new Date(at).toISOString();
	return {
		event_id: uid("evt_tr"),
		type: "transfer.updated",
		occurred_at: iso,
		transfer: {
			transfer_id: uid("tr"),
			from_warehouse_id: "wh-a",
			to_warehouse_id: "wh-b",
			items: [{ product_id: "p1", size: "M", quantity: 3 }],
			status: "in_transit",
			reference: null,
			note: null,
			created_by: "admin-1",
			created_at: iso,
			updated_at: iso,
		},
	};
}
