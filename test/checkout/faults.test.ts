/**
 * The checkout protocol under injected faults: placeOrder is driven directly
 * with the real Warehouse and D1 adapters wrapped to fail at one step, then
 * the alarm and/or the reconciler finish the job, and the invariants of
 * ARCHITECTURE.md must hold with nothing left reserved.
 *
 * D1 and the Warehouse objects are shared by the tests of this file; each test
 * uses its own shop (fresh products and warehouses) and checks those.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findActiveCart } from "../../src/cart/queries";
import { recordAnswers } from "../../src/checkout/answers";
import { claim } from "../../src/checkout/idempotency";
import { placeOrder } from "../../src/checkout/placeOrder";
import { orderStore, warehousePort } from "../../src/checkout/ports";
import { toApiError } from "../../src/http/failures";
import { getHistory } from "../../src/orders/queries";
import { reconcile } from "../../src/ops/reconcile";
import { outboxOf } from "../helpers/commits";
import {
	buyerOfTwoAtOne,
	checkoutDeps,
	checkoutInput,
	DIE_AFTER_DECIDE,
	DIE_AFTER_RESERVE,
	faultyStore,
	faultyWarehouses,
	holdState,
	lapse,
	lapsedAndSold,
	lapseOneAndSell,
	orderRow,
	ordersOfUser,
	settle,
	clockOf,
} from "../helpers/faults";
import { customer, makeShop, onHand } from "../helpers/shop";
import { ledgerOf } from "../helpers/stock";
import { dbOfCustomer, dbOfOrder } from "../helpers/shards";

/** Short enough to wait out, long enough that a hold is still open when the test looks right after placeOrder. */
const SHORT_TTL = 400;
const PAST_TTL = SHORT_TTL + 250;

/** Two warehouses: A in the buyer's postal area (tier_1) and B in the buyer's region (tier_2). */
function twoWarehouses(a: Record<string, number>, b: Record<string, number>) {
	return makeShop({
		sizes: ["M"],
		warehouses: [
			{ postal_code: "10001", region: "NY", stock: a },
			{ postal_code: "14201", region: "NY", stock: b },
		],
	});
}

/** A split order: 4 units of M, A holds 2 and B holds 3, so no single warehouse can ship it (A:2 + B:2). */
async function splitShop() {
	const shop = await twoWarehouses({ "0/M": 2 }, { "0/M": 3 });
	const buyer = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 4 }]);
	return { shop, buyer, A: shop.warehouses[0]!, B: shop.warehouses[1]!, p: shop.products[0]! };
}

async function expectCartActive(userId: string, cartId: string) {
	expect((await findActiveCart(dbOfCustomer(userId), userId))?.cart_id).toBe(cartId);
}

