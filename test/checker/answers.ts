/**
 * Every checkout answered 201 has its order, for that user, with the lines
 * and allocations it answered; every order was answered 201, or comes from
 * a checkout that got no answer (at most one order per such checkout); no
 * refused checkout left an order.
 */
import { groupBy, type History, type OrderLine } from "./history.js";
import { kindOf, replayed } from "./ops.js";
import type { Violation } from "./violation.js";

/** An order's lines as compared: product, size, quantity and allocations, in order. */
const shape = (lines: OrderLine[]) =>
	JSON.stringify(
		lines.map((l) => [l.product_id, l.size, l.quantity, l.allocations.map((a) => [a.warehouse_id, a.quantity]), (l.components ?? []).map((c) => [c.product_id, c.size, c.quantity, c.allocations.map((a) => [a.warehouse_id, a.quantity])])]),
	);

export function checkAnswers(h: History): Violation[] {
	const out: Violation[] = [];
	const orders = new Map(h.orders.map((o) => [o.order_id, o]));
	const checkouts = h.ops.filter((op) => kindOf(op) === "place-order");
	const answered201 = new Set<string>();
	for (const op of checkouts) {
		if (op.answer?.status !== 201) continue;
		const id = op.answer.body?.order_id as string | undefined;
		const subject = `op ${op.id} (${op.user})`;
		if (!id) {
			out.push({ check: "order-answered", subject, message: "201 without an order_id", detail: op.answer.body });
			continue;
		}
		answered201.add(id);
		const o = orders.get(id);
		if (!o) {
			out.push({ check: "order-answered", subject, message: `answered 201 with order ${id}, which the orders read does not have` });
			continue;
		}
		if (o.user_id !== op.user) out.push({ check: "order-answered", subject, message: `order ${id} belongs to ${o.user_id}` });
		if (shape(o.products) !== shape(op.answer.body.products)) {
			out.push({ check: "order-answered", subject, message: `order ${id} differs from its 201`, detail: { stored: o.products, answered: op.answer.body.products } });
		}
	}
	const byUser = groupBy(checkouts, (op) => op.user);
	const unexplained = groupBy(
		h.orders.filter((o) => !answered201.has(o.order_id)),
		(o) => o.user_id,
	);
	for (const [user, list] of unexplained) {
		const ops = byUser.get(user) ?? [];
		// Checkouts with no answer may each have left one order; replays of one key count once.
		const open = new Set(ops.filter((op) => op.answer === null || op.answer.status >= 500).map((op) => op.headers["idempotency-key"] ?? `op-${op.id}`));
		const refused = ops.filter((op) => op.answer !== null && op.answer.status !== 201 && op.answer.status < 500 && !replayed(op));
		if (list.length > open.size) {
			out.push({
				check: "order-answered",
				subject: user,
				message: `${list.length} orders never answered 201, from ${open.size} checkouts without an answer${refused.length > 0 ? ` (${refused.length} refused: ${refused.map((op) => op.answer!.status).join(", ")})` : ""}`,
				detail: list.map((o) => o.order_id),
			});
		}
	}
	return out;
}
