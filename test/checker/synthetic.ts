/**
 * Hand-written histories for the checker's own tests: a builder that keeps
 * each object's sequence numbers, derives the stock read from the ledger
 * (so a history is consistent unless a test breaks it), and one clean
 * history with every feature the checks look at.
 */
import type { Answer, History, LedgerRow, Line, ObjectRef, Op, OrderLine, OrderRecord, Product, StockRow, Unit } from "./history.js";
import { objectKey, unitKey } from "./history.js";

export const TEE: Unit = { product_id: "tee", size: "M" };
export const CAP: Unit = { product_id: "cap", size: "OS" };
export const HOODIE: Unit = { product_id: "hoodie", size: "L" };
export const PACK: Unit = { product_id: "pack", size: "ONE" };

export class Builder {
	readonly h: History = { ops: [], ledger: [], stock: [], orders: [], products: [], warehouses: [], settled: true, read_at: 100_000 };
	private readonly seqs = new Map<string, number>();

	warehouse(id: string, active = true): this {
		this.h.warehouses.push({ warehouse_id: id, active });
		return this;
	}

	product(p: Partial<Product> & { product_id: string }): this {
		this.h.products.push({ max_per_customer: null, components: null, ...p });
		return this;
	}

	/** One ledger row at `object` (a warehouse id, or a full ref for shards and pools). */
	row(object: string | ObjectRef, unit: Unit, at: number, reason: string, ref: string, on_hand_delta: number, reserved_delta = 0): this {
		const o = typeof object === "string" ? { warehouse_id: object } : object;
		const seq = (this.seqs.get(objectKey(o)) ?? 0) + 1;
		this.seqs.set(objectKey(o), seq);
		this.h.ledger.push({ object: o, seq, at, ...unit, on_hand_delta, reserved_delta, reason, ref });
		return this;
	}

	/** A checkout's hold, its commit, and the order with its 201 answer. */
	order(id: string, user: string, lines: Array<OrderLine>, window: { invoke: number; complete: number }, headers: Record<string, string> = {}): Op {
		const record: OrderRecord = { order_id: id, user_id: user, status: "pending", products: lines };
		this.h.orders.push(record);
		return this.op(user, "POST", "/cart/place-order", window, { status: 201, body: { order_id: id, user_id: user, status: "pending", products: structuredClone(lines) }, headers: {} }, { headers, asked: lines.map(({ product_id, size, quantity }) => ({ product_id, size, quantity })) });
	}

	op(user: string, method: string, path: string, window: { invoke: number; complete: number | null }, answer: Answer | null, extra: { body?: unknown; headers?: Record<string, string>; asked?: Line[] } = {}): Op {
		const op: Op = { id: this.h.ops.length + 1, user, method, path, body: extra.body, headers: extra.headers ?? {}, asked: extra.asked, invoke: window.invoke, complete: window.complete, answer };
		this.h.ops.push(op);
		return op;
	}

	/** The stock read as the ledger replays: one row per unit and warehouse, summed over its objects. */
	stockFromLedger(): this {
		const sums = new Map<string, StockRow>();
		for (const r of this.h.ledger) {
			const k = `${r.object.warehouse_id}|${unitKey(r)}`;
			const s = sums.get(k) ?? { object: { warehouse_id: r.object.warehouse_id }, product_id: r.product_id, size: r.size, on_hand: 0, reserved: 0, safety_stock: 0 };
			s.on_hand += r.on_hand_delta;
			s.reserved += r.reserved_delta;
			sums.set(k, s);
		}
		this.h.stock = [...sums.values()];
		return this;
	}

	build(): History {
		return this.h;
	}
}

export const refused = (details: Array<Unit & { requested: number; available: number }>): Answer => ({
	status: 409,
	body: { error: "Out of stock", code: "OUT_OF_STOCK", details },
	headers: {},
});

export const at = (warehouse_id: string, quantity: number) => ({ warehouse_id, quantity });

/**
 * A small storm that every check passes: two warehouses (a: 3 tees, b: 2 tees
 * and 2 caps), a kit (one tee and one cap) under a tee limit of 3, a sharded
 * hoodie at a (a pool and two shards, two grants and a give-back), an order
 * placed and replayed under an idempotency key, an order cancelled and
 * restocked, a refusal while only 3 tees were free for 4 asked, and an
 * adjustment answered 200.
 */
