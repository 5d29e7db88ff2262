import { describe, expect, it } from "vitest";
import { REFUSALS } from "../../src/checkout/refusals";
import { COMMIT_LATER_MARGIN_MS, whenToAnswer } from "../../src/checkout/placeOrder";
import { PLACED_REASON, placedEvent, placementRefusal, placementStmts } from "../../src/orders/placement";
import type { OrderRecord } from "../../src/orders/queries";

/** A D1 stand-in that only records what would be prepared: the builders are pure. */
function recordingDb() {
	return {
		prepare: (sql: string) => ({ bind: (...binds: unknown[]) => ({ sql: sql.replace(/\s+/g, " ").trim(), binds }) }),
	} as unknown as D1Database;
}
type Recorded = { sql: string; binds: unknown[] };

const ORDER: OrderRecord = {
	order_id: "ord_1",
	user_id: "user-1",
	cart_id: "cart-1",
	status: "pending",
	payment_status: "pending",
	products: [
		{ product_id: "tee", size: "M", name: "Tee", quantity: 2, unit_price_cents: 1000, allocations: [{ warehouse_id: "wh-a", quantity: 2 }] },
		{
			product_id: "kit",
			size: "ONE",
			name: "Kit",
			quantity: 1,
			unit_price_cents: 3000,
			allocations: [],
			components: [
				{ product_id: "tee", size: "M", quantity: 1, allocations: [{ warehouse_id: "wh-b", quantity: 1 }] },
				{ product_id: "cap", size: "ONE", quantity: 2, allocations: [{ warehouse_id: "wh-b", quantity: 2 }] },
			],
		},
	],
	address: { name: "A", line1: "1 Main St", city: "New York", region: "NY", postal_code: "10001", country: "US" },
	delivery_mode: "standard",
	delivery_tier: "tier_1",
	subtotal: 5000,
	delivery_cost: 500,
	tax: 440,
	total: 5940,
	currency: "USD",
	estimated_delivery_date: "2026-01-05",
	tracking_number: null,
	customer_email: null,
	event_seq: 1,
	created_at: "2026-01-01T00:00:00.000Z",
	updated_at: "2026-01-01T00:00:00.000Z",
};

describe("the decision's statements", () => {
	const stmts = placementStmts(recordingDb(), { order: ORDER, cartVersion: 7, warehouseIds: ["wh-a", "wh-b"], limits: new Map([["tee", 4]]) }) as unknown as Recorded[];
	/** The statement writing `table`, whatever its place in the batch. */
	const writing = (table: string) => stmts.find((s) => new RegExp(`^(UPDATE|INSERT INTO) ${table} `).test(s.sql))!;

	it("are four, one per table, the cart guard first and the caller's own last: no history row nor event row (the order row determines both)", () => {
		expect(stmts.map((s) => s.sql.match(/^(UPDATE|INSERT INTO) (\w+)/)!.slice(1).join(" "))).toEqual([
			"UPDATE carts",
			"INSERT INTO orders",
			"INSERT INTO customer_product_units",
			"INSERT INTO outbox",
		]);
		const extra = { sql: "extra", binds: [] };
		const withExtra = placementStmts(recordingDb(), { order: ORDER, cartVersion: 7, warehouseIds: [], limits: new Map() }, [extra as unknown as D1PreparedStatement]);
		expect(withExtra).toHaveLength(5);
		expect(withExtra[4]).toBe(extra);
	});

	it("insert the order with its placed event pending, and no event row", () => {
		expect(writing("orders").sql).toMatch(/announce_pending\) VALUES \((\?, ){20}1\)$/);
		expect(stmts.some((s) => s.sql.includes("event_outbox"))).toBe(false);
	});

	it("completes the cart only at the version read: any other sets a refusal code its CHECK forbids", () => {
		const [cart] = stmts;
		expect(cart!.sql).toContain("checkout_refusal = CASE WHEN status <> 'active' THEN 'CART_TAKEN' WHEN version IS NOT ?2 THEN 'CART_CHANGED' END");
		expect(cart!.binds).toEqual([ORDER.created_at, 7, "cart-1"]);
	});

	it("builds the placed event from the order as placed: the placement's reason, numbered 1, pending whatever the order's status now", () => {
		expect(placedEvent(ORDER)).toMatchObject({ event_id: "evt_placed_ord_1", reason: PLACED_REASON, sequence: 1, old_status: null, new_status: "pending", payment_status: "pending" });
	});

	it("counts a kit line as the kit and as its components, each capped by the pricing catalog's limit, and promises a commit at every warehouse", () => {
		expect(JSON.parse(String(writing("customer_product_units").binds[1]))).toEqual([
			["tee", 3, 4],
			["kit", 1, null],
			["cap", 2, null],
		]);
		expect(JSON.parse(String(writing("outbox").binds[4]))).toEqual(["wh-a", "wh-b"]);
		expect(writing("outbox").binds[1]).toBe("commit");
	});
});

