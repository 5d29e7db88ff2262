/**
 * The payment window: the reconciler cancels orders left pending and unpaid past
 * PAYMENT_WINDOW_SECONDS (history by "system", reason payment_window_elapsed,
 * stock restored once, events out, allowance back); a payment that arrives
 * after that is answered 200 and refunded; the window racing a payment or a
 * customer's cancel ends in exactly one terminal state with one restock at most.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { emailFor } from "../../src/events/email";
import type { OrderStatusChanged } from "../../src/events/types";
import { reconcile } from "../../src/ops/reconcile";
import { cancelUnpaid, overdueOrders } from "../../src/ops/unpaid";
import { admin, call } from "../helpers/http";
import {
	customerWithOrder,
	eventsFlushed,
	expectHistoryChain,
	expectSettled,
	historyOf,
	orderAgain,
	orderState,
	paymentEvent,
	recordEvents,
	webhook,
	type Item,
} from "../helpers/orders";
import { makeShop, onHand } from "../helpers/shop";
import { ledgerOf } from "../helpers/stock";
import { sleep } from "../helpers/time";
import { dbOfCustomer, dbOfOrder } from "../helpers/shards";

const WINDOW_MS = 1_800_000;
const events = recordEvents();
let product: string;
let warehouse: string;
let items: Item[];

beforeAll(async () => {
	const shop = await makeShop({ price: 12.5, warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 1000 } }] });
	product = shop.products[0]!;
	warehouse = shop.warehouses[0]!;
	// Limited, so the allowance given back by a window cancel is visible too.
	const r = await call("PUT", `/admin/products/${product}`, { auth: await admin(), body: { name: "Product 0", price: 12.5, sizes: ["S", "M", "L"], max_per_customer: 50 } });
	expect(r.status).toBe(200);
	items = [{ product_id: product, size: "M", quantity: 2 }];
});

/** A sweep whose window has passed for every order placed until now. */
const sweepNow = () => cancelUnpaid(env, Date.now() + 1, 1);

async function restocks(orderId: string) {
	return (await ledgerOf(warehouse, orderId)).filter((e) => e.reason === "restock").map((e) => e.on_hand_delta);
}

async function counter(userId: string): Promise<number> {
	const row = await dbOfCustomer(userId).prepare(`SELECT units FROM customer_product_units WHERE user_id = ? AND product_id = ?`).bind(userId, product).first<{ units: number }>();
	return row?.units ?? 0;
}

