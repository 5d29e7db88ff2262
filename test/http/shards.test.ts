/**
 * A sharded unit through the API: the stock PUT sets `shards`, GET shows one
 * row summed over the pool and every shard, the ledger names each entry's
 * shard; checkout sells every unit and refuses only when none is left; a
 * cancelled order's units are sold again; folding back to one shard loses
 * nothing; a kit with a sharded component sells, cancels and sells again;
 * stock.low is judged on the unit's total.
 */
import { describe, expect, it, vi } from "vitest";
import type { StockLow } from "../../src/events/types";
import { AVAILABILITY_TTL_MS } from "../../src/stock/cache";
import { availabilityClock, warehouseRpcs } from "../../src/stock/client";
import { ROUTING_TTL_MS } from "../../src/stock/sharded";
import { admin, call, uid } from "../helpers/http";
import { recordEvents } from "../helpers/orders";
import { ADDRESS, customer, makeShop, placeOrder } from "../helpers/shop";
import { eventually } from "../helpers/time";

const events = recordEvents();

interface Row {
	product_id: string;
	size: string;
	on_hand: number;
	reserved: number;
	available: number;
	shards: number;
	pool: number | null;
}

async function rowOf(auth: string, warehouseId: string, productId: string): Promise<Row> {
	return rowOfUnit(auth, warehouseId, productId, "M");
}

async function rowOfUnit(auth: string, warehouseId: string, productId: string, size: string): Promise<Row> {
	const r = await call("GET", `/admin/warehouses/${warehouseId}/stock`, { auth });
	expect(r.status).toBe(200);
	return (r.body as { items: Row[] }).items.find((i) => i.product_id === productId && i.size === size)!;
}

/** Reads the row until it satisfies `ok` (bounded), failing with the last row seen. */
async function until(auth: string, warehouseId: string, productId: string, ok: (r: Row) => boolean): Promise<Row> {
	return eventually(async () => {
		const row = await rowOf(auth, warehouseId, productId);
		expect(ok(row), JSON.stringify(row)).toBe(true);
		return row;
	});
}

async function buy(productId: string, quantity = 1) {
	const c = await customer([{ product_id: productId, size: "M", quantity }]);
	return { ...c, res: await placeOrder(c.auth) };
}

