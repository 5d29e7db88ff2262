/**
 * Transfers between warehouses through the admin API: in transit at once,
 * received or cancelled exactly once, exclusive under races, safe against
 * checkouts at the source; safety stock through PUT .../stock.
 */
import { describe, expect, it } from "vitest";
import { admin, call } from "../helpers/http";
import { customer, makeShop, placeOrder } from "../helpers/shop";

async function stockOf(warehouseId: string, productId: string, size = "M") {
	const r = await call("GET", `/admin/warehouses/${warehouseId}/stock`, { auth: await admin() });
	expect(r.status).toBe(200);
	return r.body.items.find((i: { product_id: string; size: string }) => i.product_id === productId && i.size === size) ?? null;
}

async function twoWarehouses(onHand = 10) {
	return makeShop({
		warehouses: [
			{ postal_code: "10001", region: "NY", stock: { "0/M": onHand } },
			{ postal_code: "94103", region: "CA", stock: {} },
		],
	});
}

function create(body: Record<string, unknown>) {
	return admin().then((auth) => call("POST", "/admin/transfers", { auth, body }));
}

describe("POST /admin/transfers", () => {
	it("moves units out of the source at once and shows them as incoming at the destination", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const r = await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }], note: "rebalance east to west" });
		expect(r.status, JSON.stringify(r.body)).toBe(201);
		expect(r.body).toMatchObject({ from_warehouse_id: src, to_warehouse_id: dst, status: "in_transit", note: "rebalance east to west", items: [{ product_id: p, size: "M", quantity: 4 }] });
		expect(r.body.transfer_id).toMatch(/^trf_/);
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 6, available: 6, incoming: 0 });
		expect(await stockOf(dst, p)).toMatchObject({ on_hand: 0, available: 0, incoming: 4 });

		const got = await call("GET", `/admin/transfers/${r.body.transfer_id}`, { auth: await admin() });
		expect(got.status).toBe(200);
		expect(got.body).toEqual(r.body);
	});

	it("409 INSUFFICIENT_STOCK moves nothing and leaves no transfer", async () => {
		const shop = await twoWarehouses(3);
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const r = await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }], reference: "po-short" });
		expect(r.status).toBe(409);
		expect(r.body).toMatchObject({ code: "INSUFFICIENT_STOCK", details: [{ product_id: p, size: "M", requested: 4, available: 3 }] });
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 3 });
		expect(await stockOf(dst, p)).toBeNull();
		const list = await call("GET", "/admin/transfers?limit=100", { auth: await admin() });
		expect(list.body.transfers.filter((t: { from_warehouse_id: string }) => t.from_warehouse_id === src)).toEqual([]);
	});

	it("a repeated reference answers 200 with the first transfer and moves nothing again", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const body = { from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 2 }], reference: `ref-${src}` };
		const first = await create(body);
		const again = await create(body);
		expect(first.status).toBe(201);
		expect(again.status).toBe(200);
		expect(again.body).toEqual(first.body);
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 8 });
	});

	it("a repeated reference with a different body is 422 IDEMPOTENCY_KEY_REUSED and moves nothing", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const body = { from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 2 }], reference: `ref-diff-${src}` };
		expect((await create(body)).status).toBe(201);
		for (const changed of [
			{ ...body, items: [{ product_id: p, size: "M", quantity: 3 }] },
			{ ...body, from_warehouse_id: dst, to_warehouse_id: src },
			{ ...body, note: "another note" },
		]) {
			const r = await create(changed);
			expect(r.status, JSON.stringify(changed)).toBe(422);
			expect(r.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
		}
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 8 });
		expect(await stockOf(dst, p)).toMatchObject({ incoming: 2 });
		// The same body, its lines split differently, is the same request.
		const same = await create({ ...body, items: [{ product_id: p, size: "M", quantity: 1 }, { product_id: p, size: "M", quantity: 1 }] });
		expect(same.status).toBe(200);
	});

	it("a transfer from or to an inactive warehouse is 409 CONFLICT naming it, and moves nothing", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const auth = await admin();
		const deactivate = async (id: string, active: boolean) => {
			const w = (await call("GET", "/admin/warehouses", { auth })).body.warehouses.find((x: { warehouse_id: string }) => x.warehouse_id === id);
			const { warehouse_id: _, ...rest } = w;
			expect((await call("PUT", `/admin/warehouses/${id}`, { auth, body: { ...rest, active } })).status).toBe(200);
		};
		await deactivate(dst, false);
		const to = await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 2 }] });
		expect(to.status).toBe(409);
		expect(to.body).toMatchObject({ code: "CONFLICT", details: [{ warehouse_id: dst }] });
		await deactivate(dst, true);
		await deactivate(src, false);
		const from = await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 2 }] });
		expect(from.status).toBe(409);
		expect(from.body).toMatchObject({ code: "CONFLICT", details: [{ warehouse_id: src }] });
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 10, incoming: 0 });
		expect(await stockOf(dst, p)).toBeNull();
	});

	it("rejects bad requests with the contract's errors and moves nothing", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const item = { product_id: p, size: "M", quantity: 1 };
		const cases: Array<[Record<string, unknown>, number, string]> = [
			[{ from_warehouse_id: src, to_warehouse_id: src, items: [item] }, 400, "VALIDATION_ERROR"],
			[{ from_warehouse_id: src, to_warehouse_id: dst, items: [] }, 400, "VALIDATION_ERROR"],
			[{ from_warehouse_id: src, to_warehouse_id: dst, items: [{ ...item, quantity: 0 }] }, 400, "VALIDATION_ERROR"],
			[{ from_warehouse_id: src, to_warehouse_id: dst, items: [{ ...item, size: "XXL" }] }, 400, "VALIDATION_ERROR"],
			[{ from_warehouse_id: src, to_warehouse_id: "wh-nowhere", items: [item] }, 404, "NOT_FOUND"],
			[{ from_warehouse_id: src, to_warehouse_id: dst, items: [{ ...item, product_id: "no-such-product" }] }, 404, "NOT_FOUND"],
		];
		for (const [body, status, code] of cases) {
			const r = await create(body);
			expect(r.status, JSON.stringify(body)).toBe(status);
			expect(r.body.code).toBe(code);
		}
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 10 });
	});
});