describe("payment window", () => {
	it("cancels an unpaid order past the window: system history, stock restored once, cancelled event and mail, allowance back", async () => {
		const c = await customerWithOrder(items, { email: "late@example.com" });
		const id = c.order.order_id;
		expect(await counter(c.sub)).toBe(2);

		// Inside the window: untouched.
		await cancelUnpaid(env, Date.now(), WINDOW_MS);
		expect(await orderState(id)).toMatchObject({ status: "pending", payment_status: "pending" });

		const report = await cancelUnpaid(env, Date.parse(c.order.created_at) + WINDOW_MS + 1_000, WINDOW_MS);
		expect(report.cancelled).toBeGreaterThanOrEqual(1);
		expect(report.failures).toBe(0);
		expect(await orderState(id)).toMatchObject({ status: "cancelled", payment_status: "pending" });
		const history = await historyOf(id);
		expectHistoryChain(history, "cancelled");
		expect(history.at(-1)).toMatchObject({ old_status: "pending", new_status: "cancelled", changed_by: "system", reason: "payment_window_elapsed" });
		expect(await restocks(id)).toEqual([2]);
		expect(await counter(c.sub)).toBe(0);

		await eventsFlushed(id);
		const cancelled = events.forOrder(id).filter((e) => e.type === "order.status_changed" && e.new_status === "cancelled") as OrderStatusChanged[];
		expect(cancelled).toHaveLength(1);
		expect(cancelled[0]).toMatchObject({ changed_by: "system", reason: "payment_window_elapsed", customer_email: "late@example.com" });
		expect(emailFor(cancelled[0]!)?.text).toContain("payment did not arrive in time");

		// A second run finds nothing more to do for it.
		await sweepNow();
		expect(await restocks(id)).toEqual([2]);
		expect((await historyOf(id)).length).toBe(history.length);
		await expectSettled();
	});

	it("a failed payment still counts as unpaid; a paid order is never touched; a window of 0 never cancels", async () => {
		const failed = await customerWithOrder(items);
		const paid = await customerWithOrder(items);
		const spared = await customerWithOrder(items);
		expect((await webhook(paymentEvent(failed.order, "payment.failed"))).status).toBe(200);
		expect((await webhook(paymentEvent(paid.order))).status).toBe(200);

		await cancelUnpaid(env, Date.now() + 10 * WINDOW_MS, 0);
		expect((await orderState(spared.order.order_id)).status).toBe("pending");

		await sweepNow();
		expect(await orderState(failed.order.order_id)).toMatchObject({ status: "cancelled", payment_status: "failed" });
		expect((await historyOf(failed.order.order_id)).at(-1)).toMatchObject({ changed_by: "system", reason: "payment_window_elapsed" });
		expect(await orderState(paid.order.order_id)).toMatchObject({ status: "paid", payment_status: "paid" });
		expect(await restocks(paid.order.order_id)).toEqual([]);
		expect(await orderState(spared.order.order_id)).toMatchObject({ status: "cancelled" });
		await expectSettled();
	});

	it("the cron reconciler runs it with PAYMENT_WINDOW_SECONDS (1800 by default)", async () => {
		const c = await customerWithOrder(items);
		await reconcile(env, Date.now() + 60_000);
		expect((await orderState(c.order.order_id)).status).toBe("pending");
		const report = await reconcile(env, Date.parse(c.order.created_at) + WINDOW_MS + 60_000);
		expect(report.unpaid_cancelled).toBeGreaterThanOrEqual(1);
		expect(await orderState(c.order.order_id)).toMatchObject({ status: "cancelled" });
		expect(await restocks(c.order.order_id)).toEqual([2]);
	});

	it("sweeps each shard in bounded pages, oldest first, and the query uses an index", async () => {
		// Two orders of one customer: both in that customer's shard.
		const a = await customerWithOrder(items);
		const again = await orderAgain(a.auth, items);
		expect(again.status, JSON.stringify(again.body)).toBe(201);
		const b = { order: again.body as { order_id: string } };
		const db = dbOfOrder(a.order.order_id);
		expect(dbOfOrder(b.order.order_id)).toBe(db);
		const cutoff = new Date(Date.now() + 1).toISOString();
		const first = await overdueOrders(db, cutoff, 1, null);
		expect(first).toHaveLength(1);
		const rest = await overdueOrders(db, cutoff, 100, first[0]!);
		const ids = [...first, ...rest].map((o) => o.order_id);
		expect(ids).toContain(a.order.order_id);
		expect(ids).toContain(b.order.order_id);
		expect(ids.indexOf(a.order.order_id)).toBeLessThan(ids.indexOf(b.order.order_id));
		expect(new Set(ids).size).toBe(ids.length);
		const { results: plan } = await db.prepare(
			`EXPLAIN QUERY PLAN SELECT order_id, created_at FROM orders
			 WHERE status = 'pending' AND payment_status IN ('pending', 'failed') AND created_at < ?1
			   AND (?2 IS NULL OR (created_at, order_id) > (?2, ?3))
			 ORDER BY created_at, order_id LIMIT ?4`,
		)
			.bind(cutoff, null, "", 50)
			.all<{ detail: string }>();
		expect(plan.map((p) => p.detail).join(" | ")).toMatch(/USING INDEX orders_status_created/);
		await sweepNow();
	});

	it("a successful payment arriving after the window cancelled the order is answered 200, recorded and refunded; stock is not touched again", async () => {
		const c = await customerWithOrder(items);
		const id = c.order.order_id;
		await sweepNow();
		expect((await orderState(id)).status).toBe("cancelled");
		const stockBefore = await onHand(warehouse, product, "M");

		const pay = paymentEvent(c.order);
		const r = await webhook(pay);
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body).toMatchObject({ received: true, order_id: id, status: "cancelled", payment_status: "refund_pending" });
		const recorded = await dbOfOrder(id).prepare(`SELECT type FROM payment_events WHERE event_id = ?`).bind(pay.id).first<{ type: string }>();
		expect(recorded).toEqual({ type: "payment.succeeded" });
		await eventsFlushed(id);
		const refunds = events.forOrder(id).filter((e) => e.type === "payment.refund_requested");
		expect(refunds).toEqual([expect.objectContaining({ order_id: id, payment_event_id: pay.id, amount: c.order.total, currency: c.order.currency, reason: "paid_after_cancel" })]);
		expect(await onHand(warehouse, product, "M")).toEqual(stockBefore);
		expect(await restocks(id)).toEqual([2]);
		// The provider retrying it changes nothing.
		expect((await webhook(pay)).body).toMatchObject({ duplicate: true, status: "cancelled", payment_status: "refund_pending" });
		expect(events.forOrder(id).filter((e) => e.type === "payment.refund_requested")).toHaveLength(1);
	});
});

