/**
 * The decision batch against D1 itself: SQL holds the guards (named CHECKs,
 * the unique live order per cart), no trigger or view holds a business step;
 * the one view reads an order's history, its first row derived from the order.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { setLine } from "../../src/cart/queries";
import { lineLimits } from "../../src/limits/queries";
import { customerDb, newOrderId } from "../../src/orders/shards";
import { MAX_CART_LINES } from "../../src/cart/schema";
import { buildOrder } from "../../src/checkout/decide";
import { orderStore } from "../../src/checkout/ports";
import { insertOrderStmt, PLACED_REASON, placedHistory } from "../../src/orders/placement";
import { historyStmt } from "../../src/orders/rows";
import { config } from "../../src/config";
import { checkoutInput, quickCustomer } from "../helpers/faults";
import { allShards, dbOfCustomer } from "../helpers/shards";
import { makeShop } from "../helpers/shop";

/** A decision for the user's cart, its order id in the user's shard (as checkout makes it). */
async function decisionFor(userId: string, limits?: Map<string, number>) {
	const input = await checkoutInput(userId);
	const orderId = newOrderId(customerDb(env, userId).index);
	const allocations = input.lines.map((l) => ({ product_id: l.product_id, size: l.size, quantity: l.quantity, warehouse_id: "wh-placement", tier: "tier_1" as const }));
	const order = buildOrder(input, config(env), { orderId, allocations, tier: "tier_1" }, new Date());
	return { input, placement: { order, cartVersion: input.cartVersion, warehouseIds: ["wh-placement"], limits: limits ?? input.limits } };
}

async function rowsOf(orderId: string, userId: string) {
	const db = dbOfCustomer(userId);
	const count = async (sql: string, ...binds: unknown[]) => Number((await db.prepare(sql).bind(...binds).first<{ n: number }>())?.n);
	return {
		orders: await count(`SELECT COUNT(*) AS n FROM orders WHERE order_id = ?`, orderId),
		history: await count(`SELECT COUNT(*) AS n FROM order_history WHERE order_id = ?`, orderId),
		storedHistory: await count(`SELECT COUNT(*) AS n FROM order_status_history WHERE order_id = ?`, orderId),
		outbox: await count(`SELECT COUNT(*) AS n FROM outbox WHERE order_id = ?`, orderId),
		events: await count(`SELECT COUNT(*) AS n FROM event_outbox WHERE order_id = ?`, orderId),
		announcePending: await count(`SELECT COALESCE(SUM(announce_pending), 0) AS n FROM orders WHERE order_id = ?`, orderId),
		units: await count(`SELECT COALESCE(SUM(units), 0) AS n FROM customer_product_units WHERE user_id = ?`, userId),
	};
}

describe("the schema after the migrations", () => {
	it("has, in DB and in every order shard, one view (the history read), no trigger on orders, and no trigger but the cart version bookkeeping and the warehouse sweep mark", async () => {
		for (const db of [env.DB, ...allShards()]) {
			const { results } = await db.prepare(`SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name`).all<{ type: string; name: string; tbl_name: string }>();
			expect(results.filter((r) => r.type === "view").map((r) => r.name)).toEqual(["order_history"]);
			const triggers = results.filter((r) => r.type === "trigger");
			expect(triggers.filter((r) => r.tbl_name === "orders")).toEqual([]);
			expect(triggers.map((r) => r.name)).toEqual(["cart_items_deleted", "cart_items_inserted", "cart_items_updated", "carts_address_changed", "warehouses_deactivated"]);
		}
	});
});

