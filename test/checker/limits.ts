/**
 * Purchase limits: per customer, the units of a product with a
 * `max_per_customer` in their live orders never pass it, counting each plain
 * line of it and each kit line by its components (the catalog's components
 * per kit times the kits ordered), and a kit's own lines against the kit's
 * own limit.
 */
import { add, type History, type Product } from "./history.js";
import { isLive } from "./ops.js";
import type { Violation } from "./violation.js";

export function checkLimits(h: History): Violation[] {
	const out: Violation[] = [];
	const catalog = new Map<string, Product>(h.products.map((p) => [p.product_id, p]));
	const counted = new Map<string, number>(); // user|product -> units
	const from = new Map<string, string[]>(); // user|product -> orders that count
	for (const o of h.orders) {
		if (!isLive(o)) continue;
		for (const line of o.products) {
			const parts = [{ product_id: line.product_id, quantity: line.quantity }, ...(catalog.get(line.product_id)?.components ?? []).map((c) => ({ product_id: c.product_id, quantity: c.quantity * line.quantity }))];
			for (const p of parts) {
				const k = `${o.user_id}|${p.product_id}`;
				add(counted, k, p.quantity);
				const list = from.get(k) ?? from.set(k, []).get(k)!;
				if (!list.includes(o.order_id)) list.push(o.order_id);
			}
		}
	}
	for (const [k, n] of counted) {
		const [user, product] = k.split("|") as [string, string];
		const limit = catalog.get(product)?.max_per_customer ?? null;
		if (limit !== null && n > limit) out.push({ check: "purchase-limit", subject: `${user} ${product}`, message: `${n} units in live orders, limit ${limit}`, detail: { orders: from.get(k) } });
	}
	return out;
}