describe("payment window races", () => {
	it("the window racing a payment: one terminal state; restocked once if cancelled (then refunded), never if paid", async () => {
		const outcomes: string[] = [];
		// Head starts for the payment, so that both sides get to win some rounds (no round's outcome is assumed).
		for (const headStartMs of [0, 0, 5, 15, 40, 80]) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			const [report, paid] = await Promise.all([sleep(headStartMs).then(sweepNow), webhook(paymentEvent(c.order))]);
			expect(report.failures).toBe(0);
			expect(paid.status, JSON.stringify(paid.body)).toBe(200);
			const state = await orderState(id);
			const history = await historyOf(id);
			if (state.status === "cancelled") {
				// The window won: the payment found a cancelled order and its refund is requested.
				expect(state.payment_status).toBe("refund_pending");
				expect(await restocks(id)).toEqual([2]);
				expect(history.filter((h) => h.new_status === "cancelled" && h.old_status !== "cancelled")).toEqual([
					expect.objectContaining({ old_status: "pending", changed_by: "system", reason: "payment_window_elapsed" }),
				]);
				// The late payment is its own row: money in, straight back out.
				expect(history.at(-1)).toMatchObject({ old_status: "cancelled", new_status: "cancelled", changed_by: "payment-webhook" });
				expect(await counter(c.sub)).toBe(0);
			} else {
				// The payment won: the sweep saw it paid and left it alone.
				expect(state).toMatchObject({ status: "paid", payment_status: "paid" });
				expect(await restocks(id)).toEqual([]);
				expect(history.some((h) => h.new_status === "cancelled")).toBe(false);
				expect(await counter(c.sub)).toBe(2);
			}
			expectHistoryChain(history, state.status);
			outcomes.push(state.status);
		}
		await expectSettled();
		expect(outcomes.every((o) => o === "cancelled" || o === "paid"), outcomes.join(",")).toBe(true);
	});

	it("the window racing the customer's own cancel: cancelled once, one history row, one restock, allowance back once", async () => {
		for (const headStartMs of [0, 0, 5, 15, 40, 80]) {
			const c = await customerWithOrder(items);
			const id = c.order.order_id;
			const [report, cancel] = await Promise.all([sleep(headStartMs).then(sweepNow), call("POST", `/orders/${id}/cancel`, { auth: c.auth, body: { reason: "too slow" } })]);
			expect(report.failures).toBe(0);
			expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
			expect(cancel.body.status).toBe("cancelled");
			const history = await historyOf(id);
			expectHistoryChain(history, "cancelled");
			const cancels = history.filter((h) => h.new_status === "cancelled");
			expect(cancels).toHaveLength(1);
			expect([
				[c.sub, "too slow"],
				["system", "payment_window_elapsed"],
			]).toContainEqual([cancels[0]!.changed_by, cancels[0]!.reason]);
			expect(await restocks(id)).toEqual([2]);
			expect(await counter(c.sub)).toBe(0);
			await eventsFlushed(id);
			expect(events.forOrder(id).filter((e) => e.type === "order.status_changed" && e.new_status === "cancelled")).toHaveLength(1);
		}
		await expectSettled();
	});
});
