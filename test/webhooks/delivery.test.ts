/**
 * Delivery, retries, timeouts and disabling, with the receiver injected as
 * `send` (workerd cannot listen on a socket) and time driven through `now`.
 * Every request is checked with the test's own Standard Webhooks verifier.
 * The real-socket path is in e2e.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { TransferUpdated } from "../../src/events/types";
import { attemptAll, deliverDue, storeMessages } from "../../src/webhooks/delivery";
import { forgetEndpoints } from "../../src/webhooks/endpoints";
import { RETRY_DELAYS_MS } from "../../src/webhooks/schedule";
import { admin, call, uid } from "../helpers/http";
import { deliveriesOf, messagesOf, register, scriptedReceiver, transferEvent, type Step } from "../helpers/webhooks";

const receiver = scriptedReceiver();
const send = receiver.send;

/** An endpoint for transfer.updated (no other test source emits it) behind the scripted receiver. */
async function endpoint(script: Step[] = ["ok"]) {
	const url = `https://hooks.test/${uid("in")}`;
	const ep = await register(url, ["transfer.updated"]);
	receiver.listen(url, ep.secret, script);
	return ep;
}

/**
 * Stores the event and makes its first attempts, as the queue consumer does.
 * Endpoints of earlier tests in this file are subscribed too: `jobs` and the
 * outcome are those of `ep` only.
 */