describe("the placed event", () => {
	it("says the order as placed, whatever its status now: the outbox builds it from the row later", () => {
		const placed = placedEvent(ORDER);
		const movedOn: OrderRecord = { ...ORDER, status: "cancelled", payment_status: "refunded", event_seq: 3, updated_at: "2026-01-02T00:00:00.000Z" };
		expect(placedEvent(movedOn)).toEqual(placed);
		expect(placed).toEqual({
			event_id: "evt_placed_ord_1",
			type: "order.status_changed",
			occurred_at: ORDER.created_at,
			order_id: "ord_1",
			user_id: "user-1",
			customer_email: null,
			old_status: null,
			new_status: "pending",
			payment_status: "pending",
			tracking_number: null,
			total: 59.4,
			currency: "USD",
			changed_by: "user-1",
			reason: PLACED_REASON,
			sequence: 1,
		});
	});
});

describe("which guard refused a decision", () => {
	it.each([
		["D1_ERROR: CHECK constraint failed: CART_CHANGED: SQLITE_CONSTRAINT", "cart_changed"],
		["D1_ERROR: CHECK constraint failed: CART_TAKEN: SQLITE_CONSTRAINT", "cart_taken"],
		["D1_ERROR: UNIQUE constraint failed: orders.cart_id: SQLITE_CONSTRAINT", "cart_taken"],
		["D1_ERROR: CHECK constraint failed: purchase_limit: SQLITE_CONSTRAINT", "purchase_limit"],
		["D1_ERROR: Network connection lost.", undefined],
		["D1_ERROR: UNIQUE constraint failed: orders.order_id: SQLITE_CONSTRAINT", undefined],
	])("%s -> %s", (message, refusal) => {
		expect(placementRefusal(new Error(message))).toBe(refusal);
	});
});

describe("the refusal table", () => {
	it("answers each refusal with its own reason; only a limit lists the limits passed", () => {
		const excess = [{ product_id: "tee", limit: 2, already: 2, requested: 1 }];
		expect(REFUSALS.cart_changed.result(excess)).toEqual({ ok: false, reason: "cart_changed" });
		expect(REFUSALS.cart_taken.result(excess)).toEqual({ ok: false, reason: "cart_taken" });
		expect(REFUSALS.purchase_limit.result(excess)).toEqual({ ok: false, reason: "purchase_limit", excesses: excess });
		expect(Object.entries(REFUSALS).filter(([, r]) => r.readsLimits).map(([k]) => k)).toEqual(["purchase_limit"]);
	});

	it("logs each refusal under its own name", () => {
		expect(Object.fromEntries(Object.entries(REFUSALS).map(([k, r]) => [k, r.why]))).toEqual({
			cart_changed: "cart_changed",
			cart_taken: "cart_already_ordered",
			purchase_limit: "purchase_limit",
		});
	});
});

describe("when place-order answers", () => {
	const now = 1_000_000;
	it.each([
		[true, now + COMMIT_LATER_MARGIN_MS + 1, "before_commits"],
		[true, now + COMMIT_LATER_MARGIN_MS, "after_commits"],
		[true, now + 1_000, "after_commits"],
		[false, now + 10 * COMMIT_LATER_MARGIN_MS, "after_commits"],
	] as const)("commits later possible: %s, holds expire at %d -> %s", (canCommitLater, expiresAt, when) => {
		expect(whenToAnswer(canCommitLater, expiresAt, now)).toBe(when);
	});
});
