/**
 * An order's events reach every receiver in the order they happened, in the
 * production default (the holds are committed after the answer): the webhook
 * receiver on 127.0.0.1 (test/webhooks/receiver.mts), the customer's mails,
 * and the queue itself. `order.placed` is first, within a few seconds of the
 * 201, even when the order changes while its commit is still gathering, and
 * every order event carries its per-order `sequence`.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import type { OrderStatusChanged } from "../../src/events/types";
import { call, uid } from "../helpers/http";
import { captureLogs, paymentEvent, recordEvents, setStatus, tokenWithEmail, webhook } from "../helpers/orders";
import { ADDRESS, makeShop, type Shop } from "../helpers/shop";
import { register } from "../helpers/webhooks";

const base = inject("webhookReceiver");
const events = recordEvents();
const logs = captureLogs();
afterAll(() => logs.stop());

interface Received {
	body: string;
	verified: boolean;
}

/** An inbox at the Node receiver, registered for every order event type. */
async function orderInbox() {
	const name = uid("in");
	const ep = await register(`${base}/hook/${name}`, ["order.placed", "order.paid", "order.cancelled", "order.shipped", "order.delivered"]);
	const r = await fetch(`${base}/_inbox/${name}`, { method: "PUT", body: JSON.stringify({ secret: ep.secret, script: ["ok"] }) });
	expect(r.status).toBe(204);
	return {
		/** What reached the receiver for `orderId`, in arrival order. */
		async of(orderId: string): Promise<Array<{ type: string; data: Record<string, any> }>> {
			const { received } = (await (await fetch(`${base}/_inbox/${name}`)).json()) as { received: Received[] };
			expect(received.every((x) => x.verified)).toBe(true);
			return received.map((x) => JSON.parse(x.body)).filter((b) => b.data.order_id === orderId);
		},
	};
}

/** The status events handed to the queue for `orderId`, in the order they were sent. */
function queued(orderId: string): OrderStatusChanged[] {
	return events.forOrder(orderId).filter((e): e is OrderStatusChanged => e.type === "order.status_changed");
}

/** Subjects of the mails the consumer sent (or logged, without a mail binding) for `orderId`, in order. */
function mails(orderId: string): string[] {
	return logs
		.lines("[events]")
		.filter((l) => (l.event === "email_sent" || l.event === "email_logged") && l.order_id === orderId)
		.map((l) => String(l.subject));
}

let shop: Shop;
let inbox: Awaited<ReturnType<typeof orderInbox>>;
beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 100 } }] });
	inbox = await orderInbox();
});

/** A customer's order, answered 201 just now: not waiting for its gathered commit, which is what these tests race. */
async function placedJustNow(email?: string) {
	const auth = await tokenWithEmail(uid("user"), email);
	expect((await call("POST", "/cart/items", { auth, body: { product_id: shop.products[0]!, size: "M", quantity: 1 } })).status).toBe(200);
	expect((await call("PUT", "/cart/address", { auth, body: ADDRESS })).status).toBe(200);
	const r = await call("POST", "/cart/place-order", { auth, body: {} });
	expect(r.status, JSON.stringify(r.body)).toBe(201);
	return { auth, order: r.body as { order_id: string; total: number; currency: string } };
}

describe("an order's events, in the production default", () => {
	it("an order cancelled right after its 201 sends order.placed, then order.cancelled, within a few seconds, with sequences 1 and 2", async () => {
		const c = await placedJustNow("ada@example.com");
		const id = c.order.order_id;
		const placedAt = Date.now();
		const r = await call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: {} });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		await vi.waitFor(async () => expect((await inbox.of(id)).map((b) => b.type)).toEqual(["order.placed", "order.cancelled"]), { timeout: 5_000, interval: 50 });
		expect(Date.now() - placedAt).toBeLessThan(5_000);
		expect((await inbox.of(id)).map((b) => b.data.sequence)).toEqual([1, 2]);
		expect(queued(id).map((e) => [e.new_status, e.sequence])).toEqual([
			["pending", 1],
			["cancelled", 2],
		]);
		await vi.waitFor(() => expect(mails(id)).toEqual([`Order ${id} received`, `Order ${id} cancelled`]), { timeout: 5_000, interval: 50 });
	});

	it("an order paid right after its 201 sends order.placed, then order.paid, within a few seconds", async () => {
		const c = await placedJustNow();
		const id = c.order.order_id;
		const placedAt = Date.now();
		const paid = await webhook(paymentEvent(c.order));
		expect(paid.status, JSON.stringify(paid.body)).toBe(200);
		await vi.waitFor(async () => expect((await inbox.of(id)).map((b) => b.type)).toEqual(["order.placed", "order.paid"]), { timeout: 5_000, interval: 50 });
		expect(Date.now() - placedAt).toBeLessThan(5_000);
		expect((await inbox.of(id)).map((b) => b.data.sequence)).toEqual([1, 2]);
		expect(queued(id).map((e) => e.sequence)).toEqual([1, 2]);
	});

	it("the demo data's orders, moved along right after their 201s, mail 'received' before 'has shipped' or 'cancelled'", async () => {
		// As scripts/lib/demo.mjs does: place, then the admin moves each order along its path at once.
		const paths = [["paid", "processing", "shipped"], ["paid", "processing", "shipped", "delivered"], ["cancelled"]];
		const ids: string[] = [];
		for (const [i, path] of paths.entries()) {
			const c = await placedJustNow(`demo-${i}@example.com`);
			ids.push(c.order.order_id);
			for (const status of path) {
				const r = await setStatus(c.order.order_id, status, status === "shipped" ? { tracking_number: `1ZDEMO${i}` } : status === "cancelled" ? { reason: "demo: changed my mind" } : {});
				expect(r.status, JSON.stringify(r.body)).toBe(200);
			}
		}
		const [shipped, delivered, cancelled] = ids as [string, string, string];
		await vi.waitFor(
			() => {
				expect(mails(shipped)).toEqual([`Order ${shipped} received`, `Order ${shipped} has shipped`]);
				expect(mails(delivered)).toEqual([`Order ${delivered} received`, `Order ${delivered} has shipped`]);
				expect(mails(cancelled)).toEqual([`Order ${cancelled} received`, `Order ${cancelled} cancelled`]);
			},
			{ timeout: 10_000, interval: 50 },
		);
		// The webhook receiver saw each order's states in order, numbered without gaps from 1.
		await vi.waitFor(async () => expect((await inbox.of(delivered)).map((b) => b.type)).toEqual(["order.placed", "order.paid", "order.shipped", "order.delivered"]), {
			timeout: 10_000,
			interval: 50,
		});
		expect((await inbox.of(delivered)).map((b) => b.data.sequence)).toEqual([1, 2, 4, 5]);
		expect(queued(delivered).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
	});
});

