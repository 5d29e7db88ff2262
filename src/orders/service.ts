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
import { issueRefunds } from "../payments/issue";
import { applyChange, type AppliedChange, type ChangeMeta } from "./changes";
import { deleteOutbox, getOrder, linesByWarehouse, type OrderRecord } from "./queries";
import { transition, type OrderEvent } from "./stateMachine";
import { customerDb, orderDb, shardOfOrderId } from "./shards";
import { recountCustomer } from "../ops/rehome";
import { stillQueued, unfulfillableStmts } from "./unfulfillable";

export type ChangeResult =
	| { ok: true; order: OrderRecord; changed: boolean }
	| { ok: false; reason: "not_found" }
	| { ok: false; reason: "invalid_transition"; from: string; event: string };

const MAX_RACES = 3;

/** Releases or restocks what a cancelled order holds at each of its warehouses. */
export async function undoStock(env: Env, order: OrderRecord, actor: string): Promise<void> {
	const linesAt = linesByWarehouse(order);
	const warehouses = [...linesAt.keys()];
	const results = await Promise.allSettled(warehouses.map((w) => sharded.cancelHold(env, w, order.order_id, actor, undefined, linesAt.get(w))));
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
	const db = orderDb(env, order.order_id);
	if (db) await deleteOutbox(db, order.order_id, done, "cancel").catch(() => {});
}

/** The event to apply, or one decided on the order as read on each attempt (null: leave it unchanged). */
export type EventFor = OrderEvent | ((order: OrderRecord) => Promise<OrderEvent | null>);

export interface ChangeOptions {
	ownerId?: string;
	idempotentCancel?: boolean;
	/** Applies the change only while the order, as read on each attempt, passes this; otherwise answers it unchanged. */
	onlyIf?: (order: OrderRecord) => boolean;
	/** The order as the caller just read it: the first attempt starts from it instead of reading again. */
	read?: OrderRecord;
	/** What follows a won change. Default: publish its events, and undo the stock of a cancellation. */
	afterWin?: (applied: AppliedChange) => Promise<void>;
}

export async function changeOrder(env: Env, orderId: string, eventFor: EventFor, meta: ChangeMeta, opts: ChangeOptions = {}): Promise<ChangeResult> {
	// The order's shard, named by its id: an id naming a shard this Worker lacks is no order of ours.
	const db = orderDb(env, orderId);
	if (!db) return { ok: false, reason: "not_found" };
	let read = opts.read;
	for (let attempt = 0; attempt < MAX_RACES; attempt++) {
		const order = read ?? (await getOrder(db, orderId));
		read = undefined;
		if (!order || (opts.ownerId !== undefined && order.user_id !== opts.ownerId)) return { ok: false, reason: "not_found" };
		if (opts.idempotentCancel && order.status === "cancelled") return { ok: true, order, changed: false };
		if (opts.onlyIf && !opts.onlyIf(order)) return { ok: true, order, changed: false };
		const event = typeof eventFor === "function" ? await eventFor(order) : eventFor;
		if (!event) return { ok: true, order, changed: false };
		const t = transition(order, event);
		if (!t.ok) return { ok: false, reason: "invalid_transition", from: order.status, event: event.type === "set_status" ? event.to : event.type };
		const applied = await applyChange(db, order, { ...t.next, refund: t.refund, restock: t.restock }, meta, new Date());
		if (!applied.won) {
			log.warn("[orders]", "race_lost", { order_id: orderId, event: event.type, attempt });
			continue;
		}
		log.info("[orders]", "status_changed", { order_id: orderId, from: order.status, to: applied.order.status, payment_status: applied.order.payment_status, by: meta.by });
		// An order placed before its customer moved shards gave its units back here, where their counters no longer are.
		if (applied.order.status === "cancelled" && order.status !== "cancelled" && shardOfOrderId(orderId) !== customerDb(env, order.user_id).index) {
			await recountCustomer(env, order.user_id).catch((err) => log.warn("[rehome]", "recount_failed", { user_id: order.user_id, error: String(err) }));
		}
		if (opts.afterWin) await opts.afterWin(applied);
		else {
			await publish(env, applied.events);
			// Stripe refunds are asked for now; one that fails stays due and the reconciler asks again (same idempotency key).
			await issueRefunds(env, applied.refunds);
			if (t.restock) await undoStock(env, applied.order, meta.by);
		}
		return { ok: true, order: applied.order, changed: true };
	}
	// Three lost races in a row: report the state as it is now.
	const order = await getOrder(db, orderId);
	if (!order) return { ok: false, reason: "not_found" };
	return { ok: false, reason: "invalid_transition", from: order.status, event: typeof eventFor === "function" ? "refunds_settled" : eventFor.type };
}

/**
 * Cancels a decided order whose stock could not be taken (a hold lapsed and
 * its units were sold), with `extra` statements in the cancellation's batch (the
 * idempotent answer that replaces the 201). The cart comes back and an order
 * nobody was told about stays unannounced (./unfulfillable.ts). The caller
 * undoes the stock. True when the order is now cancelled (by this call or
 * before); false when it could not be (it moved on, or lost every race).
 */
export async function cancelUnfulfillable(env: Env, order: OrderRecord, reason: string, extra?: ChangeMeta["extra"]): Promise<boolean> {
	const result = await changeOrder(
		env,
		order.order_id,
		{ type: "cancel" },
		{
			by: "system",
			reason,
			extra: (db, changeId, at) => [...unfulfillableStmts(db, order, changeId, at), ...(extra ? extra(db, changeId, at) : [])],
		},
		{
			read: order,
			idempotentCancel: true,
			// Only the events still in the outbox go out: a never-announced order's were withdrawn with it.
			afterWin: async (applied) => {
				const queued = await stillQueued(orderDb(env, order.order_id)!, applied.events.map((e) => e.event_id));
				await publish(env, applied.events.filter((e) => queued.has(e.event_id)));
				await issueRefunds(env, applied.refunds);
			},
		},
	);
	if (!result.ok) log.error("unfulfillable_order_not_cancelled", { order_id: order.order_id, result }, "[place-order]");
	return result.ok && result.order.status === "cancelled";
}