describe("receive and cancel", () => {
	it("receive adds the units at the destination once; cancel after receive is 409 INVALID_TRANSITION", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const auth = await admin();
		const t = (await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }] })).body;
		const r = await call("POST", `/admin/transfers/${t.transfer_id}/receive`, { auth });
		expect(r.status).toBe(200);
		expect(r.body.status).toBe("received");
		expect((await call("POST", `/admin/transfers/${t.transfer_id}/receive`, { auth })).status).toBe(200);
		expect(await stockOf(dst, p)).toMatchObject({ on_hand: 4, available: 4, incoming: 0 });
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 6 });
		const c = await call("POST", `/admin/transfers/${t.transfer_id}/cancel`, { auth });
		expect(c.status).toBe(409);
		expect(c.body.code).toBe("INVALID_TRANSITION");
		// The ledgers name the transfer.
		const out = (await call("GET", `/admin/warehouses/${src}/ledger`, { auth })).body.entries.filter((e: { ref: string }) => e.ref === t.transfer_id);
		const inn = (await call("GET", `/admin/warehouses/${dst}/ledger`, { auth })).body.entries.filter((e: { ref: string }) => e.ref === t.transfer_id);
		expect(out.map((e: { reason: string; on_hand_delta: number }) => [e.reason, e.on_hand_delta])).toEqual([["transfer_out", -4]]);
		expect(inn.map((e: { reason: string; on_hand_delta: number }) => [e.reason, e.on_hand_delta])).toEqual([["transfer_in", 4]]);
	});

	it("cancel puts the units back at the source once; receive after cancel is 409", async () => {
		const shop = await twoWarehouses();
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const auth = await admin();
		const t = (await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }] })).body;
		const c = await call("POST", `/admin/transfers/${t.transfer_id}/cancel`, { auth });
		expect(c.status).toBe(200);
		expect(c.body.status).toBe("cancelled");
		expect((await call("POST", `/admin/transfers/${t.transfer_id}/cancel`, { auth })).status).toBe(200);
		expect(await stockOf(src, p)).toMatchObject({ on_hand: 10 });
		expect(await stockOf(dst, p)).toBeNull(); // nothing stocked there and nothing on its way
		const r = await call("POST", `/admin/transfers/${t.transfer_id}/receive`, { auth });
		expect(r.status).toBe(409);
		expect(r.body.code).toBe("INVALID_TRANSITION");
		expect((await call("POST", `/admin/transfers/trf_nope/receive`, { auth })).status).toBe(404);
	});

	it("receive racing cancel: exactly one wins, and every unit is in exactly one place", async () => {
		const auth = await admin();
		for (let round = 0; round < 5; round++) {
			const shop = await twoWarehouses();
			const [src, dst] = shop.warehouses as [string, string];
			const p = shop.products[0]!;
			const t = (await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }] })).body;
			const calls = [
				call("POST", `/admin/transfers/${t.transfer_id}/receive`, { auth }),
				call("POST", `/admin/transfers/${t.transfer_id}/cancel`, { auth }),
				call("POST", `/admin/transfers/${t.transfer_id}/receive`, { auth }),
				call("POST", `/admin/transfers/${t.transfer_id}/cancel`, { auth }),
			];
			const answers = await Promise.all(calls);
			const final = (await call("GET", `/admin/transfers/${t.transfer_id}`, { auth })).body.status;
			for (const a of answers) {
				expect([200, 409]).toContain(a.status);
				if (a.status === 200) expect(a.body.status).toBe(final);
				else expect(a.body.code).toBe("INVALID_TRANSITION");
			}
			const s = await stockOf(src, p);
			const d = (await stockOf(dst, p)) ?? { on_hand: 0, incoming: 0 };
			expect(d.incoming, `round ${round}`).toBe(0);
			expect([s.on_hand, d.on_hand], `round ${round}: ${final}`).toEqual(final === "received" ? [6, 4] : [10, 0]);
		}
	});

	it("a transfer racing checkouts at the source never takes reserved or sold units", async () => {
		const shop = await makeShop({
			warehouses: [
				{ postal_code: "10001", region: "NY", stock: { "0/M": 10 } },
				{ postal_code: "94103", region: "CA", stock: {} },
			],
		});
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const buyers = await Promise.all(Array.from({ length: 8 }, () => customer([{ product_id: p, size: "M", quantity: 1 }])));
		const [transfer, ...orders] = await Promise.all([
			create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 5 }] }),
			...buyers.map((b) => placeOrder(b.auth)),
		]);
		const sold = orders.filter((o) => o.status === 201).length;
		const moved = transfer!.status === 201 ? 5 : 0;
		expect([201, 409]).toContain(transfer!.status);
		for (const o of orders) expect([201, 409]).toContain(o.status);
		const s = await stockOf(src, p);
		expect(s.reserved).toBeGreaterThanOrEqual(0);
		expect(s.on_hand).toBeGreaterThanOrEqual(s.reserved);
		// Conservation: what is left at the source + in transit + what orders took = the 10 loaded
		// (committed units leave on_hand; units still reserved are yet to be committed).
		expect(s.on_hand - s.reserved + moved + sold).toBe(10);
		expect((await stockOf(dst, p)).incoming).toBe(moved);
	});
});

