/**
 * Phase 2 after the answer (src/checkout/commitLater.ts): the order is answered
 * once its decision is in D1, its holds are committed right after, gathered per
 * warehouse (one Warehouse transaction for the orders of one window), and a
 * gathered commit lost with its isolate is finished by the reconciler.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { commitLater } from "../../src/checkout/commitLater";
import { placeOrder, type PlaceOrderDeps } from "../../src/checkout/placeOrder";
import { outboxOf } from "../helpers/commits";
import { checkoutDeps, checkoutInput, holdState, quickCustomer, settle } from "../helpers/faults";
import { eventOutboxOf } from "../helpers/orders";
import { expectInvariants, makeShop, onHand } from "../helpers/shop";
import { ledgerOf, writesSince } from "../helpers/stock";

/** Deps that commit after the answer; `drain()` awaits the after-answer work, as the runtime would. */
function afterAnswer(over: Partial<PlaceOrderDeps> = {}) {
	const work: Promise<unknown>[] = [];
	const defer = (p: Promise<unknown>) => void work.push(p);
	const deps = checkoutDeps({ defer, commitLater: commitLater(env, defer), ...over });
	return {
		deps,
		async drain() {
			while (work.length > 0) await Promise.all(work.splice(0));
		},
	};
}

async function oneWarehouseShop(onHandUnits: number) {
	return makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": onHandUnits } }] });
}

describe("commit after the answer", () => {
	it("answers with the holds still reserved, then commits them, clears the outbox and announces the order", async () => {
		const shop = await oneWarehouseShop(10);
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const user = await quickCustomer([{ product_id: p, size: "M", quantity: 3 }]);
		const { deps, drain } = afterAnswer();
		const r = await placeOrder(await checkoutInput(user), deps);
		if (!r.ok) throw new Error(JSON.stringify(r));
		expect(r.pendingCommits).toEqual([w]);
		// Answered: the decision is in D1, the units still show as reserved.
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 10, reserved: 3 });
		expect(await outboxOf(r.order.order_id)).toEqual([{ order_id: r.order.order_id, warehouse_id: w, action: "commit" }]);
		await drain();
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 7, reserved: 0 });
		expect(await holdState(w, r.order.order_id)).toBe("committed");
		expect(await outboxOf(r.order.order_id)).toEqual([]);
		expect(await eventOutboxOf(r.order.order_id)).not.toContain(`evt_placed_${r.order.order_id}`); // sent (the test env has a queue binding) and cleared
		await expectInvariants([w], { settled: true });
	});

	it("orders decided together are committed by one Warehouse transaction", async () => {
		const shop = await oneWarehouseShop(100);
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const users = await Promise.all(Array.from({ length: 8 }, () => quickCustomer([{ product_id: p, size: "M", quantity: 1 }])));
		const inputs = await Promise.all(users.map((u) => checkoutInput(u)));
		const { deps, drain } = afterAnswer();
		const before = await env.WAREHOUSE.getByName(w).writeCounts();
		const results = await Promise.all(inputs.map((input) => placeOrder(input, deps)));
		expect(results.every((r) => r.ok)).toBe(true);
		await drain();
		const commits = (await Promise.all(results.map((r) => (r.ok ? ledgerOf(w, r.order.order_id) : [])))).flat().filter((e) => e.reason === "commit");
		expect(commits).toHaveLength(8);
		// One commitMany: the eight holds were committed by one write transaction, none by a commit of its own.
		const writes = await writesSince(w, before);
		expect(writes.commitMany).toBe(1);
		expect(writes.commit ?? 0).toBe(0);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 92, reserved: 0 });
		await expectInvariants([w], { settled: true });
	});

	it("a gathered commit lost with its isolate is finished by the reconciler, and the order is then announced", async () => {
		const shop = await oneWarehouseShop(5);
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const user = await quickCustomer([{ product_id: p, size: "M", quantity: 2 }]);
		// The isolate dies after the answer: the gathered window never flushes.
		const r = await placeOrder(await checkoutInput(user), checkoutDeps({ defer: () => {}, commitLater: () => {} }));
		if (!r.ok) throw new Error(JSON.stringify(r));
		expect(await holdState(w, r.order.order_id)).toBe("held");
		expect(await eventOutboxOf(r.order.order_id)).toContain(`evt_placed_${r.order.order_id}`);
		const report = await settle(shop); // the alarm (not yet due) and the reconciler a minute later
		expect(report.commits).toBe(1);
		expect(await holdState(w, r.order.order_id)).toBe("committed");
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 3, reserved: 0 });
		expect(await eventOutboxOf(r.order.order_id)).not.toContain(`evt_placed_${r.order.order_id}`);
	});

	it("commits before answering when a hold has less than the margin left (an unfillable order is still answered 409)", async () => {
		const shop = await oneWarehouseShop(5);
		const [w] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const user = await quickCustomer([{ product_id: p, size: "M", quantity: 1 }]);
		let gathered = 0;
		const r = await placeOrder(await checkoutInput(user), checkoutDeps({ defer: () => {}, commitLater: () => void gathered++, ttlMs: 20_000 }));
		if (!r.ok) throw new Error(JSON.stringify(r));
		expect(gathered).toBe(0);
		expect(r.pendingCommits).toEqual([]);
		expect(await onHand(w, p, "M")).toEqual({ on_hand: 4, reserved: 0 });
	});
});
