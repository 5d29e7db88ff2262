import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";
import { customer, expectInvariants, makeShop, onHand, placeOrder } from "../helpers/shop";

describe("checkout smoke", () => {
	it("places an order", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 3 } }] });
		const { auth } = await customer([{ product_id: shop.products[0]!, size: "M", quantity: 2 }]);
		const r = await placeOrder(auth);
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(await onHand(shop.warehouses[0]!, shop.products[0]!, "M")).toEqual({ on_hand: 1, reserved: 0 });
		const cart = await call("GET", "/cart", { auth });
		expect(cart.body.items).toEqual([]);
		await expectInvariants(shop.warehouses, { settled: true });
	});
});
