import { describe, expect, it } from "vitest";
import { token } from "../helpers/auth";
import { admin, call, seedCatalog, uid } from "../helpers/http";

async function stocked(onHand: Record<string, number>) {
	const auth = await admin();
	const seed = await seedCatalog();
	const wh = seed.warehouse_ids[0]!;
	const items = Object.entries(onHand).map(([size, on_hand]) => ({ product_id: seed.product_id, size, on_hand }));
	const r = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items, reason: "initial count" } });
	expect(r.status).toBe(200);
	return { auth, wh, product_id: seed.product_id };
}

describe("GET/PUT /admin/warehouses/:id/stock", () => {
	it("sets absolute levels and reads them back", async () => {
		const { auth, wh, product_id } = await stocked({ S: 5, M: 2 });
		const r = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(r.status).toBe(200);
		expect(r.body).toEqual({
			warehouse_id: wh,
			items: [
				{ product_id, size: "M", on_hand: 2, reserved: 0, safety_stock: 0, incoming: 0, available: 2, low_stock_threshold: null, shards: 1, pool: null },
				{ product_id, size: "S", on_hand: 5, reserved: 0, safety_stock: 0, incoming: 0, available: 5, low_stock_threshold: null, shards: 1, pool: null },
			],
			holds: { held: 0, next_expiry: null },
		});
	});

	it("404s for an unknown warehouse and an unknown product; 400 for an unknown size", async () => {
		const { auth, wh, product_id } = await stocked({ S: 1 });
		expect((await call("GET", `/admin/warehouses/${uid("wh")}/stock`, { auth })).status).toBe(404);
		const unknownProduct = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id: uid("p"), size: "S", on_hand: 1 }] } });
		expect(unknownProduct.status).toBe(404);
		const unknownSize = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id, size: "XXL", on_hand: 1 }] } });
		expect(unknownSize.status).toBe(400);
		expect(unknownSize.body.details[0].field).toBe("items.0.size");
	});

	it("409 INSUFFICIENT_STOCK when a level would fall below what is reserved, and nothing changes", async () => {
		const { auth, wh, product_id } = await stocked({ S: 5, M: 5 });
		const { env } = await import("cloudflare:workers");
		await env.WAREHOUSE.getByName(wh).reserve(uid("order"), [{ product_id, size: "S", quantity: 3 }], 60_000);
		const r = await call("PUT", `/admin/warehouses/${wh}/stock`, {
			auth,
			body: { items: [{ product_id, size: "M", on_hand: 9 }, { product_id, size: "S", on_hand: 2 }] },
		});
		expect(r.status).toBe(409);
		expect(r.body.code).toBe("INSUFFICIENT_STOCK");
		expect(r.body.details).toEqual([{ product_id, size: "S", on_hand: 2, reserved: 3 }]);
		const after = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(after.body.items.find((i: { size: string }) => i.size === "M").on_hand).toBe(5);
	});

	it("rejects negative levels and non-integers", async () => {
		const { auth, wh, product_id } = await stocked({ S: 1 });
		for (const on_hand of [-1, 1.5, "3"]) {
			const r = await call("PUT", `/admin/warehouses/${wh}/stock`, { auth, body: { items: [{ product_id, size: "S", on_hand }] } });
			expect(r.status).toBe(400);
		}
	});

	it("is 401 without a token and 403 for a customer", async () => {
		const { wh } = await stocked({ S: 1 });
		expect((await call("GET", `/admin/warehouses/${wh}/stock`)).status).toBe(401);
		expect((await call("GET", `/admin/warehouses/${wh}/stock`, { auth: await token("c") })).status).toBe(403);
	});
});

describe("POST /admin/warehouses/:id/stock/adjust", () => {
	it("adds received units and records the reason and note in the ledger", async () => {
		const { auth, wh, product_id } = await stocked({ S: 5 });
		const r = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id, size: "S", delta: 10, reason: "receive", note: "PO-77" } });
		expect(r.status).toBe(200);
		expect(r.body).toEqual({ product_id, size: "S", on_hand: 15, reserved: 0, available: 15 });
		const ledger = await call("GET", `/admin/warehouses/${wh}/ledger`, { auth });
		const last = ledger.body.entries.at(-1);
		expect(last).toMatchObject({ product_id, size: "S", on_hand_delta: 10, reserved_delta: 0, reason: "receive", note: "PO-77", actor: "admin-1" });
	});

	it("409 INSUFFICIENT_STOCK when removing more than is free", async () => {
		const { auth, wh, product_id } = await stocked({ S: 2 });
		const r = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id, size: "S", delta: -3, reason: "damage" } });
		expect(r.status).toBe(409);
		expect(r.body.code).toBe("INSUFFICIENT_STOCK");
	});

	it("a repeated reference adjusts once", async () => {
		const { auth, wh, product_id } = await stocked({ S: 2 });
		const body = { product_id, size: "S", delta: -1, reason: "shrinkage", reference: "count-2026-11-24" };
		await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body });
		const again = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body });
		expect(again.status).toBe(200);
		expect(again.body.on_hand).toBe(1);
	});

	it("rejects an unknown reason and a zero delta", async () => {
		const { auth, wh, product_id } = await stocked({ S: 2 });
		const r1 = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id, size: "S", delta: 1, reason: "gift" } });
		const r2 = await call("POST", `/admin/warehouses/${wh}/stock/adjust`, { auth, body: { product_id, size: "S", delta: 0, reason: "receive" } });
		expect([r1.status, r2.status]).toEqual([400, 400]);
	});
});

