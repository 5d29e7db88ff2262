/**
 * vitest globalSetup (runs in Node, not in workerd): a fake of the Stripe API's
 * refunds on 127.0.0.1 at a random port, for the `stripe` client under test
 * (pointed at it with STRIPE_API_BASE). Like Stripe it checks the secret key,
 * stores each idempotency key's first answer and replays it (a 500 included),
 * refuses a reused key with other parameters, and refuses to refund more than
 * a PaymentIntent took. It records every request with its Idempotency-Key.
 *
 *   PUT /_control/intents/<pi>  { amount, currency, script?: Step[] }   a PaymentIntent that took `amount`
 *   GET /_control/intents/<pi>  -> { requests: [...], refunds: [...] }  what was asked and made
 *   POST /v1/refunds            refunds.create; each new request takes the next step of the script
 *                               (the last step repeats; default "succeeded")
 *   GET  /v1/refunds?payment_intent=<pi>                                refunds.list
 *
 * Steps: "succeeded" | "pending" | "failed" (a refund with that status),
 * "error_before" (500, nothing made), "error_after" (the refund is made, the
 * answer is a 500), "drop" (the refund is made, the connection is cut).
 * Tests get `{ base, secretKey }` with inject("fakeStripe").
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

const FAKE_STRIPE_KEY = `sk_test_fake_${randomBytes(6).toString("hex")}`;

type Step = "succeeded" | "pending" | "failed" | "error_before" | "error_after" | "drop";

interface Refund {
	id: string;
	object: "refund";
	amount: number;
	currency: string;
	payment_intent: string;
	status: string;
	reason: string | null;
	metadata: Record<string, string>;
	created: number;
}

interface Intent {
	amount: number;
	currency: string;
	script: Step[];
	steps: number;
	refunds: Refund[];
	requests: Array<{ idempotency_key: string | null; params: Record<string, string>; status: number; replayed: boolean }>;
}

async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { "content-type": "application/json", "request-id": `req_${randomBytes(6).toString("hex")}` });
	res.end(JSON.stringify(body));
}

function stripeError(type: string, message: string, code?: string) {
	return { error: { type, message, ...(code ? { code } : {}) } };
}

export default async function setup(project: TestProject) {
	const intents = new Map<string, Intent>();
	const stored = new Map<string, { params: string; status: number; body: unknown }>();

	const server = createServer(async (req, res) => {
		const url = new URL(req.url ?? "/", "http://fake");
		const body = await readBody(req);
		const parts = url.pathname.split("/").filter(Boolean);
		if (parts[0] === "_control" && parts[1] === "intents" && parts[2]) {
			if (req.method === "PUT") {
				const cfg = JSON.parse(body) as { amount: number; currency: string; script?: Step[] };
				intents.set(parts[2], { amount: cfg.amount, currency: cfg.currency, script: cfg.script?.length ? cfg.script : ["succeeded"], steps: 0, refunds: [], requests: [] });
				return json(res, 204, {});
			}
			const i = intents.get(parts[2]);
			return i ? json(res, 200, { requests: i.requests, refunds: i.refunds }) : json(res, 404, {});
		}
		if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_KEY}`) return json(res, 401, stripeError("invalid_request_error", "Invalid API Key provided"));
		if (url.pathname === "/v1/refunds" && req.method === "GET") {
			const i = intents.get(url.searchParams.get("payment_intent") ?? "");
			return json(res, 200, { object: "list", url: "/v1/refunds", has_more: false, data: i ? [...i.refunds].reverse() : [] });
		}
		if (url.pathname !== "/v1/refunds" || req.method !== "POST") return json(res, 404, stripeError("invalid_request_error", "Unrecognized request URL"));

		const form = new URLSearchParams(body);
		const params = Object.fromEntries(form.entries());
		const key = (req.headers["idempotency-key"] as string | undefined) ?? null;
		const i = intents.get(params.payment_intent ?? "");
		if (!i) return json(res, 404, stripeError("invalid_request_error", "No such payment_intent", "resource_missing"));
		const previous = key ? stored.get(key) : undefined;
		if (previous) {
			const same = previous.params === body;
			i.requests.push({ idempotency_key: key, params, status: same ? previous.status : 400, replayed: true });
			if (!same) return json(res, 400, stripeError("idempotency_error", "Keys for idempotent requests can only be used with the same parameters they were first used with."));
			return json(res, previous.status, previous.body);
		}
		const answer = (status: number, out: unknown) => {
			if (key) stored.set(key, { params: body, status, body: out });
			i.requests.push({ idempotency_key: key, params, status, replayed: false });
			json(res, status, out);
		};
		const step = i.script[Math.min(i.steps, i.script.length - 1)]!;
		i.steps++;
		if (step === "error_before") return answer(500, stripeError("api_error", "An unknown error occurred"));
		const amount = Number(params.amount ?? i.amount);
		const refunded = i.refunds.filter((r) => r.status !== "failed" && r.status !== "canceled").reduce((n, r) => n + r.amount, 0);
		if (refunded >= i.amount) return answer(400, stripeError("invalid_request_error", "Charge has already been refunded.", "charge_already_refunded"));
		if (refunded + amount > i.amount) return answer(400, stripeError("invalid_request_error", "Refund amount is greater than unrefunded amount on charge", "amount_too_large"));
		const metadata: Record<string, string> = {};
		for (const [k, v] of form.entries()) {
			const m = /^metadata\[(.+)\]$/.exec(k);
			if (m) metadata[m[1]!] = v;
		}
		const refund: Refund = {
			id: `re_${randomBytes(8).toString("hex")}`,
			object: "refund",
			amount,
			currency: i.currency,
			payment_intent: params.payment_intent!,
			status: step === "pending" ? "pending" : step === "failed" ? "failed" : "succeeded",
			reason: params.reason ?? null,
			metadata,
			created: Math.floor(Date.now() / 1000),
		};
		i.refunds.push(refund);
		if (step === "error_after") return answer(500, stripeError("api_error", "An unknown error occurred"));
		if (step === "drop") {
			if (key) stored.set(key, { params: body, status: 200, body: refund });
			i.requests.push({ idempotency_key: key, params, status: 0, replayed: false });
			req.socket.destroy();
			return;
		}
		answer(200, refund);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const address = server.address();
	if (!address || typeof address === "string") throw new Error("fake Stripe did not bind");
	project.provide("fakeStripe", { base: `http://127.0.0.1:${address.port}`, secretKey: FAKE_STRIPE_KEY });
	return async () => {
		await new Promise<void>((resolve) => server.close(() => resolve()));
	};
}

declare module "vitest" {
	export interface ProvidedContext {
		fakeStripe: { base: string; secretKey: string };
	}
}
