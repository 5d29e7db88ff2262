/**
 * End to end over a real socket: the Worker (queue consumer, reconciler step)
 * POSTs to the Node-side receiver of test/webhooks/receiver.mts on 127.0.0.1,
 * which checks every signature with its own node:crypto implementation of the
 * Standard Webhooks spec. Needs WEBHOOK_ALLOW_HTTP_LOCALHOST=true (vitest.config.ts).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { attemptAll, deliverDue, storeMessages } from "../../src/webhooks/delivery";
import { RETRY_DELAYS_MS } from "../../src/webhooks/schedule";
import { admin, call, uid } from "../helpers/http";
import { deliverBatch } from "../helpers/queue";
import { advance, customerWithOrder } from "../helpers/orders";
import { makeShop, type Shop } from "../helpers/shop";
import { deliveriesOf, messagesOf, register, transferEvent } from "../helpers/webhooks";

const base = inject("webhookReceiver");

interface Received {
	webhook_id: string;
	timestamp: string;
	content_type: string;
	body: string;
	verified: boolean;
	problem: string | null;
	answer: string;
}

/** A receiver inbox at the Node server, registered as an endpoint for `events`. */
async function inbox(events: string[], script: Array<"ok" | "fail" | "hang"> = ["ok"]) {
	const name = uid("in");
	const ep = await register(`${base}/hook/${name}`, events);
	const r = await fetch(`${base}/_inbox/${name}`, { method: "PUT", body: JSON.stringify({ secret: ep.secret, script }) });
	expect(r.status).toBe(204);
	return {
		ep,
		received: async (): Promise<Received[]> => ((await (await fetch(`${base}/_inbox/${name}`)).json()) as { received: Received[] }).received,
	};
}

let shop: Shop;
beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 100 } }] });
});

describe("webhooks over a real socket", () => {
	it("an order's placed, paid and shipped events reach the receiver signed and verifiable, through the queue consumer", async () => {
		const { ep, received } = await inbox(["order.placed", "order.paid", "order.shipped"]);
		const c = await customerWithOrder([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const id = c.order.order_id;
		await advance(id, "shipped", "TRK-HOOK-1");
		const mine = async () => (await received()).filter((r) => (JSON.parse(r.body) as { data: { order_id?: string } }).data.order_id === id);
		await vi.waitFor(async () => expect(await mine()).toHaveLength(3), { timeout: 20_000, interval: 100 });
		const got = await mine();
		expect(got.every((r) => r.verified && r.problem === null)).toBe(true);
		expect(got.every((r) => r.content_type === "application/json")).toBe(true);
		const bodies = got.map((r) => JSON.parse(r.body));
		expect(bodies.map((b) => b.type).sort()).toEqual(["order.paid", "order.placed", "order.shipped"]);
		expect(bodies.find((b) => b.type === "order.placed")).toEqual({
			id: `evt_placed_${id}`,
			type: "order.placed",
			occurred_at: c.order.created_at,
			data: expect.objectContaining({ order_id: id, user_id: c.sub, status: "pending", previous_status: null, total: c.order.total, currency: "USD" }),
		});
		expect(bodies.find((b) => b.type === "order.shipped").data).toMatchObject({ status: "shipped", tracking_number: "TRK-HOOK-1" });
		// Processing is not an event the shop's systems get; each delivery its own webhook-id.
		expect(new Set(got.map((r) => r.webhook_id)).size).toBe(3);
		const deliveries = (await deliveriesOf(ep.webhook_id)).filter((d) => got.some((r) => r.webhook_id === d.message_id));
		expect(deliveries.map((d) => [d.attempt, d.status_code, d.error])).toEqual([
			[1, 200, null],
			[1, 200, null],
			[1, 200, null],
		]);
	});

	it("stock changes reach the receiver as stock.changed with the unit's levels", async () => {
		const { received } = await inbox(["stock.changed"]);
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const r = await call("PUT", `/admin/warehouses/${w}/stock`, { auth: await admin(), body: { items: [{ product_id: p, size: "S", on_hand: 42 }] } });
		expect(r.status).toBe(200);
		await vi.waitFor(
			async () => {
				const bodies = (await received()).map((x) => JSON.parse(x.body));
				expect(bodies).toContainEqual({
					id: expect.stringMatching(/^evt_chg_/),
					type: "stock.changed",
					occurred_at: expect.any(String),
					data: { warehouse_id: w, product_id: p, size: "S", on_hand: 42, reserved: 0, available: 42 },
				});
			},
			{ timeout: 20_000, interval: 100 },
		);
		expect((await received()).every((x) => x.verified)).toBe(true);
	});

	it("a refused connection is recorded as connection_failed, without the runtime's own message", async () => {
		// Nothing listens on port 1: the connection is refused.
		const ep = await register(`http://127.0.0.1:1/${uid("closed")}`, ["transfer.updated"]);
		const t0 = Date.now();
		const jobs = (await storeMessages(env, [transferEvent()], t0)).filter((j) => j.webhook_id === ep.webhook_id);
		await attemptAll(env, jobs, t0, { timeoutMs: 5_000 });
		const [first] = await deliveriesOf(ep.webhook_id);
		expect(first).toMatchObject({ attempt: 1, status_code: null, error: "connection_failed" });
	});

	it("a receiver that never answers gets a bounded attempt, recorded as a timeout, then a retry that is delivered", async () => {
		const { ep, received } = await inbox(["transfer.updated"], ["hang", "ok"]);
		const t0 = Date.now();
		const jobs = (await storeMessages(env, [transferEvent()], t0)).filter((j) => j.webhook_id === ep.webhook_id);
		await attemptAll(env, jobs, t0, { timeoutMs: 300 });
		const [first] = await deliveriesOf(ep.webhook_id);
		expect(first).toMatchObject({ attempt: 1, status_code: null, error: "timeout" });
		await deliverDue(env, t0 + RETRY_DELAYS_MS[0], { timeoutMs: 2_000 });
		expect((await deliveriesOf(ep.webhook_id)).map((d) => [d.attempt, d.status_code])).toEqual([
			[2, 200],
			[1, null],
		]);
		const got = await received();
		expect(got.map((r) => [r.answer, r.verified])).toEqual([
			["hang", true],
			["ok", true],
		]);
		expect(got[1]!.webhook_id).toBe(got[0]!.webhook_id);
	});

	it("a redelivered queue message adds no second webhook-id: a failing receiver gets the same id again on retry", async () => {
		const { ep, received } = await inbox(["transfer.updated"], ["fail", "ok"]);
		const event = transferEvent();
		const first = await deliverBatch([event]);
		expect(first.result.retryMessages).toEqual([]);
		expect((await received()).map((r) => r.answer)).toEqual(["fail"]);
		// The queue delivers it again, as if the consumer had died before recording it as processed.
		await env.DB.prepare(`DELETE FROM processed_events WHERE event_id = ?`).bind(event.event_id).run();
		await deliverBatch([event]);
		// And once more, this time recognised as a duplicate.
		await deliverBatch([event]);
		expect(await received()).toHaveLength(1);
		expect(await messagesOf(ep.webhook_id)).toHaveLength(1);

		await deliverDue(env, Date.now() + RETRY_DELAYS_MS[0]);
		const got = await received();
		expect(got.map((r) => [r.answer, r.verified])).toEqual([
			["fail", true],
			["ok", true],
		]);
		expect(new Set(got.map((r) => r.webhook_id)).size).toBe(1);
		expect((await messagesOf(ep.webhook_id))[0]).toMatchObject({ message_id: got[0]!.webhook_id, state: "delivered", attempts: 2 });
	});
});
