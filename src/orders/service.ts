/**
 * Moving an order through its state machine: read, decide (pure), apply
 * (conditional batch), and on a lost race read again. After a cancellation wins,
 * the stock is undone at every warehouse the order used (release or restock,
 * idempotent by the order id); what fails is left in the outbox for the reconciler.
 */
import * as sharded from "../stock/sharded";
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { log } from "../shared/log";
import { applyChange, type ChangeMeta } from "./changes";
import { deleteOutbox, getOrder, linesByWarehouse, type OrderRecord } from "./queries";
import { transition, type OrderEvent } from "./stateMachine";

export type ChangeResult =
	| { ok: true; order: OrderRecord; changed: boolean }
	| { ok: false; reason: "not_found" }
	| { ok: false; reason: "invalid_transition"; from: string; event: string };

const MAX_RACES = 3;

/** Releases or restocks what a cancelled order holds at each of its warehouses. */
export async function undoStock(env: Env, order: OrderRecord, actor: string): Promise<void> {
	const warehouses = [...linesByWarehouse(order).keys()];
	const results = await Promise.allSettled(warehouses.map((w) => sharded.cancelHold(env, w, order.order_id, actor)));
	const done: string[] = [];
	results.forEach((r, i) => {
		const warehouse_id = warehouses[i]!;
		if (r.status === "fulfilled") {
			done.push(warehouse_id);
			if (r.value.outcome === "restocked" && !r.value.replayed) log.info("[stock-restore]", "restocked", { order_id: order.order_id, warehouse_id, lines: r.value.lines });
			else if (r.value.outcome === "released") log.info("[stock-restore]", "released", { order_id: order.order_id, warehouse_id, lines: r.value.lines });
		} else {
			log.warn("[stock-restore]", "deferred", { order_id: order.order_id, warehouse_id, error: String(r.reason) });
		}
	});
	await deleteOutbox(env.DB, order.order_id, done, "cancel").catch(() => {});
}

export async function changeOrder(
	env: Env,
	orderId: string,
	event: OrderEvent,
	meta: ChangeMeta,
	opts: {
		ownerId?: string;
		idempotentCancel?: boolean;
		/** Applies the change only while the order, as read on each attempt, passes this; otherwise answers it unchanged. */
		onlyIf?: (order: OrderRecord) => boolean;
	} = {},
): Promise<ChangeResult> {
	for (let attempt = 0; attempt < MAX_RACES; attempt++) {
		const order = await getOrder(env.DB, orderId);
		if (!order || (opts.ownerId !== undefined && order.user_id !== opts.ownerId)) return { ok: false, reason: "not_found" };
		if (opts.idempotentCancel && order.status === "cancelled") return { ok: true, order, changed: false };
		if (opts.onlyIf && !opts.onlyIf(order)) return { ok: true, order, changed: false };
		const t = transition(order, event);
		if (!t.ok) return { ok: false, reason: "invalid_transition", from: order.status, event: event.type === "set_status" ? event.to : event.type };
		const applied = await applyChange(env.DB, order, { ...t.next, refund: t.refund, restock: t.restock }, meta, new Date());
		if (!applied.won) {
			log.warn("[orders]", "race_lost", { order_id: orderId, event: event.type, attempt });
			continue;
		}
		log.info("[orders]", "status_changed", { order_id: orderId, from: order.status, to: applied.order.status, payment_status: applied.order.payment_status, by: meta.by });
		await publish(env, applied.events);
		if (t.restock) await undoStock(env, applied.order, meta.by);
		return { ok: true, order: applied.order, changed: true };
	}
	// Three lost races in a row: report the state as it is now.
	const order = await getOrder(env.DB, orderId);
	if (!order) return { ok: false, reason: "not_found" };
	return { ok: false, reason: "invalid_transition", from: order.status, event: event.type };
}