describe("checkout under faults", () => {
	it("reserve throws at the second warehouse of a split order: unavailable, nothing held, no order, cart active", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const input = await checkoutInput(buyer.sub);
		const port = faultyWarehouses(warehousePort(env), { failReserveAt: B });
		const result = await placeOrder(input, checkoutDeps({ warehouses: port }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "reserve" });
		// A is the one nearest warehouse: the shortcut tries it alone first (short, holds nothing), then the split reserves.
		const ref = port.refs("reserve").at(-1);
		expect(port.calls.filter((c) => c.op === "reserve").map((c) => [c.warehouseId, c.outcome]).sort()).toEqual([[A, "insufficient_stock"], [A, "ok"], [B, "threw"]].sort());
		expect(await holdState(A, ref!)).toBe("released");
		expect(await holdState(B, ref!)).not.toBe("held");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await ordersOfUser(buyer.sub)).toEqual([]);
		await expectCartActive(buyer.sub, input.cartId);
		await settle(shop);
	});

	it("reserve short after a stale plan: nothing released where it was refused, re-plans once, succeeds from the other warehouse", async () => {
		// A (tier_1) really has 1; the first plan sees 5 there, so it picks A alone for 2 units.
		const shop = await twoWarehouses({ "0/M": 1 }, { "0/M": 2 });
		const [A, B] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		let stale = true; // until the first reserve: the first plan reads a stale number at A
		const port = faultyWarehouses(warehousePort(env), {
			availability: (id, levels) => (id === A && stale ? levels.map((l) => ({ ...l, on_hand: 5, available: 5 })) : levels),
			beforeReserve: () => {
				stale = false;
			},
		});
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port }));

		if (!result.ok) throw new Error(JSON.stringify(result));
		const reserves = port.calls.filter((c) => c.op === "reserve");
		expect(reserves.map((c) => [c.warehouseId, c.outcome])).toEqual([
			[A, "insufficient_stock"],
			[B, "ok"],
		]);
		const [first, second] = port.refs("reserve") as [string, string];
		expect(second).toBe(result.order.order_id);
		// A refused: it holds nothing for `first` and no reserve of it can arrive late, so no release (tombstone) is sent.
		expect(port.calls.filter((c) => c.op === "release")).toEqual([]);
		expect(await env.WAREHOUSE.getByName(A).hold(first)).toBeNull();
		expect(result.order.products[0]!.allocations).toEqual([{ warehouse_id: B, quantity: 2 }]);
		expect(result.pendingCommits).toEqual([]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await orderRow(first)).toBeNull();
		await settle(shop);
	});

	it("stock taken between plan and reserve, none left elsewhere: nothing to release, re-plans once, out_of_stock", async () => {
		const shop = await twoWarehouses({ "0/M": 2 }, {});
		const [A] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		let taken = false;
		const port = faultyWarehouses(warehousePort(env), {
			async beforeReserve(id) {
				if (taken) return;
				taken = true;
				// Someone else gets one unit first (an admin deduct stands in for another buyer).
				const r = await env.WAREHOUSE.getByName(id).deduct(`shrink-${crypto.randomUUID()}`, [{ product_id: p, size: "M", quantity: 1 }]);
				expect(r.ok).toBe(true);
			},
		});
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port }));

		expect(result).toEqual({ ok: false, reason: "out_of_stock", shortages: [{ product_id: p, size: "M", requested: 2, available: 1 }] });
		expect(port.refs("reserve")).toHaveLength(1); // the second plan already saw the shortage
		expect(port.calls.filter((c) => c.op === "release")).toEqual([]); // the one reserve was refused: nothing held
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await ordersOfUser(buyer.sub)).toEqual([]);
		await settle(shop);
	});

	it("the decision batch fails (decide throws, the order does not exist): unavailable, everything released, no order", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const input = await checkoutInput(buyer.sub);
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env), { decide: "throw" });
		const result = await placeOrder(input, checkoutDeps({ warehouses: port, store }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [ref] = port.refs("reserve");
		expect(await holdState(A, ref!)).toBe("released");
		expect(await holdState(B, ref!)).toBe("released");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await orderRow(ref!)).toBeNull();
		expect(await outboxOf(ref!)).toEqual([]);
		await expectCartActive(buyer.sub, input.cartId);
		await settle(shop);
	});

	it("decide throws but the batch landed: the order proceeds to commit, ok, nothing released", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env), { decide: "land-then-throw" });
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port, store }));

		if (!result.ok) throw new Error(JSON.stringify(result));
		const id = result.order.order_id;
		expect(store.decided).toEqual([id]);
		expect(result.pendingCommits).toEqual([]);
		expect((await orderRow(id))?.status).toBe("pending");
		expect(port.calls.filter((c) => c.op === "release" || c.op === "cancelHold")).toEqual([]);
		for (const w of [A, B]) {
			expect(await holdState(w, id)).toBe("committed");
			const rows = await ledgerOf(w, id);
			expect(rows.map((e) => e.reason).sort()).toEqual(["commit", "reserve"]);
		}
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await outboxOf(id)).toEqual([]);
		await settle(shop);
	});

	it("one commit throws: ok with pendingCommits, the outbox keeps that row, the reconciler commits it", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const port = faultyWarehouses(warehousePort(env), { failCommitAt: B });
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port }));

		if (!result.ok) throw new Error(JSON.stringify(result));
		const id = result.order.order_id;
		expect(result.pendingCommits).toEqual([B]);
		expect(await outboxOf(id)).toEqual([{ order_id: id, warehouse_id: B, action: "commit" }]);
		expect(await holdState(A, id)).toBe("committed");
		expect(await holdState(B, id)).toBe("held");
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 3, reserved: 2 });

		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.commits).toBeGreaterThanOrEqual(1);
		expect(await holdState(B, id)).toBe("committed");
		expect(await outboxOf(id)).toEqual([]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect((await orderRow(id))?.status).toBe("pending");
		await settle(shop);
	});

	it("the request dies after phase 1: after the ttl the alarm releases the holds (expired), no order", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const clock = await clockOf(shop.warehouses);
		const input = await checkoutInput(buyer.sub);
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env), DIE_AFTER_RESERVE);
		const result = await placeOrder(input, checkoutDeps({ warehouses: port, store, ttlMs: SHORT_TTL }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [ref] = port.refs("reserve");
		expect(port.calls.filter((c) => c.op === "release")).toEqual([]);
		expect(await holdState(A, ref!)).toBe("held");
		expect(await holdState(B, ref!)).toBe("held");

		clock.advance(PAST_TTL);
		for (const w of [A, B]) await runDurableObjectAlarm(env.WAREHOUSE.getByName(w));
		expect(await holdState(A, ref!)).toBe("expired");
		expect(await holdState(B, ref!)).toBe("expired");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 2, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await orderRow(ref!)).toBeNull();
		await expectCartActive(buyer.sub, input.cartId);
		await settle(shop);
	});

	it("the request dies after the decision: after the ttl the alarm commits the holds (D1 has the order)", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const clock = await clockOf(shop.warehouses);
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env), DIE_AFTER_DECIDE);
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port, store, ttlMs: SHORT_TTL }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [id] = store.decided;
		expect((await orderRow(id!))?.status).toBe("pending");
		expect(port.calls.filter((c) => c.op === "commit" || c.op === "release")).toEqual([]);

		clock.advance(PAST_TTL);
		for (const w of [A, B]) await runDurableObjectAlarm(env.WAREHOUSE.getByName(w));
		for (const w of [A, B]) {
			expect(await holdState(w, id!)).toBe("committed");
			expect((await ledgerOf(w, id!)).filter((e) => e.reason === "commit").map((e) => e.actor)).toEqual(["alarm"]);
		}
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		// The commit rows the dead request left are the reconciler's: a replayed commit clears them.
		expect((await outboxOf(id!)).map((r) => r.action)).toEqual(["commit", "commit"]);
		await settle(shop);
		for (const w of [A, B]) expect((await ledgerOf(w, id!)).filter((e) => e.reason === "commit")).toHaveLength(1);
	});

	it("the request dies after the decision: the reconciler commits the holds from the outbox before any ttl", async () => {
		const { shop, buyer, A, B, p } = await splitShop();
		const store = faultyStore(orderStore(env), DIE_AFTER_DECIDE);
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ store }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [id] = store.decided;
		expect(await holdState(A, id!)).toBe("held");
		expect(await holdState(B, id!)).toBe("held");

		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.commits).toBe(2);
		for (const w of [A, B]) {
			expect(await holdState(w, id!)).toBe("committed");
			expect((await ledgerOf(w, id!)).filter((e) => e.reason === "commit").map((e) => e.actor)).toEqual(["reconciler"]);
		}
		expect(await outboxOf(id!)).toEqual([]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		await settle(shop);
	});

	it("the hold expired before its commit, units still there: the late commit takes them, order stays pending", async () => {
		const { shop, A, p, buyer } = await buyerOfTwoAtOne();
		const clock = await clockOf(shop.warehouses);
		const store = faultyStore(orderStore(env), {
			// The request stalls past the ttl before its decision; the alarm, finding no order, releases the hold.
			async beforeDecide(orderId) {
				await lapse(clock, PAST_TTL, [A]);
				expect(await holdState(A, orderId)).toBe("expired");
				expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
			},
		});
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ store, ttlMs: SHORT_TTL }));

		if (!result.ok) throw new Error(JSON.stringify(result));
		const id = result.order.order_id;
		expect(result.pendingCommits).toEqual([]);
		expect((await orderRow(id))?.status).toBe("pending");
		expect(await holdState(A, id)).toBe("committed");
		const rows = await ledgerOf(A, id);
		expect(rows.map((e) => e.reason)).toEqual(["reserve", "expire", "commit"]);
		expect(rows[2]).toMatchObject({ on_hand_delta: -2, reserved_delta: 0 });
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		await settle(shop);
	});

	it("the hold expired and its units were sold meanwhile: order cancelled (reservation expired), the rest undone, out_of_stock (409)", async () => {
		// X wants 3: A (tier_1) ships 2, B ships 1. A's hold lapses, Y buys A's 2 units, then X's decision lands.
		const { shop, A, B, clock, p, x, y } = await lapsedAndSold();
		let yOrder: string | undefined;
		const store = faultyStore(orderStore(env), {
			async beforeDecide(orderId) {
				const other = await lapseOneAndSell({ clock, pastTtlMs: PAST_TTL, lapsed: A, kept: B, orderId, buyer: y.sub });
				expect(other.products[0]!.allocations).toEqual([{ warehouse_id: A, quantity: 2 }]);
				yOrder = other.order_id;
			},
		});
		const port = faultyWarehouses(warehousePort(env));
		const result = await placeOrder(await checkoutInput(x.sub), checkoutDeps({ warehouses: port, store, ttlMs: SHORT_TTL }));

		const [id] = store.decided;
		expect(result).toEqual({ ok: false, reason: "out_of_stock", shortages: [{ product_id: p, size: "M", requested: 2, available: 0 }], cancelledOrderId: id });
		if (result.ok) return;
		expect(toApiError(result).status).toBe(409);
		expect((await orderRow(id!))?.status).toBe("cancelled");
		const history = await getHistory(dbOfOrder(id!), id!);
		expect(history.map((h) => [h.old_status, h.new_status, h.reason])).toEqual([
			[null, "pending", "order placed"],
			["pending", "cancelled", "reservation expired"],
		]);
		// Whatever X held or took at B is back; Y keeps A's units.
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		expect(await holdState(A, id!)).toBe("released"); // the cancel closed the expired hold for good;
		expect(["released", "committed"]).toContain(await holdState(B, id!));
		expect(await outboxOf(id!)).toEqual([]);
		expect((await orderRow(yOrder!))?.status).toBe("pending");
		await settle(shop);
	});

	it("the hold lapsed and was sold, then the request died after its decision: the reconciler cancels the order, undoes the rest, and the idempotent answer becomes 409", async () => {
		const { shop, A, B, clock, p, x, y } = await lapsedAndSold();
		const store = faultyStore(orderStore(env), {
			...DIE_AFTER_DECIDE,
			async beforeDecide(orderId) {
				await lapseOneAndSell({ clock, pastTtlMs: PAST_TTL, lapsed: A, kept: B, orderId, buyer: y.sub });
			},
		});
		// X's request carries an Idempotency-Key (claimed the way the route claims it).
		const scope = { userId: x.sub, key: `key-${crypto.randomUUID()}` };
		expect((await claim(dbOfCustomer(x.sub), scope, "request-hash", new Date())).kind).toBe("new");
		const input = { ...(await checkoutInput(x.sub)), answers: recordAnswers(scope) };
		const result = await placeOrder(input, checkoutDeps({ store, ttlMs: SHORT_TTL }));
		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [id] = store.decided;
		expect((await orderRow(id!))?.status).toBe("pending");
		expect((await outboxOf(id!)).map((r) => [r.warehouse_id, r.action]).sort()).toEqual([[A, "commit"], [B, "commit"]].sort());
		// The decision stored 201 for the key: a retry now would replay it.
		expect(await claim(dbOfCustomer(x.sub), scope, "request-hash", new Date())).toMatchObject({ kind: "replay", status: 201 });

		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.cancelled_orders).toBe(1);
		expect((await orderRow(id!))?.status).toBe("cancelled");
		expect((await getHistory(dbOfOrder(id!), id!)).map((h) => h.reason)).toEqual(["order placed", "reservation expired"]);
		expect(await outboxOf(id!)).toEqual([]);
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 0, reserved: 0 });
		// Once cancelled, a retry with the same key gets 409 OUT_OF_STOCK, never the 201 of a cancelled order.
		expect(await claim(dbOfCustomer(x.sub), scope, "request-hash", new Date())).toMatchObject({
			kind: "replay",
			status: 409,
			body: { code: "OUT_OF_STOCK", details: [{ product_id: p, size: "M", requested: 2, available: 0 }] },
		});
		await settle(shop);
	});

	it("a lost alarm: the hold of an undecided order is resolved by the reconciler", async () => {
		const { shop, A, p, buyer } = await buyerOfTwoAtOne();
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env), DIE_AFTER_RESERVE);
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port, store, ttlMs: 5_000 }));
		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [ref] = port.refs("reserve");
		const stub = env.WAREHOUSE.getByName(A);
		await runInDurableObject(stub, (_, state) => state.storage.deleteAlarm());
		expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
		expect(await holdState(A, ref!)).toBe("held");

		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.holds_expired).toBeGreaterThanOrEqual(1);
		expect(await holdState(A, ref!)).toBe("expired");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await orderRow(ref!)).toBeNull();
		await settle(shop);
	});
});
