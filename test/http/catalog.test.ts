import { describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { admin, call, seedCatalog, uid } from "../helpers/http";

describe("admin products", () => {
	it("creates, then replaces a product (PUT is create-or-replace)", async () => {
		const auth = await admin();
		const id = uid("p");
		const created = await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Tee", price: 25.98, sizes: ["S", "M"] } });
		expect(created.status).toBe(200);
		expect(created.body).toEqual({ product_id: id, name: "Tee", price: 25.98, sizes: ["S", "M"], active: true, max_per_customer: null, components: null });
		const replaced = await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Tee v2", price: 30, sizes: ["M"], active: false } });
		expect(replaced.body).toEqual({ product_id: id, name: "Tee v2", price: 30, sizes: ["M"], active: false, max_per_customer: null, components: null });
	});

	it("sets, shows and removes a purchase limit (max_per_customer)", async () => {
		const auth = await admin();
		const id = uid("p");
		const limited = await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Drop", price: 99, sizes: ["M"], max_per_customer: 2 } });
		expect(limited.status, JSON.stringify(limited.body)).toBe(200);
		expect(limited.body.max_per_customer).toBe(2);
		expect((await call("GET", `/products/${id}`)).body.max_per_customer).toBe(2);
		expect((await call("GET", "/products")).body.products.find((p: { product_id: string }) => p.product_id === id).max_per_customer).toBe(2);
		// PUT replaces: without the field the limit is gone; null says so explicitly.
		expect((await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Drop", price: 99, sizes: ["M"] } })).body.max_per_customer).toBeNull();
		expect((await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Drop", price: 99, sizes: ["M"], max_per_customer: null } })).body.max_per_customer).toBeNull();
	});

	it("rejects a purchase limit that is not an integer of at least 1, and changes nothing", async () => {
		const auth = await admin();
		const id = uid("p");
		expect((await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Drop", price: 5, sizes: ["M"], max_per_customer: 3 } })).status).toBe(200);
		for (const max_per_customer of [0, -1, 1.5, "2", true]) {
			const r = await call("PUT", `/admin/products/${id}`, { auth, body: { name: "Drop", price: 5, sizes: ["M"], max_per_customer } });
			expect(r.status, JSON.stringify(max_per_customer)).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
			expect(JSON.stringify(r.body.details)).toContain("max_per_customer");
		}
		expect((await call("GET", `/products/${id}`)).body.max_per_customer).toBe(3);
	});

	it("rejects a price with more than two decimals, a negative price and duplicate sizes", async () => {
		const auth = await admin();
		for (const body of [
			{ name: "x", price: 1.001, sizes: ["S"] },
			{ name: "x", price: -1, sizes: ["S"] },
			{ name: "x", price: 1, sizes: ["S", "S"] },
			{ name: "x", price: 1, sizes: [] },
			{ name: "x", price: "1", sizes: ["S"] },
		]) {
			const r = await call("PUT", `/admin/products/${uid("p")}`, { auth, body });
			expect(r.status, JSON.stringify(body)).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
	});

	it("needs a token (401) and the admin role (403)", async () => {
		const body = { name: "x", price: 1, sizes: ["S"] };
		expect((await call("PUT", "/admin/products/p1", { body })).status).toBe(401);
		expect((await call("PUT", "/admin/products/p1", { body, auth: await token("alice") })).status).toBe(403);
	});
});

describe("admin warehouses", () => {
	it("creates, lists and replaces warehouses", async () => {
		const auth = await admin();
		const id = uid("wh");
		const body = { name: "North", postal_code: "02139", region: "MA", country: "US" };
		const put = await call("PUT", `/admin/warehouses/${id}`, { auth, body });
		expect(put.status).toBe(200);
		expect(put.body).toEqual({ warehouse_id: id, ...body, active: true });
		const again = await call("PUT", `/admin/warehouses/${id}`, { auth, body: { ...body, active: false } });
		expect(again.body.active).toBe(false);
		const list = await call("GET", "/admin/warehouses", { auth });
		expect(list.status).toBe(200);
		expect(list.body.warehouses).toContainEqual({ warehouse_id: id, ...body, active: false });
	});

	it("rejects a country that is not ISO alpha-2 and a missing name", async () => {
		const r = await call("PUT", `/admin/warehouses/${uid("wh")}`, { auth: await admin(), body: { postal_code: "1", region: "X", country: "USA" } });
		expect(r.status).toBe(400);
		const fields = r.body.details.map((d: { field: string }) => d.field);
		expect(fields).toEqual(expect.arrayContaining(["name", "country"]));
	});

	it("GET /admin/warehouses is 401 without a token and 403 for a customer", async () => {
		expect((await call("GET", "/admin/warehouses")).status).toBe(401);
		expect((await call("GET", "/admin/warehouses", { auth: await token("bob") })).status).toBe(403);
	});
});

describe("public products", () => {
	it("lists only active products", async () => {
		const auth = await admin();
		const active = uid("p");
		const inactive = uid("p");
		await call("PUT", `/admin/products/${active}`, { auth, body: { name: "A", price: 1, sizes: ["S"] } });
		await call("PUT", `/admin/products/${inactive}`, { auth, body: { name: "B", price: 1, sizes: ["S"], active: false } });
		const r = await call("GET", "/products");
		expect(r.status).toBe(200);
		const ids = r.body.products.map((p: { product_id: string }) => p.product_id);
		expect(ids).toContain(active);
		expect(ids).not.toContain(inactive);
	});

	it("shows availability per size summed over active warehouses only", async () => {
		const auth = await admin();
		const { product_id, warehouse_ids } = await seedCatalog({ warehouses: [{}, {}, {}], sizes: ["S", "M"] });
		const [a, b, c] = warehouse_ids as [string, string, string];
		await call("PUT", `/admin/warehouses/${a}/stock`, { auth, body: { items: [{ product_id, size: "S", on_hand: 3 }] } });
		await call("PUT", `/admin/warehouses/${b}/stock`, { auth, body: { items: [{ product_id, size: "S", on_hand: 4 }, { product_id, size: "M", on_hand: 1 }] } });
		await call("PUT", `/admin/warehouses/${c}/stock`, { auth, body: { items: [{ product_id, size: "S", on_hand: 100 }] } });
		await call("PUT", `/admin/warehouses/${c}`, { auth, body: { name: "off", postal_code: "1", region: "X", country: "US", active: false } });
		const r = await call("GET", `/products/${product_id}`);
		expect(r.status).toBe(200);
		expect(r.body.availability).toEqual({ S: 7, M: 1 });
		expect(r.body.price).toBe(12.99);
	});

	it("404s for an unknown or inactive product", async () => {
		expect((await call("GET", `/products/${uid("nope")}`)).body.code).toBe("NOT_FOUND");
		const auth = await admin();
		const id = uid("p");
		await call("PUT", `/admin/products/${id}`, { auth, body: { name: "B", price: 1, sizes: ["S"], active: false } });
		expect((await call("GET", `/products/${id}`)).status).toBe(404);
	});
});