describe("a sharded unit through the API", () => {
	it("PUT sets shards, GET shows the unit once with its levels summed, checkout sells every unit and refuses only the one too many", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const [p] = shop.products as [string];
		const put = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 6, shards: 3 }] } });
		expect(put.status, JSON.stringify(put.body)).toBe(200);
		expect(await rowOf(auth, wh, p)).toMatchObject({ on_hand: 6, reserved: 0, available: 6, shards: 3, pool: 6 });

		const orders = await Promise.all(Array.from({ length: 6 }, () => buy(p)));
		expect(orders.map((o) => o.res.status)).toEqual([201, 201, 201, 201, 201, 201]);
		const extra = await buy(p);
		expect(extra.res.status).toBe(409);
		expect(extra.res.body).toMatchObject({ code: "OUT_OF_STOCK" });
		const sold = await until(auth, wh, p, (r) => r.on_hand === 0);
		expect(sold).toMatchObject({ on_hand: 0, reserved: 0, available: 0, shards: 3 });

		// The ledger shows every object's entries, each naming its shard.
		const ledger = await call("GET", `/admin/warehouses/${wh}/ledger?limit=500`, { auth });
		expect(ledger.status).toBe(200);
		const entries = (ledger.body as { entries: Array<{ seq: number; reason: string; shard: number | null; on_hand_delta: number }> }).entries;
		expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
		expect(entries.some((e) => e.reason === "grant_out" && e.shard === null)).toBe(true);
		expect(entries.some((e) => e.reason === "grant_in" && e.shard !== null)).toBe(true);
		expect(entries.filter((e) => e.reason === "commit").every((e) => e.shard !== null)).toBe(true);
		expect(entries.reduce((a, e) => a + e.on_hand_delta, 0)).toBe(0);
		// Paged with next_after, the merged ledger is the same.
		const paged: unknown[] = [];
		for (let after: number | null = 0; after !== null; ) {
			const page = await call("GET", `/admin/warehouses/${wh}/ledger?limit=7&after=${after}`, { auth });
			const body = page.body as { entries: unknown[]; next_after: number | null };
			paged.push(...body.entries);
			after = body.next_after;
		}
		expect(paged).toEqual(entries);

		// A cancelled order's unit comes back and is sold to the next buyer.
		const first = orders[0]!;
		const orderId = (first.res.body as { order_id: string }).order_id;
		const cancelled = await call("POST", `/orders/${orderId}/cancel`, { auth: first.auth, body: {} });
		expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
		expect((await rowOf(auth, wh, p)).on_hand).toBe(1);
		const again = await buy(p);
		expect(again.res.status, JSON.stringify(again.res.body)).toBe(201);
	});

	it("folding back to one shard keeps open holds and every unit; the warehouse then sells the unit itself", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const [p] = shop.products as [string];
		expect((await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 5, shards: 4 }] } })).status).toBe(200);
		expect((await buy(p, 2)).res.status).toBe(201);
		expect(await until(auth, wh, p, (r) => r.reserved === 0)).toMatchObject({ on_hand: 3, reserved: 0 });
		const fold = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 3, shards: 1 }] } });
		expect(fold.status, JSON.stringify(fold.body)).toBe(200);
		const row = await until(auth, wh, p, (r) => r.reserved === 0);
		expect(row).toMatchObject({ shards: 1, on_hand: 3, available: 3 });
		expect((await buy(p, 3)).res.status).toBe(201);
		expect((await buy(p, 1)).res.status).toBe(409);
	});

	it("refuses shards outside 1..64", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		for (const shards of [0, 65, 1.5]) {
			const r = await call("PUT", `/admin/warehouses/${shop.warehouses[0]}/stock`, { auth, body: { items: [{ product_id: shop.products[0], size: "M", on_hand: 1, shards }] } });
			expect(r.status).toBe(400);
			expect(r.body).toMatchObject({ code: "VALIDATION_ERROR" });
		}
	});

	it("concurrent buyers through checkout never oversell and are refused only once every unit is taken", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const [p] = shop.products as [string];
		expect((await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 8, shards: 4 }] } })).status).toBe(200);
		const buyers = await Promise.all(Array.from({ length: 16 }, () => customer([{ product_id: p, size: "M", quantity: 1 }])));
		const answers = await Promise.all(buyers.map((b) => placeOrder(b.auth)));
		const statuses = answers.map((a) => a.status).sort();
		expect(statuses.filter((x) => x === 201)).toHaveLength(8);
		expect(statuses.filter((x) => x === 409)).toHaveLength(8);
		for (const a of answers.filter((x) => x.status === 409)) expect(a.body).toMatchObject({ code: "OUT_OF_STOCK" });
		const row = await until(auth, wh, p, (r) => r.on_hand === 0 && r.reserved === 0);
		expect(row).toMatchObject({ on_hand: 0, reserved: 0, available: 0 });
		const ledger = await call("GET", `/admin/warehouses/${wh}/ledger?limit=500`, { auth });
		const entries = (ledger.body as { entries: Array<{ reason: string; on_hand_delta: number }> }).entries;
		expect(-entries.filter((e) => e.reason === "commit").reduce((a, e) => a + e.on_hand_delta, 0)).toBe(8);
	});

	it("an order that can ship from two warehouses takes a sharded unit's last unit at one and the rest at the other", async () => {
		const auth = await admin();
		const shop = await makeShop({
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: {} },
				{ postal_code: "94105", region: "CA", stock: { "0/M": 1 } },
			],
		});
		const [east, west] = shop.warehouses as [string, string];
		const [p] = shop.products as [string];
		expect((await call("PUT", `/admin/warehouses/${east}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 2, shards: 2 }] } })).status).toBe(200);
		expect((await buy(p, 1)).res.status).toBe(201);
		const both = await buy(p, 2);
		expect(both.res.status, JSON.stringify(both.res.body)).toBe(201);
		expect((await until(auth, east, p, (r) => r.on_hand === 0)).on_hand).toBe(0);
		expect((await until(auth, west, p, (r) => r.on_hand === 0)).on_hand).toBe(0);
		expect((await buy(p, 1)).res.status).toBe(409);
	});

	it("a kit whose component is sharded: reserved, committed and cancelled like any kit, its units sold again", async () => {
		const auth = await admin();
		const tee = uid("tee");
		const cap = uid("cap");
		const kit = uid("kit");
		expect((await call("PUT", `/admin/products/${tee}`, { auth, body: { name: "Tee", price: 10, sizes: ["M"] } })).status).toBe(200);
		expect((await call("PUT", `/admin/products/${cap}`, { auth, body: { name: "Cap", price: 5, sizes: ["OS"] } })).status).toBe(200);
		const k = await call("PUT", `/admin/products/${kit}`, { auth, body: { name: "Kit", price: 22, sizes: ["ONE"], components: [{ product_id: tee, size: "M", quantity: 2 }, { product_id: cap, size: "OS", quantity: 1 }] } });
		expect(k.status, JSON.stringify(k.body)).toBe(200);
		const wh = uid("wh");
		expect((await call("PUT", `/admin/warehouses/${wh}`, { auth, body: { name: wh, postal_code: "10001", region: "NY", country: "US" } })).status).toBe(200);
		const put = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: tee, size: "M", on_hand: 6, shards: 4 }, { product_id: cap, size: "OS", on_hand: 4 }] } });
		expect(put.status, JSON.stringify(put.body)).toBe(200);
		const teeRow = () => rowOfUnit(auth, wh, tee, "M");

		const kits = await Promise.all(Array.from({ length: 4 }, () => customer([{ product_id: kit, size: "ONE", quantity: 1 }])));
		const answers = await Promise.all(kits.map((c) => placeOrder(c.auth)));
		expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409]);
		expect(answers.find((a) => a.status === 409)!.body).toMatchObject({ code: "OUT_OF_STOCK" });
		await eventually(async () => expect(await teeRow()).toMatchObject({ on_hand: 0, reserved: 0, shards: 4 }));
		await eventually(async () => expect(await rowOfUnit(auth, wh, cap, "OS")).toMatchObject({ on_hand: 1, reserved: 0 }));

		// A cancelled kit gives its tees back (at the shard that sold them, then to the pool) and its cap.
		const placed = answers.findIndex((a) => a.status === 201);
		const orderId = (answers[placed]!.body as { order_id: string }).order_id;
		const cancelled = await call("POST", `/orders/${orderId}/cancel`, { auth: kits[placed]!.auth, body: {} });
		expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
		await eventually(async () => expect(await teeRow()).toMatchObject({ on_hand: 2, reserved: 0, available: 2 }));
		// Sold again, as a kit, wherever the next order hashes.
		const again = await customer([{ product_id: kit, size: "ONE", quantity: 1 }]);
		expect((await placeOrder(again.auth)).status).toBe(201);
		await eventually(async () => expect(await teeRow()).toMatchObject({ on_hand: 0, reserved: 0 }));
		const one = await customer([{ product_id: tee, size: "M", quantity: 1 }]);
		expect((await placeOrder(one.auth)).status).toBe(409);
	});

	it("stock.low for a sharded unit is judged on its total (pool and shards), once when it falls below the threshold", async () => {
		const auth = await admin();
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const [p] = shop.products as [string];
		const put = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 10, shards: 2, low_stock_threshold: 8 }] } });
		expect(put.status, JSON.stringify(put.body)).toBe(200);
		const lows = () => events.all().filter((e): e is StockLow => e.type === "stock.low" && e.warehouse_id === wh && e.product_id === p);
		// Three units sold at the shards: the pool's own row is not what falls.
		for (let i = 0; i < 3; i++) expect((await buy(p)).res.status).toBe(201);
		await until(auth, wh, p, (r) => r.on_hand === 7 && r.reserved === 0);
		// An adjustment gathers the shards' units (their reports say what they sold): the total crossed 8 at 7.
		const adj = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id: p, size: "M", delta: -1, reason: "damage", reference: uid("adj") } });
		expect(adj.status, JSON.stringify(adj.body)).toBe(200);
		await vi.waitFor(() => expect(lows()).toHaveLength(1), { timeout: 10_000, interval: 20 });
		expect(lows()[0]).toMatchObject({ on_hand: 7, threshold: 8, size: "M" });
		// Further falls below it send no more.
		expect((await buy(p)).res.status).toBe(201);
		await until(auth, wh, p, (r) => r.on_hand === 5 && r.reserved === 0);
		const again = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id: p, size: "M", delta: -1, reason: "damage", reference: uid("adj") } });
		expect(again.status).toBe(200);
		expect(lows()).toHaveLength(1);
	});
});

describe("shard routing", () => {
	/** Snapshot RPCs sent while one order is placed and committed (the Worker runs in this isolate). */
	async function snapshotsToBuy(productId: string): Promise<number> {
		const before = warehouseRpcs().byMethod.snapshot ?? 0;
		const c = await customer([{ product_id: productId, size: "M", quantity: 1 }], { ...ADDRESS, city: "Portland", region: "OR", postal_code: "97201" });
		expect((await placeOrder(c.auth)).status).toBe(201);
		return (warehouseRpcs().byMethod.snapshot ?? 0) - before;
	}

	it("checkout reads a warehouse's shard counts once per ROUTING_TTL_MS, not once per availability ttl", async () => {
		// The only warehouse in its area: checkout reserves there directly and plans from no snapshot.
		const shop = await makeShop({ warehouses: [{ postal_code: "97201", region: "OR", stock: { "0/M": 10 } }] });
		const [p] = shop.products as [string];
		const start = Date.now();
		availabilityClock.now = () => start;
		try {
			expect(await snapshotsToBuy(p)).toBe(1);
			availabilityClock.now = () => start + AVAILABILITY_TTL_MS;
			expect(await snapshotsToBuy(p)).toBe(0);
			availabilityClock.now = () => start + ROUTING_TTL_MS;
			expect(await snapshotsToBuy(p)).toBe(1);
		} finally {
			availabilityClock.now = () => Date.now();
		}
	});
});
