import { describe, expect, it } from "vitest";
import type { OrderStatusChanged } from "../../src/events/types";
import { toWebhookEvent } from "../../src/webhooks/events";
import { DISABLE_AFTER_MS, RETRY_DELAYS_MS, disableCutoff, nextAttemptAt } from "../../src/webhooks/schedule";
import { messageId, newSecret, secretKey, signature } from "../../src/webhooks/signing";
import { urlProblem } from "../../src/webhooks/url";
import { verifyStandardWebhook } from "../helpers/webhooks";

describe("signing (Standard Webhooks)", () => {
	it("matches the example in the Standard Webhooks specification", async () => {
		// Secret, id, timestamp, payload and signature as published with the spec.
		const sig = await signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
		expect(sig).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	});

	it("is accepted by the test's own verifier for fresh secrets, and only for the signed bytes", async () => {
		for (let i = 0; i < 5; i++) {
			const secret = newSecret();
			const body = JSON.stringify({ id: `evt_${i}`, type: "stock.changed", data: { n: i, s: "é✓" } });
			const sig = await signature(secret, "msg_x", 1700000000 + i, body);
			expect(await verifyStandardWebhook(secret, "msg_x", String(1700000000 + i), sig, body)).toBeNull();
			expect(await verifyStandardWebhook(secret, "msg_x", String(1700000000 + i), sig, body + " ")).not.toBeNull();
			expect(await verifyStandardWebhook(secret, "msg_y", String(1700000000 + i), sig, body)).not.toBeNull();
			expect(await verifyStandardWebhook(newSecret(), "msg_x", String(1700000000 + i), sig, body)).not.toBeNull();
		}
	});

	it("generates whsec_ secrets of 32 random bytes", () => {
		const a = newSecret();
		expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
		expect(secretKey(a)).toHaveLength(32);
		expect(newSecret()).not.toBe(a);
	});

	it("derives one webhook-id per (event, endpoint): stable, and different for another endpoint or event", async () => {
		const id = await messageId("evt_placed_o1", "wh_a");
		expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
		expect(await messageId("evt_placed_o1", "wh_a")).toBe(id);
		expect(await messageId("evt_placed_o1", "wh_b")).not.toBe(id);
		expect(await messageId("evt_placed_o2", "wh_a")).not.toBe(id);
	});
});

describe("endpoint URL rules", () => {
	it.each([
		["https://shop.example/hooks", false, null],
		["https://localhost:8443/h", false, "must be a public host (localhost is a loopback address)"],
		["http://shop.example/hooks", false, "must be https"],
		["http://localhost:3000/h", false, "must be a public host (localhost is a loopback address)"],
		["http://127.0.0.1:9000/h", false, "must be a public host (127.0.0.1 is a loopback address)"],
		["http://localhost:3000/h", true, null],
		["http://127.0.0.1:9000/h", true, null],
		["http://shop.example/h", true, "must be https (plain http only to localhost or 127.0.0.1)"],
		["http://10.0.0.1/h", true, "must be a public host (10.0.0.1 is a private address)"],
		["http://localhost.evil.example/h", true, "must be https (plain http only to localhost or 127.0.0.1)"],
		["ftp://shop.example/h", true, "must be https"],
		["shop.example/hooks", false, "must be an absolute URL"],
		["https://user:pw@shop.example/h", false, "must not carry credentials"],
	] as const)("%s (allow http localhost: %s) -> %s", (url, allow, problem) => {
		expect(urlProblem(url, allow)).toBe(problem);
	});
});

describe("retry schedule", () => {
	it("waits longer after each failure, and keeps trying for more than 24 hours before giving up", () => {
		const t0 = Date.UTC(2026, 0, 1);
		let at = t0;
		const waits: number[] = [];
		for (let attempt = 1; ; attempt++) {
			const next = nextAttemptAt(attempt, at);
			if (next === null) break;
			waits.push(next - at);
			at = next;
		}
		expect(waits).toEqual([...RETRY_DELAYS_MS]);
		for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]!);
		// The last attempt (number waits.length + 1) happens more than 24 h after the first.
		expect(at - t0).toBeGreaterThan(24 * 3600_000);
		expect(nextAttemptAt(RETRY_DELAYS_MS.length + 1, at)).toBeNull();
	});

	it("disables an endpoint whose failing streak began 24 hours or more before a failure", () => {
		const now = Date.UTC(2026, 0, 2);
		expect(DISABLE_AFTER_MS).toBe(24 * 3600_000);
		expect(disableCutoff(now)).toBe(now - 24 * 3600_000);
	});
});