describe("the decision batch", () => {
	it("writes the order, counters and commit outbox row, and completes the cart: no history row nor event row (the order's first history row is derived from it, its placed event pending on it)", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const { input, placement } = await decisionFor(user);
		expect(await orderStore(env).decide(placement)).toBe("ok");
		expect(await rowsOf(placement.order.order_id, user)).toEqual({ orders: 1, history: 1, outbox: 1, storedHistory: 0, events: 0, announcePending: 1, units: 2 });
		const cart = await dbOfCustomer(user).prepare(`SELECT status, checkout_refusal FROM carts WHERE cart_id = ?`).bind(input.cartId).first();
		expect(cart).toEqual({ status: "completed", checkout_refusal: null });
	});

	it("is refused whole when the cart's version moved since it was read (CART_CHANGED): nothing written, the cart still active", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const { input, placement } = await decisionFor(user);
		expect(await setLine(dbOfCustomer(user), input.cartId, { product_id: shop.products[0]!, size: "M", quantity: 3 }, MAX_CART_LINES, new Date().toISOString(), await lineLimits(env.DB, shop.products[0]!))).toBeNull();
		expect(await orderStore(env).decide(placement)).toBe("cart_changed");
		expect(await rowsOf(placement.order.order_id, user)).toEqual({ orders: 0, history: 0, outbox: 0, storedHistory: 0, events: 0, announcePending: 0, units: 0 });
		expect((await dbOfCustomer(user).prepare(`SELECT status FROM carts WHERE cart_id = ?`).bind(input.cartId).first())?.status).toBe("active");
	});

	it("is refused whole for a cart already ordered (CART_TAKEN): the second order writes nothing", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const first = await decisionFor(user);
		const second = await decisionFor(user);
		expect(await orderStore(env).decide(first.placement)).toBe("ok");
		expect(await orderStore(env).decide(second.placement)).toBe("cart_taken");
		expect(await rowsOf(second.placement.order.order_id, user)).toEqual({ orders: 0, history: 0, outbox: 0, storedHistory: 0, events: 0, announcePending: 0, units: 1 });
	});

	it("throws, writing nothing, for an order id that names another shard than its customer's (later look-ups go by the id)", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const { placement } = await decisionFor(user);
		const elsewhere = (customerDb(env, user).index + 1) % allShards().length;
		const misplaced = { ...placement, order: { ...placement.order, order_id: newOrderId(elsewhere) } };
		await expect(orderStore(env).decide(misplaced)).rejects.toThrow(/does not name its customer's shard/);
		expect(await rowsOf(misplaced.order.order_id, user)).toEqual({ orders: 0, history: 0, outbox: 0, storedHistory: 0, events: 0, announcePending: 0, units: 0 });
	});

	it("is refused whole past a purchase limit, counted by the counters' CHECK with the limit of the catalog that priced the order", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const product = shop.products[0]!;
		const user = await quickCustomer([{ product_id: product, size: "M", quantity: 2 }]);
		// The pricing catalog says the limit is 2, and an order decided elsewhere already holds one unit.
		const { placement } = await decisionFor(user, new Map([[product, 2]]));
		await dbOfCustomer(user).prepare(`INSERT INTO customer_product_units (user_id, product_id, units, cap) VALUES (?, ?, 1, 2)`).bind(user, product).run();
		expect(await orderStore(env).decide(placement)).toBe("purchase_limit");
		expect(await rowsOf(placement.order.order_id, user)).toEqual({ orders: 0, history: 0, outbox: 0, storedHistory: 0, events: 0, announcePending: 0, units: 1 });
	});
});

describe("an order's history, read through the view order_history", () => {
	const historyOf = async (userId: string, orderId: string) =>
		(
			await dbOfCustomer(userId)
				.prepare(`SELECT order_id, old_status, new_status, changed_by, reason, created_at FROM order_history WHERE order_id = ? ORDER BY position`)
				.bind(orderId)
				.all()
		).results;

	it("derives a placed order's first row from the order row: exactly placedHistory(order), with PLACED_REASON (the SQL literals and the TypeScript agree)", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const { placement } = await decisionFor(user);
		expect(await orderStore(env).decide(placement)).toBe("ok");
		const history = await historyOf(user, placement.order.order_id);
		expect(history).toEqual([placedHistory(placement.order)]);
		expect(history[0]).toMatchObject({ old_status: null, new_status: placement.order.status, changed_by: user, reason: PLACED_REASON, created_at: placement.order.created_at });
	});

	it("shows an order whose placement row is stored (as earlier versions wrote it with the order) once, then its changes", async () => {
		const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
		const user = await quickCustomer([{ product_id: shop.products[0]!, size: "M", quantity: 1 }]);
		const { order } = (await decisionFor(user)).placement;
		const db = dbOfCustomer(user);
		await db.batch([insertOrderStmt(db, order), historyStmt(db, placedHistory(order))]);
		expect(await historyOf(user, order.order_id)).toEqual([placedHistory(order)]);

		const paid = { order_id: order.order_id, old_status: "pending", new_status: "paid", changed_by: "admin-1", reason: "paid at the counter", created_at: new Date().toISOString() };
		await historyStmt(db, paid).run();
		expect(await historyOf(user, order.order_id)).toEqual([placedHistory(order), paid]);
		expect(await rowsOf(order.order_id, user)).toMatchObject({ history: 2, storedHistory: 2 });
	});
});
