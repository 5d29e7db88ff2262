import { describe, expect, it } from "vitest";
import { ORDER_STATUSES, PAYMENT_STATUSES, type OrderStatus } from "../../src/orders/schema";
import { canMove, transition, type OrderEvent, type OrderState, type Transition } from "../../src/orders/stateMachine";

/**
 * The contract's state machine, written out independently of the module:
 * fulfilment pending -> paid -> processing -> shipped -> delivered, and
 * pending | paid | processing -> cancelled. Payment pending -> paid | failed
 * (failed -> paid for a retried payment); money to give back (a paid order
 * cancelled, a double charge, money for an order already cancelled) ->
 * refund_pending; refunded only once every refund is confirmed, back to
 * refund_pending when one fails.
 */
const EDGES = new Set(["pending>paid", "paid>processing", "processing>shipped", "shipped>delivered", "pending>cancelled", "paid>cancelled", "processing>cancelled"]);
const CANCELLABLE = new Set<OrderStatus>(["pending", "paid", "processing"]);

type Expected = { ok: false } | { ok: true; next: OrderState; refund: string | null; restock: boolean };

const TAKEN = new Set(["paid", "refund_pending", "refunded"]);

function expected(from: OrderState, event: OrderEvent): Expected {
	const cancel = (): Expected => {
		if (!CANCELLABLE.has(from.status)) return { ok: false };
		const refund = TAKEN.has(from.payment_status);
		return { ok: true, next: { status: "cancelled", payment_status: refund ? "refund_pending" : from.payment_status }, refund: refund ? "order_cancelled" : null, restock: true };
	};
	switch (event.type) {
		case "cancel":
			return cancel();
		case "set_status":
			if (event.to === "cancelled") return cancel();
			if (!EDGES.has(`${from.status}>${event.to}`)) return { ok: false };
			if (event.to === "paid") {
				if (from.payment_status === "refunded" || from.payment_status === "refund_pending") return { ok: false };
				return { ok: true, next: { status: "paid", payment_status: "paid" }, refund: null, restock: false };
			}
			return { ok: true, next: { status: event.to, payment_status: from.payment_status }, refund: null, restock: false };
		case "payment_succeeded":
			if (from.payment_status !== "pending" && from.payment_status !== "failed") return { ok: false };
			if (from.status === "pending") return { ok: true, next: { status: "paid", payment_status: "paid" }, refund: null, restock: false };
			if (from.status === "cancelled") return { ok: true, next: { status: "cancelled", payment_status: "refund_pending" }, refund: "paid_after_cancel", restock: false };
			return { ok: true, next: { status: from.status, payment_status: "paid" }, refund: null, restock: false };
		case "payment_failed":
			if (from.payment_status !== "pending") return { ok: false };
			return { ok: true, next: { status: from.status, payment_status: "failed" }, refund: null, restock: false };
		case "double_charge":
			if (!TAKEN.has(from.payment_status)) return { ok: false };
			return { ok: true, next: { status: from.status, payment_status: "refund_pending" }, refund: "double_charge", restock: false };
		case "refunds_settled":
			if (from.payment_status !== "refund_pending" && from.payment_status !== "refunded") return { ok: false };
			return { ok: true, next: { status: from.status, payment_status: event.outstanding > 0 ? "refund_pending" : "refunded" }, refund: null, restock: false };
	}
}

const EVENTS: OrderEvent[] = [
	...ORDER_STATUSES.map((to): OrderEvent => ({ type: "set_status", to })),
	{ type: "cancel" },
	{ type: "payment_succeeded" },
	{ type: "payment_failed" },
	{ type: "double_charge" },
	{ type: "refunds_settled", outstanding: 0 },
	{ type: "refunds_settled", outstanding: 1 },
];

const label = (e: OrderEvent) => (e.type === "set_status" ? `set_status:${e.to}` : e.type === "refunds_settled" ? `refunds_settled:${e.outstanding}` : e.type);

const CASES = ORDER_STATUSES.flatMap((status) =>
	PAYMENT_STATUSES.flatMap((payment_status) => EVENTS.map((event) => ({ from: { status, payment_status } as OrderState, event, want: expected({ status, payment_status }, event) }))),
);

