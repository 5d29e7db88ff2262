// The cart endpoints through the Worker's real fetch handler: an empty cart on
// first use, adding and setting lines, validation, the address, auth and
// per-user isolation.
import { describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { admin, call, uid } from "../helpers/http";
import { dbOfCustomer } from "../helpers/shards";
import { ADDRESS, makeShop } from "../helpers/shop";
import { activeCart, addToLine, cartLines, setLine } from "../../src/cart/queries";

/** These products have no purchase limit: the lines count against nothing. */
const NO_LIMITS = { caps: [], weights: [] };

async function newUser() {
	return token(uid("user"));
}

async function oneProduct(price = 12.5, sizes = ["S", "M", "L"]) {
	const shop = await makeShop({ price, sizes, warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }] });
	return shop.products[0]!;
}

function expectError(r: { status: number; body: any }, status: number, code: string) {
	expect(r.status, JSON.stringify(r.body)).toBe(status);
	expect(r.body).toEqual(expect.objectContaining({ code, error: expect.any(String) }));
	expect(r.body.error.length).toBeGreaterThan(0);
}

describe("GET /cart", () => {
	it("makes an empty active cart on first use", async () => {
		const auth = await newUser();
		const r = await call("GET", "/cart", { auth });
		expect(r.status).toBe(200);
		expect(r.body).toEqual({ cart_id: expect.any(String), status: "active", items: [], address: null, subtotal: 0, currency: "USD" });
		expect(r.body.cart_id.length).toBeGreaterThan(0);
	});

	it("answers the same cart on every call (one active cart per user)", async () => {
		const auth = await newUser();
		const a = await call("GET", "/cart", { auth });
		const b = await call("GET", "/cart", { auth });
		expect(b.body.cart_id).toBe(a.body.cart_id);
	});

	it("makes one cart when first calls race", async () => {
		const sub = uid("user");
		const auth = await token(sub);
		const answers = await Promise.all(Array.from({ length: 5 }, () => call("GET", "/cart", { auth })));
		for (const r of answers) expect(r.status).toBe(200);
		expect(new Set(answers.map((r) => r.body.cart_id)).size).toBe(1);
		const { results } = await dbOfCustomer(sub).prepare(`SELECT cart_id FROM carts WHERE user_id = ? AND status = 'active'`).bind(sub).all();
		expect(results).toHaveLength(1);
	});

	it("is 401 UNAUTHORIZED without a token or with a bad one", async () => {
		expectError(await call("GET", "/cart"), 401, "UNAUTHORIZED");
		expectError(await call("GET", "/cart", { auth: "not-a-jwt" }), 401, "UNAUTHORIZED");
		expectError(await call("GET", "/cart", { auth: await token(uid("user"), { secret: "another-secret" }) }), 401, "UNAUTHORIZED");
	});
});