describe("which events the shop's systems receive", () => {
	const change = (old_status: string | null, new_status: string): OrderStatusChanged => ({
		event_id: "evt_1",
		type: "order.status_changed",
		occurred_at: "2026-01-01T00:00:00.000Z",
		order_id: "o1",
		user_id: "u1",
		customer_email: "ada@example.com",
		old_status,
		new_status,
		payment_status: "paid",
		tracking_number: null,
		total: 12.5,
		currency: "USD",
		changed_by: "admin-1",
		reason: null,
		sequence: 2,
	});

	it.each([
		[null, "pending", "order.placed"],
		["pending", "paid", "order.paid"],
		["paid", "processing", null],
		["processing", "shipped", "order.shipped"],
		["shipped", "delivered", "order.delivered"],
		["pending", "cancelled", "order.cancelled"],
		["paid", "cancelled", "order.cancelled"],
		["paid", "paid", null],
	] as const)("order %s -> %s is %s", (from, to, type) => {
		expect(toWebhookEvent(change(from, to))?.type ?? null).toBe(type);
	});

	it("carries { id, type, occurred_at, data } with the order's fields, without the customer's email", () => {
		expect(toWebhookEvent(change("pending", "paid"))).toEqual({
			id: "evt_1",
			type: "order.paid",
			occurred_at: "2026-01-01T00:00:00.000Z",
			data: { order_id: "o1", user_id: "u1", status: "paid", previous_status: "pending", payment_status: "paid", total: 12.5, currency: "USD", tracking_number: null, changed_by: "admin-1", reason: null, sequence: 2 },
		});
	});

	it("passes stock, transfer and refund-request events on with their own type", () => {
		const at = "2026-01-01T00:00:00.000Z";
		expect(
			toWebhookEvent({ event_id: "e2", type: "stock.changed", occurred_at: at, warehouse_id: "w", product_id: "p", size: "M", on_hand: 5, reserved: 2, available: 3 }),
		).toEqual({ id: "e2", type: "stock.changed", occurred_at: at, data: { warehouse_id: "w", product_id: "p", size: "M", on_hand: 5, reserved: 2, available: 3 } });
		expect(toWebhookEvent({ event_id: "e3", type: "stock.low", occurred_at: at, warehouse_id: "w", product_id: "p", size: "M", on_hand: 1, threshold: 2 })?.data).toEqual({
			warehouse_id: "w",
			product_id: "p",
			size: "M",
			on_hand: 1,
			threshold: 2,
		});
		const transfer = {
			transfer_id: "t1",
			from_warehouse_id: "a",
			to_warehouse_id: "b",
			items: [{ product_id: "p", size: "M", quantity: 2 }],
			status: "in_transit" as const,
			reference: null,
			note: "restock",
			created_by: "admin-1",
			created_at: at,
			updated_at: at,
		};
		// The transfer's API view, as GET /admin/transfers/:id shows it.
		expect(toWebhookEvent({ event_id: "e4", type: "transfer.updated", occurred_at: at, transfer })).toEqual({ id: "e4", type: "transfer.updated", occurred_at: at, data: transfer });
		// A refund request carries the charge it gives back and why.
		expect(toWebhookEvent({ event_id: "e5", type: "payment.refund_requested", occurred_at: at, order_id: "o", payment_event_id: "pay_1", amount: 1, currency: "USD", reason: "paid_after_cancel" })).toEqual({
			id: "e5",
			type: "payment.refund_requested",
			occurred_at: at,
			data: { order_id: "o", payment_event_id: "pay_1", amount: 1, currency: "USD", reason: "paid_after_cancel" },
		});
	});
});