async function publish(ep: { webhook_id: string }, event: TransferUpdated, now: number, timeoutMs?: number) {
	const all = await storeMessages(env, [event], now);
	await attemptAll(env, all, now, { send, timeoutMs });
	const jobs = all.filter((j) => j.webhook_id === ep.webhook_id);
	const states = await Promise.all(jobs.map(async (j) => (await messagesOf(ep.webhook_id)).find((m) => m.message_id === j.message_id)!.state));
	return { jobs, states };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("a delivery", () => {
	it("is a POST of { id, type, occurred_at, data } signed with the endpoint's secret (Standard Webhooks headers)", async () => {
		const ep = await endpoint();
		const t0 = Date.now();
		const event = transferEvent(t0);
		const { states } = await publish(ep, event, t0);
		expect(states).toEqual(["delivered"]);
		const [seen] = receiver.seen(ep.url);
		expect(seen!.problem).toBeNull();
		expect(seen!.webhook_id).toMatch(/^msg_[0-9a-f]{32}$/);
		expect(seen!.timestamp).toBe(String(Math.floor(t0 / 1000)));
		expect(JSON.parse(seen!.body)).toEqual({
			id: event.event_id,
			type: "transfer.updated",
			occurred_at: event.occurred_at,
			data: event.transfer,
		});
		expect(await deliveriesOf(ep.webhook_id)).toEqual([
			{
				delivery_id: expect.any(Number),
				message_id: seen!.webhook_id,
				event_id: event.event_id,
				event_type: "transfer.updated",
				attempt: 1,
				status_code: 200,
				error: null,
				at: iso(t0),
				next_attempt_at: null,
			},
		]);
		expect((await messagesOf(ep.webhook_id))[0]).toMatchObject({ state: "delivered", attempts: 1, next_attempt_at: null });
	});

	it("goes only to endpoints subscribed to its type", async () => {
		const other = await register(`https://hooks.test/${uid("in")}`, ["stock.low"]);
		const ep = await endpoint();
		const t0 = Date.now();
		await publish(ep, transferEvent(t0), t0);
		expect(receiver.seen(ep.url)).toHaveLength(1);
		expect(await messagesOf(other.webhook_id)).toEqual([]);
	});
});

describe("retries", () => {
	it("retries a failing receiver with growing delays until it recovers, every attempt listed, always the same webhook-id", async () => {
		const ep = await endpoint(["fail", "throw", "ok"]);
		const t0 = Date.now();
		const { states } = await publish(ep, transferEvent(t0), t0);
		expect(states).toEqual(["pending"]);
		const t1 = t0 + RETRY_DELAYS_MS[0];
		const t2 = t1 + RETRY_DELAYS_MS[1];
		expect((await messagesOf(ep.webhook_id))[0]).toMatchObject({ state: "pending", attempts: 1, next_attempt_at: iso(t1) });

		// Not due a millisecond early.
		await deliverDue(env, t1 - 1, { send });
		expect(receiver.seen(ep.url)).toHaveLength(1);
		await deliverDue(env, t1, { send });
		await deliverDue(env, t2 - 1, { send });
		expect(receiver.seen(ep.url)).toHaveLength(2);
		await deliverDue(env, t2, { send });

		const seen = receiver.seen(ep.url);
		expect(seen.map((s) => s.answer)).toEqual(["fail", "throw", "ok"]);
		expect(seen.every((s) => s.problem === null)).toBe(true);
		expect(new Set(seen.map((s) => s.webhook_id)).size).toBe(1);
		const deliveries = await deliveriesOf(ep.webhook_id);
		expect(deliveries.map((d) => [d.attempt, d.status_code, d.error, d.at, d.next_attempt_at])).toEqual([
			[3, 200, null, iso(t2), null],
			[2, null, "connection_failed", iso(t1), iso(t2)],
			[1, 503, "http_503", iso(t0), iso(t1)],
		]);
		expect(new Set(deliveries.map((d) => d.message_id))).toEqual(new Set([seen[0]!.webhook_id]));
		expect((await messagesOf(ep.webhook_id))[0]).toMatchObject({ state: "delivered", attempts: 3 });
	});

	it("gives a receiver that never answers a bounded time, records the timeout, and tries again", async () => {
		const ep = await endpoint(["hang", "ok"]);
		const t0 = Date.now();
		const { states } = await publish(ep, transferEvent(t0), t0, 50);
		expect(states).toEqual(["pending"]);
		const [first] = await deliveriesOf(ep.webhook_id);
		expect(first).toMatchObject({ attempt: 1, status_code: null, error: "timeout", next_attempt_at: iso(t0 + RETRY_DELAYS_MS[0]) });

		await deliverDue(env, t0 + RETRY_DELAYS_MS[0], { send, timeoutMs: 50 });
		const deliveries = await deliveriesOf(ep.webhook_id);
		expect(deliveries.map((d) => [d.attempt, d.status_code])).toEqual([
			[2, 200],
			[1, null],
		]);
		const seen = receiver.seen(ep.url);
		expect(seen).toHaveLength(2);
		expect(seen[0]!.webhook_id).toBe(seen[1]!.webhook_id);
	});

	it("a failing endpoint's new events wait for the reconciler instead of a first attempt in the consumer", async () => {
		const ep = await endpoint(["fail", "ok"]);
		const t0 = Date.now();
		await publish(ep, transferEvent(t0), t0);
		const { jobs } = await publish(ep, transferEvent(t0 + 1000), t0 + 1000);
		expect(jobs).toEqual([]);
		expect(receiver.seen(ep.url)).toHaveLength(1);
		const due = await messagesOf(ep.webhook_id);
		expect(due[1]).toMatchObject({ state: "pending", attempts: 0, next_attempt_at: iso(t0 + 1000) });
		await deliverDue(env, t0 + 1000, { send });
		expect((await messagesOf(ep.webhook_id))[1]).toMatchObject({ state: "delivered", attempts: 1 });
	});
});

describe("inward targets at delivery time", () => {
	it("a redirect is a failure recorded as http_302, never followed, whatever its Location", async () => {
		const ep = await endpoint(["redirect", "ok"]);
		const t0 = Date.now();
		const { states } = await publish(ep, transferEvent(t0), t0);
		expect(states).toEqual(["pending"]);
		const seen = receiver.seen(ep.url);
		expect(seen).toHaveLength(1);
		expect(seen[0]!.redirect).toBe("manual");
		expect(await deliveriesOf(ep.webhook_id)).toMatchObject([{ attempt: 1, status_code: 302, error: "http_302", next_attempt_at: iso(t0 + RETRY_DELAYS_MS[0]) }]);
	});

	it("an endpoint stored before the rule, on a private address, is not sent to: each attempt is recorded as target_refused", async () => {
		const webhookId = uid("wh");
		const url = "https://10.0.0.1/hooks";
		await env.DB.prepare(`INSERT INTO webhook_endpoints (webhook_id, url, events, description, secret, active, created_at) VALUES (?, ?, '["transfer.updated"]', NULL, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1, ?)`)
			.bind(webhookId, url, new Date().toISOString())
			.run();
		forgetEndpoints();
		let sent = 0;
		const counting: typeof send = (u, init) => {
			if (u === url) sent++;
			return send(u, init);
		};
		const t0 = Date.now();
		const jobs = (await storeMessages(env, [transferEvent(t0)], t0)).filter((j) => j.webhook_id === webhookId);
		expect(jobs).toHaveLength(1);
		await attemptAll(env, jobs, t0, { send: counting });
		await deliverDue(env, t0 + RETRY_DELAYS_MS[0], { send: counting });
		expect(sent).toBe(0);
		const deliveries = await deliveriesOf(webhookId);
		expect(deliveries.map((d) => [d.attempt, d.status_code, d.error])).toEqual([
			[2, null, "target_refused"],
			[1, null, "target_refused"],
		]);
	});
});

describe("one webhook-id per event and endpoint", () => {
	it("storing the same event again (a redelivered queue message, a re-sent event) adds no message and sends nothing new", async () => {
		const ep = await endpoint(["fail", "ok"]);
		const t0 = Date.now();
		const event = transferEvent(t0);
		const first = await publish(ep, event, t0);
		expect(first.jobs).toHaveLength(1);
		const again = await publish(ep, event, t0 + 10);
		expect(again.jobs).toEqual([]);
		expect(await messagesOf(ep.webhook_id)).toHaveLength(1);
		await deliverDue(env, t0 + RETRY_DELAYS_MS[0], { send });
		const seen = receiver.seen(ep.url);
		expect(seen).toHaveLength(2);
		expect(seen[1]!.webhook_id).toBe(seen[0]!.webhook_id);
		expect(seen[1]!.webhook_id).toBe(first.jobs[0]!.message_id);
	});

	it("the same event at two endpoints has two different webhook-ids, the same body", async () => {
		const a = await endpoint();
		const b = await endpoint();
		const t0 = Date.now();
		await publish(a, transferEvent(t0), t0);
		const [sa] = receiver.seen(a.url);
		const [sb] = receiver.seen(b.url);
		expect(sa!.webhook_id).not.toBe(sb!.webhook_id);
		expect(sa!.body).toBe(sb!.body);
	});
});

describe("an endpoint that fails everything", () => {
	/** Runs every due attempt up to `until`, in schedule order. */
	async function runUntil(until: number, timeoutMs?: number) {
		for (;;) {
			const { results } = await env.DB.prepare(`SELECT MIN(next_attempt_at) AS next FROM webhook_messages m JOIN webhook_endpoints e USING (webhook_id) WHERE m.state = 'pending' AND e.active = 1`).all<{ next: string | null }>();
			const next = results[0]?.next ? Date.parse(results[0].next) : null;
			if (next === null || next > until) return;
			await deliverDue(env, next, { send, timeoutMs });
		}
	}

	it("is disabled once it has failed for 24 hours (an error log line says so); until then it is retried", async () => {
		const errors = vi.spyOn(console, "error");
		const ep = await endpoint(["fail"]);
		const t0 = Date.now();
		await publish(ep, transferEvent(t0), t0);
		// A second event while it is failing.
		await runUntil(t0 + 20 * 3600_000);
		await publish(ep, transferEvent(t0 + 20 * 3600_000), t0 + 20 * 3600_000);
		await runUntil(t0 + 24 * 3600_000 - 1);
		let listed = (await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks.find((w: { webhook_id: string }) => w.webhook_id === ep.webhook_id);
		expect(listed).toMatchObject({ active: true, disabled_at: null });
		const before = receiver.seen(ep.url).length;
		expect(before).toBeGreaterThan(8);

		await runUntil(t0 + 48 * 3600_000);
		listed = (await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks.find((w: { webhook_id: string }) => w.webhook_id === ep.webhook_id);
		expect(listed.active).toBe(false);
		expect(Date.parse(listed.disabled_at)).toBeGreaterThanOrEqual(t0 + 24 * 3600_000);
		const disabledLines = errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"endpoint_disabled"') && l.includes(ep.webhook_id));
		expect(disabledLines).toHaveLength(1);
		expect(JSON.parse(disabledLines[0]!)).toMatchObject({ level: "error", tag: "[webhooks]", webhook_id: ep.webhook_id });
		// Nothing is pending for it any more, nothing new is stored for it, nothing more is sent.
		expect((await messagesOf(ep.webhook_id)).map((m) => m.state)).toEqual(["failed", "failed"]);
		const sent = receiver.seen(ep.url).length;
		expect((await publish(ep, transferEvent(t0 + 49 * 3600_000), t0 + 49 * 3600_000)).jobs).toEqual([]);
		await runUntil(t0 + 100 * 3600_000);
		expect(receiver.seen(ep.url)).toHaveLength(sent);
		expect(await messagesOf(ep.webhook_id)).toHaveLength(2);
		// Every attempt is listed.
		expect(await deliveriesOf(ep.webhook_id)).toHaveLength(sent);
		errors.mockRestore();
	});

	it("is not disabled when a success came in between: 24 hours are counted from the first failure after the last success", async () => {
		// Event 1 fails 7 times (until t0 + 7.6 h); event 2 at t0 + 10 h succeeds; event 1 then fails twice more and is given up at t0 + 27.6 h.
		const ep = await endpoint(["fail", "fail", "fail", "fail", "fail", "fail", "fail", "ok", "fail"]);
		const t0 = Date.now();
		await publish(ep, transferEvent(t0), t0);
		await runUntil(t0 + 10 * 3600_000);
		await publish(ep, transferEvent(t0 + 10 * 3600_000), t0 + 10 * 3600_000);
		await runUntil(t0 + 100 * 3600_000);
		const states = (await messagesOf(ep.webhook_id)).map((m) => [m.state, m.attempts]);
		expect(states).toEqual([
			["failed", RETRY_DELAYS_MS.length + 1],
			["delivered", 1],
		]);
		const listed = (await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks.find((w: { webhook_id: string }) => w.webhook_id === ep.webhook_id);
		expect(listed).toMatchObject({ active: true, disabled_at: null });
		const last = (await deliveriesOf(ep.webhook_id))[0];
		expect(last).toMatchObject({ attempt: RETRY_DELAYS_MS.length + 1, next_attempt_at: null });
	});
});