describe("POST /cart/items", () => {
	it("adds a line and answers the priced cart", async () => {
		const product_id = await oneProduct(12.5);
		const auth = await newUser();
		const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 2 } });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.status).toBe("active");
		expect(r.body.items).toEqual([{ product_id, size: "M", name: "Product 0", quantity: 2, unit_price: 12.5, line_total: 25 }]);
		expect(r.body.subtotal).toBe(25);
		expect(r.body.currency).toBe("USD");
		expect(r.body.address).toBeNull();
	});

	it("adds to an existing line (quantity summed) and keeps other lines apart", async () => {
		const product_id = await oneProduct(3.33);
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 2 } });
		const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 3 } });
		expect(r.status).toBe(200);
		expect(r.body.items).toHaveLength(1);
		expect(r.body.items[0]).toEqual(expect.objectContaining({ product_id, size: "M", quantity: 5, unit_price: 3.33, line_total: 16.65 }));
		const other = await call("POST", "/cart/items", { auth, body: { product_id, size: "L", quantity: 1 } });
		expect(other.body.items).toHaveLength(2);
		const bySize = Object.fromEntries(other.body.items.map((i: any) => [i.size, i.quantity]));
		expect(bySize).toEqual({ M: 5, L: 1 });
		expect(other.body.subtotal).toBe(19.98);
	});

	it("is 404 NOT_FOUND for an unknown product and adds nothing", async () => {
		const auth = await newUser();
		const r = await call("POST", "/cart/items", { auth, body: { product_id: uid("missing"), size: "M", quantity: 1 } });
		expectError(r, 404, "NOT_FOUND");
		expect((await call("GET", "/cart", { auth })).body.items).toEqual([]);
	});

	it("is 404 NOT_FOUND for an inactive product", async () => {
		const product_id = uid("p");
		await call("PUT", `/admin/products/${product_id}`, { auth: await admin(), body: { name: "Gone", price: 1, sizes: ["M"], active: false } });
		const auth = await newUser();
		expectError(await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 1 } }), 404, "NOT_FOUND");
	});

	it("is 400 VALIDATION_ERROR for a size the product does not come in", async () => {
		const product_id = await oneProduct();
		const auth = await newUser();
		const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "XXL", quantity: 1 } });
		expectError(r, 400, "VALIDATION_ERROR");
		expect(r.body.details).toEqual([expect.objectContaining({ field: "size" })]);
		expect((await call("GET", "/cart", { auth })).body.items).toEqual([]);
	});

	it("is 400 for a quantity of 0, 101, 1.5, a string or a missing quantity", async () => {
		const product_id = await oneProduct();
		const auth = await newUser();
		for (const quantity of [0, 101, 1.5, -1, "2", undefined]) {
			const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity } });
			expectError(r, 400, "VALIDATION_ERROR");
			expect(r.body.details.map((d: any) => d.field), String(quantity)).toContain("quantity");
		}
		expect((await call("GET", "/cart", { auth })).body.items).toEqual([]);
	});

	it("accepts the bounds 1 and 100", async () => {
		const product_id = await oneProduct(1);
		const auth = await newUser();
		expect((await call("POST", "/cart/items", { auth, body: { product_id, size: "S", quantity: 1 } })).status).toBe(200);
		const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 100 } });
		expect(r.status).toBe(200);
		expect(r.body.items.find((i: any) => i.size === "M").quantity).toBe(100);
	});

	it("rejects (400) an addition that takes a line over 100 and leaves the line unchanged", async () => {
		const product_id = await oneProduct(2);
		const auth = await newUser();
		expect((await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 60 } })).status).toBe(200);
		const r = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 41 } });
		expectError(r, 400, "VALIDATION_ERROR");
		expect(r.body.details).toEqual([expect.objectContaining({ field: "quantity" })]);
		const cart = await call("GET", "/cart", { auth });
		expect(cart.body.items).toEqual([expect.objectContaining({ product_id, size: "M", quantity: 60, line_total: 120 })]);
		// Exactly up to 100 is fine.
		const ok = await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 40 } });
		expect(ok.status).toBe(200);
		expect(ok.body.items[0].quantity).toBe(100);
	});

	it("concurrent additions to one line never pass 100 and lose no units", async () => {
		const product_id = await oneProduct(1);
		const auth = await newUser();
		const tens = await Promise.all(Array.from({ length: 10 }, () => call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 10 } })));
		expect(tens.map((r) => r.status)).toEqual(Array(10).fill(200));
		expect((await call("GET", "/cart", { auth })).body.items[0].quantity).toBe(100);
		const other = await newUser();
		const sixties = await Promise.all([0, 1].map(() => call("POST", "/cart/items", { auth: other, body: { product_id, size: "M", quantity: 60 } })));
		expect(sixties.map((r) => r.status).sort()).toEqual([200, 400]);
		expect(sixties.find((r) => r.status === 400)!.body.code).toBe("VALIDATION_ERROR");
		expect((await call("GET", "/cart", { auth: other })).body.items).toEqual([expect.objectContaining({ size: "M", quantity: 60 })]);
	});

	it("a cart holds at most 50 different lines (400 for the 51st); existing lines can still grow", async () => {
		const sizes = Array.from({ length: 50 }, (_, i) => `s${i}`);
		const shop = await makeShop({ products: 2, sizes, price: 1, warehouses: [] });
		const [p0, p1] = shop.products as [string, string];
		const auth = await newUser();
		for (const size of sizes) expect((await call("POST", "/cart/items", { auth, body: { product_id: p0, size, quantity: 1 } })).status).toBe(200);
		const full = await call("POST", "/cart/items", { auth, body: { product_id: p1, size: "s0", quantity: 1 } });
		expectError(full, 400, "VALIDATION_ERROR");
		expectError(await call("PUT", `/cart/items/${p1}/s0`, { auth, body: { quantity: 1 } }), 400, "VALIDATION_ERROR");
		const grow = await call("POST", "/cart/items", { auth, body: { product_id: p0, size: "s7", quantity: 4 } });
		expect(grow.status).toBe(200);
		expect(grow.body.items).toHaveLength(50);
		expect(grow.body.subtotal).toBe(54);
		expect((await call("PUT", `/cart/items/${p0}/s8`, { auth, body: { quantity: 3 } })).status).toBe(200);
	});

	it("concurrent requests for new lines on a cart with 49: one 200, the rest 400 'cart is full', 50 lines", async () => {
		const racing = ["x0", "x1", "x2", "x3", "x4"];
		const sizes = [...Array.from({ length: 45 }, (_, i) => `s${i}`), ...racing];
		const shop = await makeShop({ products: 2, sizes, price: 1, warehouses: [] });
		const [p0, p1] = shop.products as [string, string];
		const auth = await newUser();
		for (const size of sizes.slice(0, 49)) expect((await call("POST", "/cart/items", { auth, body: { product_id: p0, size, quantity: 1 } })).status).toBe(200);
		const racers = await Promise.all(
			racing.map((size, i) =>
				i % 2 === 0
					? call("POST", "/cart/items", { auth, body: { product_id: p1, size, quantity: 1 } })
					: call("PUT", `/cart/items/${p1}/${size}`, { auth, body: { quantity: 1 } }),
			),
		);
		expect(racers.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
		for (const r of racers.filter((x) => x.status === 400)) expect(r.body.details).toEqual([{ field: "product_id", message: "cart is full" }]);
		expect((await call("GET", "/cart", { auth })).body.items).toHaveLength(50);
	});

	it("the line cap holds in the database itself: five new lines written at once to a 49-line cart, one lands", async () => {
		const sizes = Array.from({ length: 50 }, (_, i) => `s${i}`);
		const shop = await makeShop({ products: 2, sizes, price: 1, warehouses: [] });
		const [p0, p1] = shop.products as [string, string];
		const user = uid("user");
		const db = dbOfCustomer(user);
		const cart = await activeCart(db, user, new Date().toISOString());
		const now = new Date().toISOString();
		for (const size of sizes.slice(0, 49)) expect(await setLine(db, cart.cart_id, { product_id: p0, size, quantity: 1 }, 50, now, NO_LIMITS)).toBeNull();
		// No route pre-check here: every write relies on the statement's own count.
		const outcomes = await Promise.all(
			sizes.slice(0, 5).map((size, i) =>
				i % 2 === 0
					? addToLine(db, cart.cart_id, { product_id: p1, size, quantity: 1 }, { maxQuantity: 100, maxLines: 50 }, now, NO_LIMITS)
					: setLine(db, cart.cart_id, { product_id: p1, size, quantity: 1 }, 50, now, NO_LIMITS),
			),
		);
		expect(outcomes.filter((o) => o === null)).toHaveLength(1);
		expect(outcomes.filter((o) => o === "cart_full")).toHaveLength(4);
		expect(await cartLines(db, cart.cart_id)).toHaveLength(50);
		// An existing line still grows on a full cart; its unit cap still holds.
		expect(await addToLine(db, cart.cart_id, { product_id: p0, size: "s3", quantity: 99 }, { maxQuantity: 100, maxLines: 50 }, now, NO_LIMITS)).toBeNull();
		expect(await addToLine(db, cart.cart_id, { product_id: p0, size: "s3", quantity: 1 }, { maxQuantity: 100, maxLines: 50 }, now, NO_LIMITS)).toBe("line_full");
	});

	it("a line change that reaches a cart after its checkout writes nothing and says why", async () => {
		const product_id = await oneProduct();
		const user = uid("user");
		const db = dbOfCustomer(user);
		const cart = await activeCart(db, user, new Date().toISOString());
		await db.prepare(`UPDATE carts SET status = 'completed' WHERE cart_id = ?`).bind(cart.cart_id).run();
		const now = new Date().toISOString();
		expect(await addToLine(db, cart.cart_id, { product_id, size: "M", quantity: 1 }, { maxQuantity: 100, maxLines: 50 }, now, NO_LIMITS)).toBe("cart_closed");
		expect(await setLine(db, cart.cart_id, { product_id, size: "M", quantity: 2 }, 50, now, NO_LIMITS)).toBe("cart_closed");
		expect(await cartLines(db, cart.cart_id)).toEqual([]);
	});

	it("is 400 for a body that is not an object of the right shape", async () => {
		const auth = await newUser();
		expectError(await call("POST", "/cart/items", { auth, body: { size: "M", quantity: 1 } }), 400, "VALIDATION_ERROR");
		expectError(await call("POST", "/cart/items", { auth, raw: "{oops", headers: { "content-type": "application/json" } }), 400, "INVALID_JSON");
	});

	it("is 401 without a token", async () => {
		const product_id = await oneProduct();
		expectError(await call("POST", "/cart/items", { body: { product_id, size: "M", quantity: 1 } }), 401, "UNAUTHORIZED");
	});

	it("prices lines with the current catalog price", async () => {
		const product_id = await oneProduct(10);
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 3 } });
		await call("PUT", `/admin/products/${product_id}`, { auth: await admin(), body: { name: "Renamed", price: 7.25, sizes: ["S", "M", "L"] } });
		const cart = await call("GET", "/cart", { auth });
		expect(cart.body.items).toEqual([{ product_id, size: "M", name: "Renamed", quantity: 3, unit_price: 7.25, line_total: 21.75 }]);
		expect(cart.body.subtotal).toBe(21.75);
	});
});

