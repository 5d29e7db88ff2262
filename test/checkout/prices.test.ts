/**
 * Prices at checkout come from the catalog snapshot, never older than
 * PRICE_MAX_AGE_MS (src/checkout/catalog.ts): a price change made anywhere
 * reaches new checkouts within that bound, at once in the isolate that made
 * it, and a stale copy served while D1 fails never prices an order.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catalogClock, catalogOf } from "../../src/catalog/reads";
import { PRICE_MAX_AGE_MS, pricingCatalog } from "../../src/checkout/catalog";
import { admin, call } from "../helpers/http";
import { customer, makeShop, placeOrder } from "../helpers/shop";

const NY = { postal_code: "10001", region: "NY" };

describe("prices at checkout", () => {
	/** The catalog cache's clock stands still unless a test moves it. */
	let now = 0;
	beforeEach(() => {
		now = Date.now();
		catalogClock.now = () => now;
	});
	afterEach(() => void (catalogClock.now = () => Date.now()));

	it("a price changed elsewhere prices every checkout once the bound has passed", async () => {
		const shop = await makeShop({ sizes: ["M"], price: 10, warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const a = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		const b = await customer([{ product_id: p, size: "M", quantity: 1 }]);
		// Another isolate's admin write: D1 changes, this isolate's copy is not dropped.
		await env.DB.prepare(`UPDATE products SET price_cents = 2500 WHERE product_id = ?`).bind(p).run();
		// Within the bound a checkout may still price from the copy read before the change...
		const early = await placeOrder(a.auth);
		expect(early.status, JSON.stringify(early.body)).toBe(201);
		expect(early.body.products[0].unit_price).toBe(10);
		// ...once the bound has passed, none does.
		now += PRICE_MAX_AGE_MS;
		const late = await placeOrder(b.auth);
		expect(late.status, JSON.stringify(late.body)).toBe(201);
		expect(late.body.products[0].unit_price).toBe(25);
		expect(late.body.subtotal).toBe(25);
	});

	it("an admin price change here prices the next checkout at once", async () => {
		const shop = await makeShop({ sizes: ["M"], price: 10, warehouses: [{ ...NY, stock: { "0/M": 5 } }] });
		const p = shop.products[0]!;
		const c = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const r = await call("PUT", `/admin/products/${p}`, { auth: await admin(), body: { name: "Product 0", price: 12.5, sizes: ["M"] } });
		expect(r.status).toBe(200);
		const placed = await placeOrder(c.auth);
		expect(placed.status, JSON.stringify(placed.body)).toBe(201);
		expect(placed.body.products[0].unit_price).toBe(12.5);
		expect(placed.body.subtotal).toBe(25);
	});

	it("never prices from the stale copy pages are served while D1 fails", async () => {
		let down = false;
		const DB = new Proxy(env.DB, {
			get(target, prop) {
				if (down && (prop === "prepare" || prop === "batch")) {
					return () => {
						throw new Error("D1_ERROR: injected outage");
					};
				}
				const v = Reflect.get(target, prop);
				return typeof v === "function" ? v.bind(target) : v;
			},
		});
		const ownEnv = { ...env, DB };
		expect(await pricingCatalog(ownEnv)).toBeDefined();
		down = true;
		now += PRICE_MAX_AGE_MS;
		// Product pages get the copy (a price a little behind beats no page); checkout gets none.
		expect(await catalogOf(ownEnv).read()).toMatchObject({ ok: true, stale: true });
		expect(await pricingCatalog(ownEnv)).toBeUndefined();
		down = false;
		now += PRICE_MAX_AGE_MS;
		expect(await pricingCatalog(ownEnv)).toBeDefined();
	});
});
