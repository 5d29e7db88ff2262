/**
 * Fairness of the reconciler's deliveries across endpoints: a dead endpoint's
 * backlog never delays another endpoint's due retries. Backlogs are written
 * straight into D1 (a thousand messages through the API would take most of
 * the run); time is driven through `now`.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverDue } from "../../src/webhooks/delivery";
import { forgetEndpoints } from "../../src/webhooks/endpoints";
import { uid } from "../helpers/http";
import { messagesOf, register, scriptedReceiver } from "../helpers/webhooks";

const receiver = scriptedReceiver();
const send = receiver.send;
const iso = (ms: number) => new Date(ms).toISOString();

/** `count` pending messages for `webhookId`, all due at `dueAt` (one statement). */
async function backlog(webhookId: string, count: number, dueAt: number, attempts = 0) {
	await env.DB.prepare(
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		 INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at)
		 SELECT 'msg_' || ? || '_' || i, ?, 'evt_' || ? || '_' || i, 'transfer.updated', '{"id":"evt","type":"transfer.updated","occurred_at":"","data":{}}', 'pending', ?, ?, ? FROM n`,
	)
		.bind(count, webhookId, webhookId, webhookId, attempts, iso(dueAt - 60_000), iso(dueAt))
		.run();
}

async function endpoint(script: Parameters<typeof receiver.listen>[2]) {
	const url = `https://hooks.shop.example/${uid("in")}`;
	const ep = await register(url, ["transfer.updated"]);
	receiver.listen(url, ep.secret, script);
	return ep;
}

async function markFailingSince(webhookId: string, since: number) {
	await env.DB.prepare(`UPDATE webhook_endpoints SET failing_since = ? WHERE webhook_id = ?`).bind(iso(since), webhookId).run();
	// Written behind the isolate's copy of the endpoints, as its own attempts would: the copy goes.
	forgetEndpoints();
}

describe("one failing endpoint never delays another's deliveries", () => {
	it("a dead endpoint known to be failing, with 1,000 due messages, costs one probe per run; a healthy endpoint's due retry is delivered in the first run", async () => {
		const now = Date.now() + 3600_000;
		const dead = await endpoint(["fail"]);
		const healthy = await endpoint(["ok"]);
		await markFailingSince(dead.webhook_id, now - 3600_000);
		// The dead endpoint's backlog is older: due first by time alone.
		await backlog(dead.webhook_id, 1000, now - 30 * 60_000, 3);
		await backlog(healthy.webhook_id, 1, now - 1000, 1);

		const report = await deliverDue(env, now, { send });
		expect((await messagesOf(healthy.webhook_id)).map((m) => m.state)).toEqual(["delivered"]);
		expect(receiver.seen(dead.url)).toHaveLength(1);
		expect(report).toEqual({ attempted: 2, delivered: 1, failed: 1 });
		// The probe failed: the next run probes once more, no more.
		await deliverDue(env, now + 60_000, { send });
		expect(receiver.seen(dead.url)).toHaveLength(2);
		const pending = (await messagesOf(dead.webhook_id)).filter((m) => m.state === "pending");
		expect(pending).toHaveLength(1000);
	});

	it("an endpoint not yet known to be failing, with 1,000 due messages, takes only its share of a run; the healthy one's retry goes in the first run", async () => {
		const now = Date.now() + 7200_000;
		const dead = await endpoint(["fail"]);
		const healthy = await endpoint(["ok"]);
		await backlog(dead.webhook_id, 1000, now - 30 * 60_000);
		await backlog(healthy.webhook_id, 1, now - 1000, 1);

		await deliverDue(env, now, { send });
		expect((await messagesOf(healthy.webhook_id)).map((m) => m.state)).toEqual(["delivered"]);
		const first = receiver.seen(dead.url).length;
		expect(first).toBeGreaterThan(0);
		expect(first).toBeLessThan(50);
		// Its failures mark it failing: from the next run on, one probe per run.
		await deliverDue(env, now + 60_000, { send });
		expect(receiver.seen(dead.url).length - first).toBe(1);
	});

	it("an endpoint that recovers gets its backlog delivered, many per run", async () => {
		const now = Date.now() + 10_800_000;
		const back = await endpoint(["ok"]);
		await markFailingSince(back.webhook_id, now - 3600_000);
		await backlog(back.webhook_id, 100, now - 60_000, 2);
		// The probe succeeds and clears the failing streak...
		await deliverDue(env, now, { send });
		expect(receiver.seen(back.url)).toHaveLength(1);
		// ...so the next runs take the backlog at the healthy rate.
		for (let run = 1; run <= 5; run++) await deliverDue(env, now + run * 60_000, { send });
		expect((await messagesOf(back.webhook_id)).filter((m) => m.state === "delivered")).toHaveLength(100);
	});
});
