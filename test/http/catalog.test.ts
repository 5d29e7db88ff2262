import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catalogClock, dropCatalog } from "../../src/catalog/reads";
import { CATALOG_TTL_MS, STALE_IF_ERROR_MS } from "../../src/catalog/snapshot";
import worker from "../../src/index";
import { d1Queries } from "../../src/shared/d1Count";
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

describe("GET /products lists availability per size", () => {
	it("each product carries availability like its product page: plain sizes summed over active warehouses, kits from components", async () => {
		const auth = await admin();
		const { product_id: tee, warehouse_ids } = await seedCatalog({ warehouses: [{}, {}], sizes: ["S", "M"] });
		const [a, b] = warehouse_ids as [string, string];
		const cap = uid("cap");
		expect((await call("PUT", `/admin/products/${cap}`, { auth, body: { name: "Cap", price: 5, sizes: ["OS"] } })).status).toBe(200);
		const kit = uid("kit");
		const k = await call("PUT", `/admin/products/${kit}`, { auth, body: { name: "Kit", price: 20, sizes: ["ONE"], components: [{ product_id: tee, size: "M", quantity: 2 }, { product_id: cap, size: "OS", quantity: 1 }] } });
		expect(k.status, JSON.stringify(k.body)).toBe(200);
		await call("PUT", `/admin/warehouses/${a}/stock`, { auth, body: { items: [{ product_id: tee, size: "S", on_hand: 3 }, { product_id: tee, size: "M", on_hand: 5 }, { product_id: cap, size: "OS", on_hand: 4 }] } });
		await call("PUT", `/admin/warehouses/${b}/stock`, { auth, body: { items: [{ product_id: tee, size: "M", on_hand: 2 }, { product_id: cap, size: "OS", on_hand: 9 }] } });

		const listed = async () => {
			const r = await call("GET", "/products");
			expect(r.status).toBe(200);
			return new Map<string, Record<string, unknown>>(r.body.products.map((p: { product_id: string }) => [p.product_id, p]));
		};
		let list = await listed();
		// The product page's own fields, plus its availability: the listing and the page agree.
		for (const id of [tee, cap, kit]) expect(list.get(id)).toEqual((await call("GET", `/products/${id}`)).body);
		expect(list.get(tee)).toMatchObject({ name: `Product ${tee}`, price: 12.99, sizes: ["S", "M"], active: true, availability: { S: 3, M: 7 } });
		expect(list.get(cap)!.availability).toEqual({ OS: 13 });
		// Kits per warehouse: a: min(5/2, 4) = 2; b: min(2/2, 9) = 1.
		expect(list.get(kit)!.availability).toEqual({ ONE: 3 });

		// A component off sale: the kit shows 0; a warehouse off: its units leave the sums.
		expect((await call("PUT", `/admin/products/${cap}`, { auth, body: { name: "Cap", price: 5, sizes: ["OS"], active: false } })).status).toBe(200);
		expect((await call("PUT", `/admin/warehouses/${b}`, { auth, body: { name: "off", postal_code: "1", region: "X", country: "US", active: false } })).status).toBe(200);
		list = await listed();
		expect(list.has(cap)).toBe(false);
		expect(list.get(kit)!.availability).toEqual({ ONE: 0 });
		expect(list.get(tee)!.availability).toEqual({ S: 3, M: 5 });
	});
});

/** D1 statements run through the catalog's counted handle while `work` runs (the Worker runs in this isolate). */
async function d1During<T>(work: () => Promise<T>): Promise<{ result: T; queries: number }> {
	const before = d1Queries();
	const result = await work();
	return { result, queries: d1Queries() - before };
}

/**
 * The Worker with its own `DB` binding (so its own catalog cache) that counts
 * every call made on it, by any code the request runs, and fails them all while `down`.
 */
function withOwnD1() {
	const state = { down: false, calls: 0 };
	const DB = new Proxy(env.DB, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			return (...args: unknown[]) => {
				state.calls++;
				if (state.down) throw new Error("D1_ERROR: injected outage");
				return Reflect.apply(value, target, args);
			};
		},
	});
	const ownEnv = { ...env, DB };
	const get = async (path: string) => {
		const ctx = createExecutionContext();
		const res = await worker.fetch(new Request(`https://stockgate.test${path}`), ownEnv, ctx);
		await waitOnExecutionContext(ctx);
		return { status: res.status, body: (await res.json()) as any };
	};
	return { state, env: ownEnv, get };
}