describe("PUT /cart/items/:product_id/:size", () => {
	it("sets a line's quantity (not added)", async () => {
		const product_id = await oneProduct(4);
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 5 } });
		const r = await call("PUT", `/cart/items/${product_id}/M`, { auth, body: { quantity: 2 } });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.items).toEqual([expect.objectContaining({ product_id, size: "M", quantity: 2, line_total: 8 })]);
		expect(r.body.subtotal).toBe(8);
	});

	it("quantity 0 removes the line", async () => {
		const product_id = await oneProduct();
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 5 } });
		await call("POST", "/cart/items", { auth, body: { product_id, size: "S", quantity: 1 } });
		const r = await call("PUT", `/cart/items/${product_id}/M`, { auth, body: { quantity: 0 } });
		expect(r.status).toBe(200);
		expect(r.body.items.map((i: any) => i.size)).toEqual(["S"]);
	});

	it("rejects 101, -1 and 1.5 (400) and leaves the line unchanged", async () => {
		const product_id = await oneProduct();
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 5 } });
		for (const quantity of [101, -1, 1.5]) {
			expectError(await call("PUT", `/cart/items/${product_id}/M`, { auth, body: { quantity } }), 400, "VALIDATION_ERROR");
		}
		expect((await call("GET", "/cart", { auth })).body.items[0].quantity).toBe(5);
	});

	it("is 404 for an unknown product and 400 for an unknown size", async () => {
		const product_id = await oneProduct();
		const auth = await newUser();
		expectError(await call("PUT", `/cart/items/${uid("nope")}/M`, { auth, body: { quantity: 1 } }), 404, "NOT_FOUND");
		expectError(await call("PUT", `/cart/items/${product_id}/XXL`, { auth, body: { quantity: 1 } }), 400, "VALIDATION_ERROR");
		expect((await call("GET", "/cart", { auth })).body.items).toEqual([]);
	});

	it("is 400 for an invalid id in the path", async () => {
		const auth = await newUser();
		const r = await call("PUT", `/cart/items/${"x".repeat(65)}/M`, { auth, body: { quantity: 1 } });
		expectError(r, 400, "VALIDATION_ERROR");
	});
});

