/**
 * vitest globalSetup (runs in Node, not in workerd): a webhook receiver on
 * 127.0.0.1 at a random port, for the end-to-end tests. It checks every
 * delivery with its own Standard Webhooks verifier written on node:crypto
 * (independent of src/webhooks/signing.ts) and records what it saw.
 *
 *   PUT  /_inbox/<name>  { secret, script?: ("ok" | "fail" | "hang")[] }  configure an inbox
 *   GET  /_inbox/<name>  -> { received: [...] }                          what arrived
 *   POST /hook/<name>    a delivery: verified, recorded, then answered by the next
 *                        step of the script (the last step repeats; default "ok")
 *
 * Tests get the base URL with inject("webhookReceiver").
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

type Step = "ok" | "fail" | "hang";

interface Received {
	webhook_id: string | null;
	timestamp: string | null;
	signature: string | null;
	content_type: string | null;
	body: string;
	verified: boolean;
	problem: string | null;
	answer: Step;
}

interface Inbox {
	secret: string | null;
	script: Step[];
	received: Received[];
}

const TOLERANCE_S = 5 * 60;

/** Standard Webhooks verification: HMAC-SHA256 of "<id>.<timestamp>.<body>" keyed with the decoded whsec_ secret. */
function verify(secret: string | null, id: string | null, ts: string | null, header: string | null, body: string): string | null {
	if (!secret) return "inbox has no secret";
	if (!id || !ts || !header) return "missing webhook-id, webhook-timestamp or webhook-signature";
	if (!/^\d+$/.test(ts)) return "timestamp is not unix seconds";
	if (Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) return "timestamp outside tolerance";
	if (!secret.startsWith("whsec_")) return "secret without whsec_ prefix";
	const key = Buffer.from(secret.slice("whsec_".length), "base64");
	const expected = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest();
	for (const part of header.split(" ")) {
		const [version, sig] = part.split(",", 2);
		if (version !== "v1" || !sig) continue;
		const given = Buffer.from(sig, "base64");
		if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
	}
	return "no v1 signature matches";
}

async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { "content-type": "application/json" });
	res.end(JSON.stringify(body));
}

export default async function setup(project: TestProject) {
	const inboxes = new Map<string, Inbox>();
	const inbox = (name: string) => {
		let i = inboxes.get(name);
		if (!i) inboxes.set(name, (i = { secret: null, script: ["ok"], received: [] }));
		return i;
	};
	const hanging = new Set<ServerResponse>();

	const server = createServer(async (req, res) => {
		const [, kind, name] = (req.url ?? "").split("?")[0]!.split("/");
		const body = await readBody(req);
		if (kind === "_inbox" && name && req.method === "PUT") {
			const cfg = JSON.parse(body) as { secret: string; script?: Step[] };
			const i = inbox(name);
			i.secret = cfg.secret;
			i.script = cfg.script?.length ? cfg.script : ["ok"];
			return json(res, 204, {});
		}
		if (kind === "_inbox" && name && req.method === "GET") return json(res, 200, { received: inbox(name).received });
		if (kind === "hook" && name && req.method === "POST") {
			const i = inbox(name);
			const header = (h: string) => (req.headers[h] as string | undefined) ?? null;
			const problem = verify(i.secret, header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"), body);
			const n = i.received.length;
			const answer = i.script[Math.min(n, i.script.length - 1)]!;
			i.received.push({
				webhook_id: header("webhook-id"),
				timestamp: header("webhook-timestamp"),
				signature: header("webhook-signature"),
				content_type: header("content-type"),
				body,
				verified: problem === null,
				problem,
				answer,
			});
			if (answer === "hang") {
				hanging.add(res);
				res.on("close", () => hanging.delete(res));
				return;
			}
			if (problem !== null) return json(res, 401, { error: problem });
			return answer === "ok" ? json(res, 200, { ok: true }) : json(res, 500, { error: "receiver failing on purpose" });
		}
		json(res, 404, { error: "unknown" });
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const address = server.address();
	if (!address || typeof address === "string") throw new Error("receiver did not bind");
	project.provide("webhookReceiver", `http://127.0.0.1:${address.port}`);
	return async () => {
		for (const res of hanging) res.destroy();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	};
}

declare module "vitest" {
	export interface ProvidedContext {
		webhookReceiver: string;
	}
}