describe("GET /admin/warehouses/:id/ledger", () => {
	it("pages with after/limit and next_after", async () => {
		const { auth, wh, product_id } = await stocked({ S: 1, M: 1, L: 1 });
		const first = await call("GET", `/admin/warehouses/${wh}/ledger?limit=2`, { auth });
		expect(first.status).toBe(200);
		expect(first.body.entries).toHaveLength(2);
		expect(first.body.next_after).toBe(first.body.entries[1].seq);
		const second = await call("GET", `/admin/warehouses/${wh}/ledger?limit=2&after=${first.body.next_after}`, { auth });
		expect(second.body.entries).toHaveLength(1);
		expect(second.body.next_after).toBeNull();
		const all = [...first.body.entries, ...second.body.entries];
		expect(all.every((e: { reason: string; product_id: string }) => e.reason === "set" && e.product_id === product_id)).toBe(true);
		expect(new Date(all[0].at).toString()).not.toBe("Invalid Date");
	});

	it("rejects a bad limit", async () => {
		const { auth, wh } = await stocked({ S: 1 });
		expect((await call("GET", `/admin/warehouses/${wh}/ledger?limit=0`, { auth })).status).toBe(400);
		expect((await call("GET", `/admin/warehouses/${wh}/ledger?limit=abc`, { auth })).status).toBe(400);
		expect((await call("GET", `/admin/warehouses/${wh}/ledger?after=-1`, { auth })).status).toBe(400);
	});
});

describe("POST /api/stock/deduct and /api/stock/restore", () => {
	it("deducts and restores, answering the unit's levels", async () => {
		const { auth, wh, product_id } = await stocked({ M: 4 });
		const d = await call("POST", "/api/stock/deduct", { auth, body: { warehouse_id: wh, product_id, size: "M", quantity: 3 } });
		expect(d.status).toBe(200);
		expect(d.body).toEqual({ warehouse_id: wh, product_id, size: "M", on_hand: 1, reserved: 0, available: 1 });
		const r = await call("POST", "/api/stock/restore", { auth, body: { warehouse_id: wh, product_id, size: "M", quantity: 2 } });
		expect(r.body.on_hand).toBe(3);
	});

	it("409 INSUFFICIENT_STOCK with the shortage, and stock unchanged", async () => {
		const { auth, wh, product_id } = await stocked({ M: 1 });
		const d = await call("POST", "/api/stock/deduct", { auth, body: { warehouse_id: wh, product_id, size: "M", quantity: 2 } });
		expect(d.status).toBe(409);
		expect(d.body).toMatchObject({ code: "INSUFFICIENT_STOCK", details: [{ product_id, size: "M", requested: 2, available: 1 }] });
		const s = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(s.body.items[0].on_hand).toBe(1);
	});

	it("a repeated reference deducts once and restores once", async () => {
		const { auth, wh, product_id } = await stocked({ M: 5 });
		const body = { warehouse_id: wh, product_id, size: "M", quantity: 2, reference: "order-123" };
		expect((await call("POST", "/api/stock/deduct", { auth, body })).body.on_hand).toBe(3);
		const replay = await call("POST", "/api/stock/deduct", { auth, body });
		expect(replay.status).toBe(200);
		expect(replay.body.on_hand).toBe(3);
		expect((await call("POST", "/api/stock/restore", { auth, body })).body.on_hand).toBe(5);
		expect((await call("POST", "/api/stock/restore", { auth, body })).body.on_hand).toBe(5);
	});

	it("validates the body and the references (404 warehouse, 404 product, 400 size)", async () => {
		const { auth, wh, product_id } = await stocked({ M: 5 });
		const bad = [
			{ body: { warehouse_id: wh, product_id, size: "M", quantity: 0 }, status: 400 },
			{ body: { warehouse_id: wh, product_id, size: "M", quantity: 1.5 }, status: 400 },
			{ body: { warehouse_id: wh, product_id, size: "M", quantity: 1, reference: "has space" }, status: 400 },
			{ body: { warehouse_id: uid("wh"), product_id, size: "M", quantity: 1 }, status: 404 },
			{ body: { warehouse_id: wh, product_id: uid("p"), size: "M", quantity: 1 }, status: 404 },
			{ body: { warehouse_id: wh, product_id, size: "XXL", quantity: 1 }, status: 400 },
		];
		for (const { body, status } of bad) {
			const r = await call("POST", "/api/stock/deduct", { auth, body });
			expect(r.status, JSON.stringify(body)).toBe(status);
			expect(typeof r.body.error).toBe("string");
		}
		const s = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(s.body.items[0].on_hand).toBe(5);
	});

	it("is admin-only", async () => {
		const body = { warehouse_id: "w", product_id: "p", size: "M", quantity: 1 };
		expect((await call("POST", "/api/stock/deduct", { body })).status).toBe(401);
		expect((await call("POST", "/api/stock/restore", { body, auth: await token("mallory") })).status).toBe(403);
	});

	it("200 concurrent deducts of 1 against 50 over HTTP: exactly 50 succeed", async () => {
		const { auth, wh, product_id } = await stocked({ M: 50 });
		const results = await Promise.all(
			Array.from({ length: 200 }, () => call("POST", "/api/stock/deduct", { auth, body: { warehouse_id: wh, product_id, size: "M", quantity: 1 } })),
		);
		const statuses = results.map((r) => r.status);
		expect(statuses.filter((s) => s === 200)).toHaveLength(50);
		expect(statuses.filter((s) => s === 409)).toHaveLength(150);
		expect(results.filter((r) => r.status === 409).every((r) => r.body.code === "INSUFFICIENT_STOCK")).toBe(true);
		const s = await call("GET", `/admin/warehouses/${wh}/stock`, { auth });
		expect(s.body.items[0]).toMatchObject({ on_hand: 0, reserved: 0 });
	});
});
