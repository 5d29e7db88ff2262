/**
 * The money edges of issue 9 ("trust under faults and abuse"), driven through
 * placeOrder with the real Warehouse and D1 adapters wrapped by the fault ports
 * (test/helpers/faults.ts): each test replays one exact sequence of events and
 * then checks that the alarm and the reconciler leave nothing held and every
 * invariant true.
 *
 * D1 and the Warehouse objects are shared by the tests of this file; each test
 * uses its own shop (fresh products and warehouses) and checks those.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findActiveCart, setLine } from "../../src/cart/queries";
import { MAX_CART_LINES } from "../../src/cart/schema";
import { placeOrder } from "../../src/checkout/placeOrder";
import { orderStore, warehousePort } from "../../src/checkout/ports";
import { reconcile } from "../../src/ops/reconcile";
import { toApiError } from "../../src/http/failures";
import { changeOrder } from "../../src/orders/service";
import { checkoutDeps, checkoutInput, DIE_AFTER_DECIDE, DIE_AFTER_RESERVE, faultyStore, faultyWarehouses, holdState, ledgerOf, orderRow, outboxOf, settle, sleep } from "../helpers/faults";
import { admin, call } from "../helpers/http";
import { customer, makeShop, onHand } from "../helpers/shop";

const SHORT_TTL = 400;
const PAST_TTL = SHORT_TTL + 250;

function oneWarehouse(stock: Record<string, number>) {
	return makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock }] });
}

describe("edge 2: a late commit on a cancelled order", () => {
	it("the hold expires, the decision lands, the order is cancelled, then phase 2 commits: refused, nothing taken", async () => {
		const shop = await oneWarehouse({ "0/M": 3 });
		const [A] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const store = faultyStore(orderStore(env.DB), {
			// Stalls past the ttl before the decision: the alarm finds no order and expires the hold.
			async beforeDecide(orderId) {
				await sleep(PAST_TTL);
				await runDurableObjectAlarm(env.WAREHOUSE.getByName(A));
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

describe("edge 7: holds at a warehouse that went inactive", () => {
	it("a lost alarm at a warehouse deactivated with an open hold: the reconciler still resolves it, then stops asking", async () => {
		const shop = await oneWarehouse({ "0/M": 3 });
		const [A] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const port = faultyWarehouses(warehousePort(env));
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port, store: faultyStore(orderStore(env.DB), DIE_AFTER_RESERVE), ttlMs: 5_000 }));
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

describe("edge 8: building the order or its stored answer throws after phase 1", () => {
	it("the holds are released at once (not left for their ttl), no order, the cart stays active", async () => {
		const shop = await oneWarehouse({ "0/M": 3 });
		const [A] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const input = { ...(await checkoutInput(buyer.sub)), idempotency: { userId: buyer.sub, key: `key-${crypto.randomUUID()}` } };
		const port = faultyWarehouses(warehousePort(env));
		const store = faultyStore(orderStore(env.DB));
		const deps = checkoutDeps({
			warehouses: port,
			store,
			answerBody: () => {
				throw new Error("injected: the stored answer cannot be built");
			},
		});
		const result = await placeOrder(input, deps).catch((err: unknown) => ({ threw: String(err) }));

		expect(result).toEqual({ ok: false, reason: "unavailable", step: "build" });
		const [ref] = port.refs("reserve");
		expect(await holdState(A, ref!)).toBe("released");
		expect(await onHand(A, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(store.decided).toEqual([]);
		expect(await orderRow(ref!)).toBeNull();
		expect((await findActiveCart(env.DB, buyer.sub))?.cart_id).toBe(input.cartId);
		await settle(shop);
	});
});

describe("edge 9: restocks of a cancel made during a reconciler run", () => {
	it("an order the reconciler cancels as unfulfillable has the rest of its holds undone in the same run", async () => {
		// X wants 3: A ships 2, B ships 1. A's hold lapses and Y buys A's units; X's request dies after its decision.
		const shop = await makeShop({
			sizes: ["M"],
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: { "0/M": 2 } },
				{ postal_code: "14201", region: "NY", stock: { "0/M": 1 } },
			],
		});
		const [A, B] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const x = await customer([{ product_id: p, size: "M", quantity: 3 }]);
		const y = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const store = faultyStore(orderStore(env.DB), {
			...DIE_AFTER_DECIDE,
			async beforeDecide(orderId) {
				await runInDurableObject(env.WAREHOUSE.getByName(B), (_, state) => state.storage.setAlarm(Date.now() + 10 * 60_000));
				await sleep(PAST_TTL);
				await runDurableObjectAlarm(env.WAREHOUSE.getByName(A));
				expect(await holdState(A, orderId)).toBe("expired");
				const other = await placeOrder(await checkoutInput(y.sub), checkoutDeps());
				if (!other.ok) throw new Error(`Y: ${JSON.stringify(other)}`);
			},
		});
		await placeOrder(await checkoutInput(x.sub), checkoutDeps({ store, ttlMs: SHORT_TTL }));
		const [id] = store.decided;
		expect(await holdState(B, id!)).toBe("held");
		// The commit rows are old enough for the reconciler; the run happens now (not a minute ahead).
		const old = new Date(Date.now() - 5 * 60_000).toISOString();
		await env.DB.prepare(`UPDATE outbox SET created_at = ?, next_attempt_at = ? WHERE order_id = ?`).bind(old, old, id).run();

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

describe("edge 4: the cart changes while its checkout runs", () => {
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
			const store = faultyStore(orderStore(env.DB), {
				async beforeDecide() {
					expect(await setLine(env.DB, input.cartId, line, MAX_CART_LINES, new Date().toISOString())).toBeNull();
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
			expect((await findActiveCart(env.DB, buyer.sub))?.cart_id).toBe(input.cartId);

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
