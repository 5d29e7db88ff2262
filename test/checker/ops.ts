/** What a recorded request was, from its method and path; and an order's physical units. */
import type { Op, OrderRecord, Product } from "./history.js";

export type OpKind = "place-order" | "set-stock" | "adjust" | "deduct" | "restore" | "cancel" | "other";

export function kindOf(op: Op): OpKind {
	const path = op.path.split("?")[0]!;
	if (op.method === "POST" && path === "/cart/place-order") return "place-order";
	if (op.method === "PUT" && /^\/admin\/warehouses\/[^/]+\/stock$/.test(path)) return "set-stock";
	if (op.method === "POST" && /^\/admin\/warehouses\/[^/]+\/stock\/adjust$/.test(path)) return "adjust";
	if (op.method === "POST" && path === "/api/stock/deduct") return "deduct";
	if (op.method === "POST" && path === "/api/stock/restore") return "restore";
	if (op.method === "POST" && /^\/orders\/[^/]+\/cancel$/.test(path)) return "cancel";
	return "other";
}

/** The warehouse an admin stock request names: in its path, or (deduct, restore) in its body. */
export function warehouseOf(op: Op): string | undefined {
	const m = /^\/admin\/warehouses\/([^/?]+)/.exec(op.path);
	if (m) return decodeURIComponent(m[1]!);
	return (op.body as { warehouse_id?: string } | undefined)?.warehouse_id;
}

export const answered = (op: Op, status: number): boolean => op.answer?.status === status;

/** Whether the answer is a replay of an earlier one (`Idempotent-Replayed: true`). */
export const replayed = (op: Op): boolean => op.answer?.headers["idempotent-replayed"] === "true";

/** One product's units at one warehouse. */
export interface Taken {
	warehouse_id: string;
	product_id: string;
	size: string;
	quantity: number;
}

/**
 * The physical units an order allocates, per warehouse: plain lines as they
 * are, kit lines as their components (the order's own breakdown, or the
 * catalog's components times the kits allocated at each warehouse).
 */
export function takenBy(order: OrderRecord, catalog: Map<string, Product>): Taken[] {
	const out: Taken[] = [];
	for (const line of order.products) {
		const kit = catalog.get(line.product_id)?.components ?? null;
		if (line.components && line.components.length > 0) {
			for (const c of line.components) for (const a of c.allocations) out.push({ warehouse_id: a.warehouse_id, product_id: c.product_id, size: c.size, quantity: a.quantity });
		} else if (kit) {
			for (const a of line.allocations) for (const c of kit) out.push({ warehouse_id: a.warehouse_id, product_id: c.product_id, size: c.size, quantity: a.quantity * c.quantity });
		} else {
			for (const a of line.allocations) out.push({ warehouse_id: a.warehouse_id, product_id: line.product_id, size: line.size, quantity: a.quantity });
		}
	}
	return out;
}

export const isLive = (o: OrderRecord): boolean => o.status !== "cancelled";