describe("GET /admin/transfers", () => {
	it("lists newest first, filters by status, pages with a cursor", async () => {
		const shop = await twoWarehouses(50);
		const [src, dst] = shop.warehouses as [string, string];
		const p = shop.products[0]!;
		const auth = await admin();
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) ids.push((await create({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 1 }] })).body.transfer_id);
		await call("POST", `/admin/transfers/${ids[0]}/receive`, { auth });
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const r: { status: number; body: { transfers: Array<{ transfer_id: string; from_warehouse_id: string }>; next_cursor: string | null } } = await call(
				"GET",
				`/admin/transfers?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
				{ auth },
			);
			expect(r.status).toBe(200);
			seen.push(...r.body.transfers.filter((t) => t.from_warehouse_id === src).map((t) => t.transfer_id));
			cursor = r.body.next_cursor;
		} while (cursor);
		expect(seen).toEqual([...ids].reverse());
		const received = await call("GET", "/admin/transfers?status=received&limit=100", { auth });
		expect(received.body.transfers.map((t: { transfer_id: string }) => t.transfer_id)).toContain(ids[0]);
		expect(received.body.transfers.every((t: { status: string }) => t.status === "received")).toBe(true);
		expect((await call("GET", "/admin/transfers?cursor=not-a-cursor", { auth })).status).toBe(400);
		expect((await call("GET", "/admin/transfers?status=lost", { auth })).status).toBe(400);
	});
});

describe("safety stock through PUT .../stock", () => {
	it("is shown in the stock view and keeps checkout from taking it", async () => {
		const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: {} }] });
		const [wh] = shop.warehouses as [string];
		const p = shop.products[0]!;
		const auth = await admin();
		const put = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 5, safety_stock: 4 }] } });
		expect(put.status).toBe(200);
		expect(put.body.items[0]).toMatchObject({ on_hand: 5, reserved: 0, safety_stock: 4, incoming: 0, available: 1 });
		expect((await call("GET", `/products/${p}`)).body.availability.M).toBe(1);
		const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
		const r = await placeOrder(buyer.auth);
		expect(r.status).toBe(409);
		expect(r.body.details).toEqual([{ product_id: p, size: "M", requested: 2, available: 1 }]);
		const bad = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: p, size: "M", on_hand: 5, safety_stock: -1 }] } });
		expect(bad.status).toBe(400);
	});
});