describe("DELETE /cart/items/:product_id/:size", () => {
	it("removes the line; removing an absent line is not an error", async () => {
		const product_id = await oneProduct(5);
		const auth = await newUser();
		await call("POST", "/cart/items", { auth, body: { product_id, size: "M", quantity: 2 } });
		await call("POST", "/cart/items", { auth, body: { product_id, size: "L", quantity: 1 } });
		const r = await call("DELETE", `/cart/items/${product_id}/M`, { auth });
		expect(r.status).toBe(200);
		expect(r.body.items).toEqual([expect.objectContaining({ product_id, size: "L", quantity: 1 })]);
		expect(r.body.subtotal).toBe(5);
		const again = await call("DELETE", `/cart/items/${product_id}/M`, { auth });
		expect(again.status).toBe(200);
		expect(again.body.items).toHaveLength(1);
	});

	it("is 401 without a token", async () => {
		expectError(await call("DELETE", `/cart/items/p1/M`), 401, "UNAUTHORIZED");
	});
});

describe("PUT /cart/address", () => {
	it("sets the address and answers the cart with it", async () => {
		const auth = await newUser();
		const address = { ...ADDRESS, line2: "Apt 4", phone: "+1 212 555 0100" };
		const r = await call("PUT", "/cart/address", { auth, body: address });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.address).toEqual(address);
		expect((await call("GET", "/cart", { auth })).body.address).toEqual(address);
	});

	it("replaces an earlier address", async () => {
		const auth = await newUser();
		await call("PUT", "/cart/address", { auth, body: ADDRESS });
		const next = { ...ADDRESS, city: "Boston", region: "MA", postal_code: "02139" };
		const r = await call("PUT", "/cart/address", { auth, body: next });
		expect(r.body.address).toEqual(next);
	});

	it("is 400 VALIDATION_ERROR with details for a missing line1 and a country that is not alpha-2", async () => {
		const auth = await newUser();
		const { line1: _omit, ...noLine1 } = ADDRESS;
		const r = await call("PUT", "/cart/address", { auth, body: { ...noLine1, country: "USA" } });
		expectError(r, 400, "VALIDATION_ERROR");
		const fields = r.body.details.map((d: any) => d.field);
		expect(fields).toEqual(expect.arrayContaining(["line1", "country"]));
		for (const d of r.body.details) expect(d.message).toEqual(expect.any(String));
		expect((await call("GET", "/cart", { auth })).body.address).toBeNull();
	});

	it("rejects each missing required field and a lower-case country", async () => {
		const auth = await newUser();
		for (const field of ["name", "line1", "city", "region", "postal_code", "country"]) {
			const body: Record<string, unknown> = { ...ADDRESS };
			delete body[field];
			const r = await call("PUT", "/cart/address", { auth, body });
			expectError(r, 400, "VALIDATION_ERROR");
			expect(r.body.details.map((d: any) => d.field)).toContain(field);
		}
		const r = await call("PUT", "/cart/address", { auth, body: { ...ADDRESS, country: "us" } });
		expect(r.body.details.map((d: any) => d.field)).toContain("country");
		const blank = await call("PUT", "/cart/address", { auth, body: { ...ADDRESS, line1: "   " } });
		expect(blank.status).toBe(400);
	});

	it("is 401 without a token", async () => {
		expectError(await call("PUT", "/cart/address", { body: ADDRESS }), 401, "UNAUTHORIZED");
	});
});

