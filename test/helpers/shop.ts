/**
 * Builds small shops for checkout tests through the real admin and cart APIs,
 * and checks the invariants of ARCHITECTURE.md across warehouses and D1.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { token } from "./auth";
import { commitsSettled, committedIfPlaced } from "./commits";
import { admin, call, uid } from "./http";
import { allRows } from "./shards";
import { ledgerOf } from "./stock";

export interface ShopWarehouse {
	postal_code: string;
	region: string;
	country?: string;
	/** on_hand per "product_index/size", e.g. { "0/M": 5 } */
	stock: Record<string, number>;
}

export interface Shop {
	products: string[];
	warehouses: string[];
	price: number;
}

export async function makeShop(opts: { products?: number; sizes?: string[]; price?: number; warehouses: ShopWarehouse[] }): Promise<Shop> {
	const auth = await admin();
	const sizes = opts.sizes ?? ["S", "M", "L"];
	const price = opts.price ?? 10;
	const products: string[] = [];
	for (let i = 0; i < (opts.products ?? 1); i++) {
		const id = uid(`p${i}`);
		const r = await call("PUT", `/admin/products/${id}`, { auth, body: { name: `Product ${i}`, price, sizes } });
		expect(r.status).toBe(200);
		products.push(id);
	}
	const warehouses: string[] = [];
	for (const w of opts.warehouses) {
		const id = uid("wh");
		const r = await call("PUT", `/admin/warehouses/${id}`, { auth, body: { name: id, postal_code: w.postal_code, region: w.region, country: w.country ?? "US" } });
		expect(r.status).toBe(200);
		const items = Object.entries(w.stock).map(([k, on_hand]) => {
			const [pi, size] = k.split("/") as [string, string];
			return { product_id: products[Number(pi)]!, size, on_hand };
		});
		if (items.length > 0) {
			const s = await call("PUT", `/admin/warehouses/${id}/stock`, { auth, body: { items } });
			expect(s.status).toBe(200);
		}
		warehouses.push(id);
	}
	return { products, warehouses, price };
}

export const ADDRESS = { name: "Ada Buyer", line1: "1 Main St", city: "New York", region: "NY", postal_code: "10001", country: "US" };

/** Where warehouses stand: in the buyer's postal area (ADDRESS, tier_1) and across the country (tier_3). */
export const NY = { postal_code: "10001", region: "NY" };
export const CA = { postal_code: "94105", region: "CA" };

/** Two products stocked at a warehouse in the buyer's area and one across the country: stock by "product index/size". */
export async function nyAndCaShop(ny: Record<string, number>, ca: Record<string, number>) {
	const shop = await makeShop({ products: 2, warehouses: [{ ...NY, stock: ny }, { ...CA, stock: ca }] });
	const [p0, p1] = shop.products as [string, string];
	const [wNY, wCA] = shop.warehouses as [string, string];
	return { shop, p0, p1, wNY, wCA };
}

/** A new customer with a token, a cart holding `items` and an address. */
export async function customer(items: Array<{ product_id: string; size: string; quantity: number }>, address: Record<string, unknown> | null = ADDRESS) {
	const sub = uid("user");
	const auth = await token(sub);
	for (const item of items) {
		const r = await call("POST", "/cart/items", { auth, body: item });
		expect(r.status, JSON.stringify(r.body)).toBe(200);
	}
	if (address) expect((await call("PUT", "/cart/address", { auth, body: address })).status).toBe(200);
	return { sub, auth };
}

/** Places the cart; after a 201, returns once the order's holds are committed (test/helpers/commits.ts). */
export async function placeOrder(auth: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
	const r = await call("POST", "/cart/place-order", { auth, body, headers });
	await committedIfPlaced(r);
	return r;
}

/**
 * The invariants, across every given warehouse and D1:
 * - each warehouse's audit passes (ledger replay == stock, reserved == open holds, never oversold)
 * - nothing is held (`settled`: after every request, its gathered commit and the reconciler finished)
 * - per order and warehouse, the net units taken (commits - restocks) equal what a
 *   live order allocated there, and zero for a cancelled or absent order
 */
export async function expectInvariants(warehouseIds: string[], opts: { settled?: boolean } = {}) {
	// Settled includes the commits gathered after the answers.
	if (opts.settled) await commitsSettled();
	const orders = await allRows<{ order_id: string; status: string; products: string }>(`SELECT order_id, status, products FROM orders`);
	const mine = new Set(warehouseIds);
	const expected = new Map<string, number>(); // order|warehouse|product|size -> units
	for (const o of orders) {
		if (o.status === "cancelled") continue;
		type Allocated = { product_id: string; size: string; allocations: Array<{ warehouse_id: string; quantity: number }> };
		for (const line of JSON.parse(o.products) as Array<Allocated & { components?: Allocated[] }>) {
			// A kit line's physical units are its components'.
			for (const p of line.components ?? [line]) {
				for (const a of p.allocations) {
					// Other tests' warehouses share this file's D1: only the given warehouses are checked.
					if (!mine.has(a.warehouse_id)) continue;
					const k = [o.order_id, a.warehouse_id, p.product_id, p.size].join("|");
					expected.set(k, (expected.get(k) ?? 0) + a.quantity);
				}
			}
		}
	}
	const actual = new Map<string, number>();
	for (const w of warehouseIds) {
		const stub = env.WAREHOUSE.getByName(w);
		const audit = await stub.audit();
		expect(audit.problems, `audit of ${w}`).toEqual([]);
		for (const l of audit.levels) {
			expect(l.on_hand).toBeGreaterThanOrEqual(l.reserved);
			expect(l.reserved).toBeGreaterThanOrEqual(0);
			if (opts.settled) expect(l.reserved, `${w} ${l.product_id}/${l.size} still reserved`).toBe(0);
		}
		for (const e of await ledgerOf(w)) {
			if (!e.ref.startsWith("ord_")) continue;
			if (e.reason === "commit" || e.reason === "restock") {
				const k = [e.ref, w, e.product_id, e.size].join("|");
				actual.set(k, (actual.get(k) ?? 0) - e.on_hand_delta);
			}
		}
	}
	for (const [k, v] of actual) if (v === 0) actual.delete(k);
	if (opts.settled) expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
	else for (const [k, v] of actual) expect(v, k).toBeLessThanOrEqual(expected.get(k) ?? 0);
}

export async function onHand(warehouseId: string, productId: string, size: string): Promise<{ on_hand: number; reserved: number }> {
	const [l] = await env.WAREHOUSE.getByName(warehouseId).availability([{ product_id: productId, size }]);
	return { on_hand: l!.on_hand, reserved: l!.reserved };
}
