/**
 * The checkout's money edges under faults (a late commit, an unfulfillable
 * order, a cart changed mid-checkout, inactive warehouses), driven through
 * placeOrder with the real Warehouse and D1 adapters wrapped by the fault ports
 * (test/helpers/faults.ts): each test replays one exact sequence of events and
 * then checks that the alarm and the reconciler leave nothing held and every
 * invariant true.
 *
 * D1 and the Warehouse objects are shared by the tests of this file; each test
 * uses its own shop (fresh products and warehouses) and checks those.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cartLines, findActiveCart, setLine } from "../../src/cart/queries";
import { lineLimits } from "../../src/limits/queries";
import { MAX_CART_LINES } from "../../src/cart/schema";
import { placeOrder } from "../../src/checkout/placeOrder";
import { orderStore, warehousePort } from "../../src/checkout/ports";
import { reconcile } from "../../src/ops/reconcile";
import { flushOutbox } from "../../src/events/outbox";
import { toApiError } from "../../src/http/failures";
import { changeOrder } from "../../src/orders/service";
import { checkoutDeps, checkoutInput, DIE_AFTER_DECIDE, DIE_AFTER_RESERVE, faultyStore, buyerOfTwoAtOne, faultyWarehouses, holdState, lapse, lapsedAndSold, lapseOneAndSell, orderRow, clockOf, settle, type StoreFaults } from "../helpers/faults";
import { outboxOf } from "../helpers/commits";
import { admin, call } from "../helpers/http";
import { eventOutboxOf, recordEvents } from "../helpers/orders";
import { customer, makeShop, onHand } from "../helpers/shop";
import { ledgerOf } from "../helpers/stock";
import { dbOfCustomer, dbOfOrder } from "../helpers/shards";

const SHORT_TTL = 400;
const PAST_TTL = SHORT_TTL + 250;

function oneWarehouse(stock: Record<string, number>) {
	return makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock }] });
}

describe("a late commit on a cancelled order", () => {
	it("the hold expires, the decision lands, the order is cancelled, then phase 2 commits: refused, nothing taken", async () => {
		const { shop, A, p, buyer } = await buyerOfTwoAtOne();
		const clock = await clockOf(shop.warehouses);
		const store = faultyStore(orderStore(env), {
			// Stalls past the ttl before the decision: the alarm finds no order and expires the hold.
			async beforeDecide(orderId) {
				await lapse(clock, PAST_TTL, [A]);
				expect(await holdState(A, orderId)).toBe("expired");
			},
		});
		const port = faultyWarehouses(warehousePort(env), {
			// The decision has landed; the buyer cancels before phase 2 reaches the warehouse.
			async beforeCommit(_w, orderId) {
				const cancelled = await changeOrder(env, orderId, { type: "cancel" }, { by: buyer.sub, reason: "changed my mind" });
				expect(cancelled).toMatchObject({ ok: true, order: { status: "cancelled" } });
			},
		});
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ store, warehouses: port, ttlMs: SHORT_TTL }));

		const [id] = store.decided;
		expect(result.ok).toBe(false);
		expect(port.calls.filter((c) => c.op === "commit").map((c) => c.outcome)).toEqual(["hold_released"]);
		expect((await orderRow(id!))?.status).toBe("cancelled");
		expect(await holdState(A, id!)).toBe("released");
		// The late commit took nothing for the cancelled order: reserve, expire, and no commit.
		expect((await ledgerOf(A, id!)).map((e) => e.reason)).toEqual(["reserve", "expire"]);
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		// A reconciler that read the commit row before the cancel commits afterwards: refused too.
		expect(await env.WAREHOUSE.getByName(A).commit(id!, { actor: "reconciler" })).toEqual({ ok: false, reason: "hold_released" });
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		await settle(shop);
	});
});

describe("holds at a warehouse that went inactive", () => {
	it("a lost alarm at a warehouse deactivated with an open hold: the reconciler still resolves it, then stops asking", async () => {
		const { shop, A, p, buyer } = await buyerOfTwoAtOne();
		const port = faultyWarehouses(warehousePort(env));
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port, store: faultyStore(orderStore(env), DIE_AFTER_RESERVE), ttlMs: 5_000 }));
		expect(result).toEqual({ ok: false, reason: "unavailable", step: "decide" });
		const [ref] = port.refs("reserve");
		await runInDurableObject(env.WAREHOUSE.getByName(A), (_, state) => state.storage.deleteAlarm());
		const r = await call("PUT", `/admin/warehouses/${A}`, { auth: await admin(), body: { name: A, postal_code: "10001", region: "NY", country: "US", active: false } });
		expect(r.status).toBe(200);
		expect(await holdState(A, ref!)).toBe("held");

		// Three minutes on: the hold is due, and the warehouse inactive for longer than the default ttl (120 s).
		const report = await reconcile(env, Date.now() + 180_000);
		expect(report.failures).toBe(0);
		expect(await holdState(A, ref!)).toBe("expired");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		// Nothing open there any more, and inactive for longer than a hold lives: no longer swept.
		const swept = await env.DB.prepare(`SELECT sweep_since FROM warehouses WHERE warehouse_id = ?`).bind(A).first<{ sweep_since: string | null }>();
		expect(swept?.sweep_since).toBeNull();
		await settle(shop);
	});
});

describe("building the order or its stored answer throws after phase 1", () => {
	it("the holds are released at once (not left for their ttl), no order, the cart stays active", async () => {
		const { shop, A, p, buyer } = await buyerOfTwoAtOne();
		const input = {
			...(await checkoutInput(buyer.sub)),
			answers: () => {
				throw new Error("injected: the stored answer cannot be built");
			},
		};
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env));
		const deps = checkoutDeps({ warehouses: port, store });
		const result = await placeOrder(input, deps).catch((err: unknown) => ({ threw: String(err) }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "build" });
		const [ref] = port.refs("reserve");
		expect(await holdState(A, ref!)).toBe("released");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(store.decided).toEqual([]);
		expect(await orderRow(ref!)).toBeNull();
		expect((await findActiveCart(dbOfCustomer(buyer.sub), buyer.sub))?.cart_id).toBe(input.cartId);
		await settle(shop);
	});
});

describe("restocks of a cancel made during a reconciler run", () => {
	it("an order the reconciler cancels as unfulfillable has the rest of its holds undone in the same run", async () => {
		// X wants 3: A ships 2, B ships 1. A's hold lapses and Y buys A's units; X's request dies after its decision.
		const { shop, A, B, clock, p, x, y } = await lapsedAndSold();
		const store = faultyStore(orderStore(env), {
			...DIE_AFTER_DECIDE,
			async beforeDecide(orderId) {
				await lapseOneAndSell({ clock, pastTtlMs: PAST_TTL, lapsed: A, kept: B, orderId, buyer: y.sub });
			},
		});
		await placeOrder(await checkoutInput(x.sub), checkoutDeps({ store, ttlMs: SHORT_TTL }));
		const [id] = store.decided;
		expect(await holdState(B, id!)).toBe("held");
		// The commit rows are old enough for the reconciler; the run happens now (not a minute ahead).
		const old = new Date(Date.now() - 5 * 60_000).toISOString();
		await dbOfOrder(id!).prepare(`UPDATE outbox SET created_at = ?, next_attempt_at = ? WHERE order_id = ?`).bind(old, old, id).run();

		const report = await reconcile(env, Date.now());
		expect(report.cancelled_orders).toBe(1);
		expect((await orderRow(id!))?.status).toBe("cancelled");
		// B's hold is released in this same run: no cancel row is left waiting for the next one.
		expect(await outboxOf(id!)).toEqual([]);
		// B's commit row may have run first in the same pass (committed, then restocked) or not (released).
		expect(["released", "committed"]).toContain(await holdState(B, id!));
		expect(await onHand(B, p, "M")).toEqual({ on_hand: 1, reserved: 0 });
		expect(report.cancels).toBeGreaterThanOrEqual(2);
		await settle(shop);
	});
});

describe("the cart changes while its checkout runs", () => {
	const changes = {
		added: (p: string) => ({ product_id: p, size: "S", quantity: 1 }),
		changed: (p: string) => ({ product_id: p, size: "M", quantity: 1 }),
		removed: (p: string) => ({ product_id: p, size: "M", quantity: 0 }),
	};
	for (const [kind, change] of Object.entries(changes)) {
		it(`a line ${kind} between the cart read and the decision: 409 CART_CHANGED, nothing held, no order; the retry orders the new cart`, async () => {
			const shop = await makeShop({ sizes: ["S", "M", "L"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/S": 5, "0/M": 5, "0/L": 5 } }] });
			const [A] = shop.warehouses as [string];
			const p = shop.products[0]!;
			const buyer = await customer([
				{ product_id: p, size: "M", quantity: 2 },
				{ product_id: p, size: "L", quantity: 1 },
			]);
			const input = await checkoutInput(buyer.sub);
			const line = change(p);
			const store = faultyStore(orderStore(env), {
				async beforeDecide() {
					expect(await setLine(dbOfCustomer(buyer.sub), input.cartId, line, MAX_CART_LINES, new Date().toISOString(), await lineLimits(env.DB, line.product_id))).toBeNull();
				},
			});
			const port = faultyWarehouses(warehousePort(env));
			const result = await placeOrder(input, checkoutDeps({ store, warehouses: port }));

			expect(result).toEqual({ ok: false, reason: "cart_changed" });
			if (result.ok) return;
			expect(toApiError(result)).toMatchObject({ status: 409, code: "CART_CHANGED" });
			const [ref] = port.refs("reserve");
			expect(await holdState(A, ref!)).toBe("released");
			expect(await onHand(A, p, "M")).toEqual({ on_hand: 5, reserved: 0 });
			expect(await onHand(A, p, "L")).toEqual({ on_hand: 5, reserved: 0 });
			expect(store.decided).toEqual([]);
			expect(await orderRow(ref!)).toBeNull();
			expect((await findActiveCart(dbOfCustomer(buyer.sub), buyer.sub))?.cart_id).toBe(input.cartId);

			// The retry reads the cart as it is now and orders exactly that.
			const retry = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps());
			if (!retry.ok) throw new Error(JSON.stringify(retry));
			const ordered = Object.fromEntries(retry.order.products.map((l) => [l.size, l.quantity]));
			const expected: Record<string, number> = { M: 2, L: 1 };
			if (line.quantity === 0) delete expected[line.size];
			else expected[line.size] = line.quantity;
			expect(ordered).toEqual(expected);
			await settle(shop);
		});
	}
});

describe("an order cancelled as unfulfillable", () => {
	const events = recordEvents();

	/**
	 * X wants 3 units: A (tier_1) ships 2, B ships 1. A's hold lapses before X's
	 * decision and Y buys A's 2 units meanwhile, so X's order is decided and then
	 * cannot be filled. `afterDecide` runs once the decision landed, before phase 2.
	 */
	async function lapsedOrder(opts: { store?: StoreFaults; afterDecide?: (x: { sub: string; auth: string }, productId: string) => Promise<void> } = {}) {
		const { shop, A, B, clock, p, x, y } = await lapsedAndSold({ "0/L": 5 });
		const input = await checkoutInput(x.sub);
		const store = faultyStore(orderStore(env), {
			...opts.store,
			async beforeDecide(orderId) {
				await lapseOneAndSell({ clock, pastTtlMs: PAST_TTL, lapsed: A, kept: B, orderId, buyer: y.sub });
			},
		});
		let afterDone = false;
		const port = faultyWarehouses(warehousePort(env), {
			async beforeCommit() {
				if (afterDone || !opts.afterDecide) return;
				afterDone = true;
				await opts.afterDecide(x, p);
			},
		});
		const result = await placeOrder(input, checkoutDeps({ store, warehouses: port, ttlMs: SHORT_TTL }));
		return { shop, A, B, p, x, input, result, id: store.decided[0]! };
	}

	async function cartLinesOf(userId: string) {
		const cart = await findActiveCart(dbOfCustomer(userId), userId);
		return { cart_id: cart?.cart_id, lines: cart ? (await cartLines(dbOfCustomer(userId), cart.cart_id)).map((l) => [l.size, l.quantity]) : [] };
	}

	function statusEventsOf(orderId: string) {
		return events.forOrder(orderId).filter((e) => e.type === "order.status_changed");
	}

	it("answered 409 OUT_OF_STOCK: its cart is active again with its lines, and no placed (or cancelled) mail or event goes out", async () => {
		const { shop, x, input, result, id } = await lapsedOrder();
		expect(result).toMatchObject({ ok: false, reason: "out_of_stock", cancelledOrderId: id });
		expect((await orderRow(id))?.status).toBe("cancelled");
		expect(await cartLinesOf(x.sub)).toEqual({ cart_id: input.cartId, lines: [["M", 3]] });
		expect(await eventOutboxOf(id)).toEqual([]);
		await settle(shop); // the reconciler re-sends whatever the outbox still holds
		expect(statusEventsOf(id)).toEqual([]);

		// The cart can be ordered again (one live order per cart): here it is short, so 409 and it stays active.
		const again = await placeOrder(await checkoutInput(x.sub), checkoutDeps());
		expect(again).toMatchObject({ ok: false, reason: "out_of_stock" });
		expect((await cartLinesOf(x.sub)).cart_id).toBe(input.cartId);
	});

	it("when the buyer already has a new active cart, the order's lines are merged into it", async () => {
		let newCart: string | undefined;
		const { shop, x, input, result, id } = await lapsedOrder({
			async afterDecide(buyer, p) {
				// The decision completed the old cart; the buyer starts a new one (L, and M too).
				const cart = await call("POST", "/cart/items", { auth: buyer.auth, body: { product_id: p, size: "L", quantity: 1 } });
				expect(cart.status).toBe(200);
				newCart = (cart.body as { cart_id: string }).cart_id;
				expect((await call("POST", "/cart/items", { auth: buyer.auth, body: { product_id: p, size: "M", quantity: 1 } })).status).toBe(200);
			},
		});
		expect(result).toMatchObject({ ok: false, reason: "out_of_stock", cancelledOrderId: id });
		expect(newCart).toBeDefined();
		expect(newCart).not.toBe(input.cartId);
		// The new cart stays the active one; it gains the order's lines (a line both have keeps the larger quantity).
		const now = await cartLinesOf(x.sub);
		expect(now.cart_id).toBe(newCart);
		expect(Object.fromEntries(now.lines)).toEqual({ L: 1, M: 3 });
		await settle(shop);
		expect(statusEventsOf(id)).toEqual([]);
	});

	it("an order whose commit is unconfirmed is not announced by the reconciler until the commit is done", async () => {
		const shop = await oneWarehouse({ "0/M": 3 });
		const [A] = shop.warehouses as [string];
		const buyer = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: faultyWarehouses(warehousePort(env), { failCommitAt: A }) }));
		if (!result.ok) throw new Error(JSON.stringify(result));
		expect(result.pendingCommits).toEqual([A]);
		const id = result.order.order_id;
		// A re-send of the outbox (as the reconciler does, past the grace period) keeps the placed event back...
		await flushOutbox(env, new Date(Date.now() + 60_000).toISOString());
		expect(statusEventsOf(id)).toEqual([]);
		// ...until the reconciler has confirmed the commit; then it goes out once.
		await settle(shop);
		expect(statusEventsOf(id).map((e) => e.event_id)).toEqual([`evt_placed_${id}`]);
	});

	it("cancelled by the reconciler (the request died after its decision): cart active again, no placed event sent by the reconciler", async () => {
		const { shop, x, input, id } = await lapsedOrder({ store: DIE_AFTER_DECIDE });
		expect((await orderRow(id))?.status).toBe("pending");
		const report = await reconcile(env, Date.now() + 60_000);
		expect(report.cancelled_orders).toBe(1);
		expect((await orderRow(id))?.status).toBe("cancelled");
		expect(await cartLinesOf(x.sub)).toEqual({ cart_id: input.cartId, lines: [["M", 3]] });
		await settle(shop);
		expect(statusEventsOf(id)).toEqual([]);
	});
});