describe("product reads off D1", () => {
	/** The catalog cache's clock stands still unless a test moves it: "the next read" is inside the ttl on any machine. */
	let now = 0;
	beforeEach(() => {
		now = Date.now();
		catalogClock.now = () => now;
	});
	afterEach(() => void (catalogClock.now = () => Date.now()));

	it("steady state: 100 concurrent listings and pages share one D1 read (a batch of two statements), the next 100 touch no D1 at all", async () => {
		const { product_id } = await seedCatalog({ sizes: ["M"] });
		const d1 = withOwnD1();
		await dropCatalog(d1.env); // cold here and in the location's shared layer
		d1.state.calls = 0;
		const views = () => Promise.all(Array.from({ length: 100 }, (_, i) => d1.get(i % 2 ? "/products" : `/products/${product_id}`)));
		const cold = await d1During(views);
		expect(cold.result.every((r) => r.status === 200)).toBe(true);
		expect(cold.queries).toBe(2);
		expect(d1.state.calls).toBe(3); // two prepares and one batch: every call the 100 requests made on the binding
		d1.state.calls = 0;
		const warm = await d1During(views);
		expect(warm.result.every((r) => r.status === 200)).toBe(true);
		expect(warm.queries).toBe(0);
		expect(d1.state.calls).toBe(0);
		expect((warm.queries + cold.queries) / 200).toBeLessThanOrEqual(0.01);
	});

	it("an admin write is seen by the next read in this isolate at once: price, name, activation, a new product", async () => {
		const auth = await admin();
		const { product_id } = await seedCatalog({ sizes: ["M"] });
		expect((await call("GET", `/products/${product_id}`)).body.price).toBe(12.99);
		const fresh = uid("p");
		expect((await call("GET", `/products/${fresh}`)).status).toBe(404);

		expect((await call("PUT", `/admin/products/${product_id}`, { auth, body: { name: "Renamed", price: 15, sizes: ["M"] } })).status).toBe(200);
		expect((await call("GET", `/products/${product_id}`)).body).toMatchObject({ name: "Renamed", price: 15 });
		expect((await call("PUT", `/admin/products/${fresh}`, { auth, body: { name: "New", price: 1, sizes: ["S"] } })).status).toBe(200);
		expect((await call("GET", `/products/${fresh}`)).status).toBe(200);
		expect((await call("GET", "/products")).body.products.map((p: { product_id: string }) => p.product_id)).toContain(fresh);
		expect((await call("PUT", `/admin/products/${product_id}`, { auth, body: { name: "Renamed", price: 15, sizes: ["M"], active: false } })).status).toBe(200);
		expect((await call("GET", `/products/${product_id}`)).status).toBe(404);
		expect((await call("GET", "/products")).body.products.map((p: { product_id: string }) => p.product_id)).not.toContain(product_id);
	});

	it("a change made behind the cache (another location's write) shows once the ttl has passed, not before", async () => {
		const { product_id } = await seedCatalog({ sizes: ["M"] });
		expect((await call("GET", `/products/${product_id}`)).body.name).toBe(`Product ${product_id}`);
		await env.DB.prepare(`UPDATE products SET name = 'Elsewhere', price_cents = 999 WHERE product_id = ?`).bind(product_id).run();
		now += CATALOG_TTL_MS - 1;
		const within = await d1During(() => call("GET", `/products/${product_id}`));
		expect(within.result.body).toMatchObject({ name: `Product ${product_id}`, price: 12.99 });
		expect(within.queries).toBe(0);
		now += 1;
		const after = await d1During(() => call("GET", `/products/${product_id}`));
		expect(after.result.body).toMatchObject({ name: "Elsewhere", price: 9.99 });
		expect(after.queries).toBe(2);
	});

	it("D1 down with a warm copy: pages are served from it for up to the stale-if-error bound, then 503", async () => {
		const { product_id } = await seedCatalog({ sizes: ["M"] });
		const d1 = withOwnD1();
		const warm = await d1.get(`/products/${product_id}`);
		expect(warm.status).toBe(200);
		d1.state.down = true;
		now += CATALOG_TTL_MS;
		expect(await d1.get(`/products/${product_id}`)).toEqual(warm);
		expect((await d1.get("/products")).status).toBe(200);
		now += STALE_IF_ERROR_MS;
		const gone = await d1.get(`/products/${product_id}`);
		expect(gone.status).toBe(503);
		expect(gone.body).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
		d1.state.down = false;
		expect((await d1.get(`/products/${product_id}`)).status).toBe(200);
	});

	it("D1 down with a cold cache: 503 SERVICE_UNAVAILABLE with the contract's body, not 500", async () => {
		const { product_id } = await seedCatalog({ sizes: ["M"] });
		const d1 = withOwnD1();
		await dropCatalog(d1.env); // nothing in this isolate's memo nor in the location's shared layer
		d1.state.down = true;
		for (const path of ["/products", `/products/${product_id}`]) {
			const r = await d1.get(path);
			expect(r.status, path).toBe(503);
			expect(r.body).toEqual({ error: expect.any(String), code: "SERVICE_UNAVAILABLE" });
		}
	});
});