describe("order state machine", () => {
	it("covers every status x payment status x event", () => {
		expect(CASES).toHaveLength(ORDER_STATUSES.length * PAYMENT_STATUSES.length * EVENTS.length);
		expect(CASES.filter((c) => c.want.ok).length).toBeGreaterThan(0);
		expect(CASES.filter((c) => !c.want.ok).length).toBeGreaterThan(0);
	});

	it.each(CASES.filter((c) => c.want.ok).map((c) => [`${c.from.status}/${c.from.payment_status}`, label(c.event), c] as const))(
		"allows %s + %s",
		(_, __, c) => {
			const from = Object.freeze({ ...c.from });
			const t = transition(from, c.event);
			expect(t).toEqual(c.want);
			expect(from).toEqual(c.from); // pure: the input is untouched
		},
	);

	it.each(CASES.filter((c) => !c.want.ok).map((c) => [`${c.from.status}/${c.from.payment_status}`, label(c.event), c] as const))(
		"refuses %s + %s with invalid_transition",
		(_, __, c) => {
			const t = transition(Object.freeze({ ...c.from }), c.event);
			expect(t).toEqual({ ok: false, reason: "invalid_transition", from: c.from, event: c.event.type });
		},
	);

	it("canMove allows exactly the contract's edges", () => {
		for (const from of ORDER_STATUSES) {
			for (const to of ORDER_STATUSES) {
				expect(canMove(from, to), `${from} -> ${to}`).toBe(EDGES.has(`${from}>${to}`));
			}
		}
	});

	it("the happy path and its payment statuses", () => {
		let s: OrderState = { status: "pending", payment_status: "pending" };
		const steps: Array<[OrderEvent, OrderState]> = [
			[{ type: "payment_succeeded" }, { status: "paid", payment_status: "paid" }],
			[{ type: "set_status", to: "processing" }, { status: "processing", payment_status: "paid" }],
			[{ type: "set_status", to: "shipped" }, { status: "shipped", payment_status: "paid" }],
			[{ type: "set_status", to: "delivered" }, { status: "delivered", payment_status: "paid" }],
		];
		for (const [event, next] of steps) {
			const t = transition(s, event);
			if (!t.ok) throw new Error(`refused ${label(event)} from ${JSON.stringify(s)}`);
			expect(t.next).toEqual(next);
			s = t.next;
		}
		for (const event of EVENTS.filter((e) => e.type !== "double_charge")) expect(transition(s, event).ok, `delivered + ${label(event)}`).toBe(false);
	});

	it("a paid order cancelled is refund_pending, not refunded, until the provider confirms its refund", () => {
		const cancelled = transition({ status: "paid", payment_status: "paid" }, { type: "cancel" });
		expect(cancelled).toEqual({ ok: true, next: { status: "cancelled", payment_status: "refund_pending" }, refund: "order_cancelled", restock: true });
		if (!cancelled.ok) return;
		// Another refund of the order still unconfirmed: still pending.
		expect(transition(cancelled.next, { type: "refunds_settled", outstanding: 1 })).toMatchObject({ ok: true, next: { payment_status: "refund_pending" } });
		const confirmed = transition(cancelled.next, { type: "refunds_settled", outstanding: 0 });
		expect(confirmed).toEqual({ ok: true, next: { status: "cancelled", payment_status: "refunded" }, refund: null, restock: false });
		if (!confirmed.ok) return;
		// A refund failing after its confirmation brings the order back to refund_pending, for a retry.
		expect(transition(confirmed.next, { type: "refunds_settled", outstanding: 1 })).toMatchObject({ ok: true, next: { payment_status: "refund_pending" }, refund: null });
	});

	it("a payment after cancellation and a double charge each ask for a refund of their own, with their cause", () => {
		expect(transition({ status: "cancelled", payment_status: "pending" }, { type: "payment_succeeded" })).toMatchObject({ next: { payment_status: "refund_pending" }, refund: "paid_after_cancel" });
		expect(transition({ status: "shipped", payment_status: "paid" }, { type: "double_charge" })).toMatchObject({ next: { status: "shipped", payment_status: "refund_pending" }, refund: "double_charge" });
		expect(transition({ status: "pending", payment_status: "pending" }, { type: "double_charge" }).ok).toBe(false);
	});

	it("from a new order, no reachable state keeps money for a cancelled order and refunds only paid money", () => {
		const key = (s: OrderState) => `${s.status}/${s.payment_status}`;
		const seen = new Map<string, OrderState>();
		const queue: OrderState[] = [{ status: "pending", payment_status: "pending" }];
		while (queue.length > 0) {
			const s = queue.shift()!;
			if (seen.has(key(s))) continue;
			seen.set(key(s), s);
			for (const event of EVENTS) {
				const t: Transition = transition(s, event);
				if (!t.ok) continue;
				// A refund is requested only with the payment status becoming (or staying) refund_pending; nothing becomes refunded without a settlement.
				if (t.refund !== null) expect(t.next.payment_status, `${key(s)} + ${label(event)}`).toBe("refund_pending");
				if (t.next.payment_status === "refunded" && s.payment_status !== "refunded") expect(event.type, `${key(s)} + ${label(event)}`).toBe("refunds_settled");
				// Stock is restored exactly when the order becomes cancelled.
				expect(t.restock, `${key(s)} + ${label(event)}`).toBe(t.next.status === "cancelled" && s.status !== "cancelled");
				queue.push(t.next);
			}
		}
		for (const s of seen.values()) {
			if (s.status === "cancelled") expect(s.payment_status, key(s)).not.toBe("paid");
			if (s.status === "processing" || s.status === "shipped" || s.status === "delivered") expect(TAKEN.has(s.payment_status), key(s)).toBe(true);
		}
		// Every fulfilment status is reachable.
		expect(new Set([...seen.values()].map((s) => s.status))).toEqual(new Set(ORDER_STATUSES));
	});
});
