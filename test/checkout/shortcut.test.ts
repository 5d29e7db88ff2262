// The first-attempt shortcut: when one warehouse alone is nearest to the address,
// place-order reserves there directly and reads no availability elsewhere; when it
// is short, or several are equally near, the full plan decides as before.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { placeOrder, soleNearest } from "../../src/checkout/placeOrder";
import { warehousePort } from "../../src/checkout/ports";
import { checkoutDeps, checkoutInput, faultyWarehouses } from "../helpers/faults";
import { ADDRESS, customer, expectInvariants, makeShop } from "../helpers/shop";

const NY = { postal_code: "10001", region: "NY", country: "US" };

describe("soleNearest", () => {
	const w = (id: string, postal_code: string, region: string, country = "US") => ({ warehouse_id: id, postal_code, region, country });

	it("is the only tier_1 warehouse", () => {
		expect(soleNearest([w("a", "10001", "NY"), w("b", "94103", "CA")], NY)).toMatchObject({ warehouse_id: "a", tier: "tier_1" });
	});

	it("is the only tier_2 warehouse when none is tier_1", () => {
		expect(soleNearest([w("a", "14201", "NY"), w("b", "94103", "CA")], NY)).toMatchObject({ warehouse_id: "a", tier: "tier_2" });
	});

	it("is undefined when two share the best tier (stock must break the tie), when all are far, or without an address", () => {
		expect(soleNearest([w("a", "10001", "NY"), w("b", "10002", "NY")], NY)).toBeUndefined();
		expect(soleNearest([w("a", "94103", "CA"), w("b", "60601", "IL")], NY)).toBeUndefined();
		expect(soleNearest([w("a", "10001", "NY")], null)).toBeUndefined();
	});
});

describe("place-order shortcut", () => {
	it("reserves and commits at the one nearest warehouse without reading the others", async () => {
		const shop = await makeShop({
			sizes: ["M"],
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } },
				{ postal_code: "94103", region: "CA", stock: { "0/M": 50 } },
				{ postal_code: "60601", region: "IL", stock: { "0/M": 50 } },
			],
		});
		const buyer = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const port = faultyWarehouses(warehousePort(env));
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port }));
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.order.delivery_tier).toBe("tier_1");
		expect(result.order.products[0]!.allocations).toEqual([{ warehouse_id: shop.warehouses[0], quantity: 2 }]);
		expect(port.calls.map((c) => [c.op, c.warehouseId])).toEqual([
			["reserve", shop.warehouses[0]],
			["commit", shop.warehouses[0]],
		]);
		await expectInvariants(shop.warehouses, { settled: true });
	});

	it("falls back to the full plan when the nearest warehouse is short", async () => {
		const shop = await makeShop({
			sizes: ["M"],
			warehouses: [
				{ postal_code: "98101", region: "WA", stock: { "0/M": 1 } },
				{ postal_code: "94103", region: "CA", stock: { "0/M": 50 } },
			],
		});
		// Its own area (the file shares one D1, so other tests' NY warehouses exist too).
		const buyer = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 3 }], { ...ADDRESS, city: "Seattle", region: "WA", postal_code: "98101" });
		const port = faultyWarehouses(warehousePort(env));
		const result = await placeOrder(await checkoutInput(buyer.sub), checkoutDeps({ warehouses: port }));
		expect(result.ok).toBe(true);
		if (!result.ok) return;
		expect(result.order.products[0]!.allocations).toEqual([{ warehouse_id: shop.warehouses[1], quantity: 3 }]);
		// The shortcut's reserve came back short (it held nothing), then the plan read availability.
		expect(port.calls[0]).toMatchObject({ op: "reserve", warehouseId: shop.warehouses[0], outcome: "insufficient_stock" });
		expect(port.calls.some((c) => c.op === "availability" && c.warehouseId === shop.warehouses[1])).toBe(true);
		await expectInvariants(shop.warehouses, { settled: true });
	});
});