export function cleanHistory(): History {
	const b = new Builder().warehouse("a").warehouse("b");
	b.product({ product_id: "tee", max_per_customer: 3 }).product({ product_id: "cap" }).product({ product_id: "hoodie" });
	b.product({ product_id: "pack", components: [{ ...TEE, quantity: 1 }, { ...CAP, quantity: 1 }] });
	const pool = { warehouse_id: "a", shard: "pool" as const };
	const shard0 = { warehouse_id: "a", shard: 0 };
	const shard1 = { warehouse_id: "a", shard: 1 };

	// Set-up at t = 0..9.
	b.op("admin", "PUT", "/admin/warehouses/a/stock", { invoke: 0, complete: 2 }, { status: 200, body: {}, headers: {} }, { body: { items: [{ ...TEE, on_hand: 3 }] } });
	b.row("a", TEE, 1, "set", "setup", 3);
	b.op("admin", "PUT", "/admin/warehouses/b/stock", { invoke: 3, complete: 5 }, { status: 200, body: {}, headers: {} }, { body: { items: [{ ...TEE, on_hand: 2 }, { ...CAP, on_hand: 2 }] } });
	b.row("b", TEE, 4, "set", "setup", 2).row("b", CAP, 4, "set", "setup", 2);
	b.row(pool, HOODIE, 6, "set", "setup", 10);
	b.row(pool, HOODIE, 7, "grant_out", "g1", -4).row(shard0, HOODIE, 8, "grant_in", "g1", 4);
	b.row(pool, HOODIE, 7, "grant_out", "g2", -4).row(shard1, HOODIE, 9, "grant_in", "g2", 4);

	// u1 buys 2 tees at a, under an idempotency key, and replays it.
	const o1 = [{ ...TEE, quantity: 2, allocations: [at("a", 2)] }];
	b.order("o1", "u1", o1, { invoke: 100, complete: 130 }, { "idempotency-key": "k1" });
	b.row("a", TEE, 110, "reserve", "o1", 0, 2).row("a", TEE, 120, "commit", "o1", -2, -2);
	b.op("u1", "POST", "/cart/place-order", { invoke: 140, complete: 150 }, { status: 201, body: { order_id: "o1", user_id: "u1", status: "pending", products: structuredClone(o1) }, headers: { "idempotent-replayed": "true" } }, { headers: { "idempotency-key": "k1" } });

	// u2 asks 4 tees while 3 are free (1 at a, 2 at b): a true refusal.
	b.op("u2", "POST", "/cart/place-order", { invoke: 200, complete: 220 }, refused([{ ...TEE, requested: 4, available: 3 }]), { asked: [{ ...TEE, quantity: 4 }] });

	// u3 buys a pack (a tee and a cap, from b): 1 tee against the limit of 3.
	b.order("o3", "u3", [{ ...PACK, quantity: 1, allocations: [at("b", 1)], components: [{ ...TEE, quantity: 1, allocations: [at("b", 1)] }, { ...CAP, quantity: 1, allocations: [at("b", 1)] }] }], { invoke: 300, complete: 330 });
	b.row("b", TEE, 310, "reserve", "o3", 0, 1).row("b", CAP, 310, "reserve", "o3", 0, 1);
	b.row("b", TEE, 320, "commit", "o3", -1, -1).row("b", CAP, 320, "commit", "o3", -1, -1);

	// u4 buys 2 hoodies from shard 0, then cancels: committed once, restocked once.
	b.order("o4", "u4", [{ ...HOODIE, quantity: 2, allocations: [at("a", 2)] }], { invoke: 400, complete: 420 });
	b.row(shard0, HOODIE, 405, "reserve", "o4", 0, 2).row(shard0, HOODIE, 410, "commit", "o4", -2, -2);
	b.op("u4", "POST", "/orders/o4/cancel", { invoke: 450, complete: 470 }, { status: 200, body: { order_id: "o4", status: "cancelled" }, headers: {} });
	b.h.orders.find((o) => o.order_id === "o4")!.status = "cancelled";
	b.row(shard0, HOODIE, 460, "restock", "o4", 2);

	// Shard 1 gives 2 hoodies back to the pool; an admin receives 5 caps at b.
	b.row(shard1, HOODIE, 500, "give_back", "gb1", -2).row(pool, HOODIE, 505, "give_in", "gb1", 2);
	b.op("admin", "POST", "/admin/warehouses/b/stock/adjust", { invoke: 600, complete: 610 }, { status: 200, body: {}, headers: {} }, { body: { ...CAP, delta: 5, reason: "receive", reference: "adj-1" } });
	b.row("b", CAP, 605, "receive", "adj-1", 5);
	return b.stockFromLedger().build();
}

/** A copy to break. */
export function copy(h: History): History {
	return structuredClone(h);
}

/** Rows of a history by reason and ref. */
export function rowsOf(h: History, reason: string, ref: string): LedgerRow[] {
	return h.ledger.filter((r) => r.reason === reason && r.ref === ref);
}