describe("isolation between users", () => {
	it("users do not see or change each other's carts", async () => {
		const product_id = await oneProduct(9);
		const alice = await newUser();
		const bob = await newUser();
		await call("POST", "/cart/items", { auth: alice, body: { product_id, size: "M", quantity: 3 } });
		await call("PUT", "/cart/address", { auth: alice, body: ADDRESS });
		const bobCart = await call("GET", "/cart", { auth: bob });
		expect(bobCart.body.items).toEqual([]);
		expect(bobCart.body.address).toBeNull();
		const aliceCart = await call("GET", "/cart", { auth: alice });
		expect(bobCart.body.cart_id).not.toBe(aliceCart.body.cart_id);
		// Bob's changes touch only Bob's cart.
		await call("DELETE", `/cart/items/${product_id}/M`, { auth: bob });
		await call("POST", "/cart/items", { auth: bob, body: { product_id, size: "S", quantity: 1 } });
		const after = await call("GET", "/cart", { auth: alice });
		expect(after.body.items).toEqual([expect.objectContaining({ product_id, size: "M", quantity: 3 })]);
		expect(after.body.subtotal).toBe(27);
		expect((await call("GET", "/cart", { auth: bob })).body.items).toEqual([expect.objectContaining({ size: "S", quantity: 1 })]);
	});
});
