/**
 * What the checkout protocol needs from the world, as two small interfaces, and
 * their real adapters (Warehouse RPC stubs and D1). Tests swap in wrappers that
 * fail at chosen steps.
 */
import * as sharded from "../stock/sharded";
import type { Env } from "../env";
import { deleteOutbox, deleteOutboxRows, getOrder, placeOrderStmt, type OrderRecord } from "../orders/queries";
import { Coalescer, coalescerPer, type WaitUntil } from "../shared/coalescer";
import type { ReadOptions } from "../stock/cache";
import { cacheOf } from "../stock/client";
import type { CancelHoldResult, CommitResult, Level, Line, ReleaseResult, ReserveResult, Unit } from "../stock/types";
import type { OrderStatusChanged, StockgateEvent } from "../events/types";
import { log } from "../shared/log";
import { applyChange } from "../orders/changes";
import { transition } from "../orders/stateMachine";
import { toMajor } from "../shared/money";
import { isPurchaseLimitError, orderedAllowances } from "../limits/queries";
import type { Allowance } from "../limits/rules";
import { doneStmt, type IdempotencyScope } from "./idempotency";
import { stillQueued, unfulfillableStmts } from "./unfulfillable";

export function placedEventId(orderId: string): string {
	return `evt_placed_${orderId}`;
}

/** The event of an order's creation: its id is derived from the order, so a replayed decision cannot duplicate it. */
export function placedEvent(order: OrderRecord): OrderStatusChanged {
	return {
		event_id: placedEventId(order.order_id),
		type: "order.status_changed",
		occurred_at: order.created_at,
		order_id: order.order_id,
		user_id: order.user_id,
		customer_email: order.customer_email,
		old_status: null,
		new_status: "pending",
		payment_status: order.payment_status,
		tracking_number: null,
		total: toMajor(order.total),
		currency: order.currency,
		changed_by: order.user_id,
		reason: "order placed",
	};
}

export interface WarehousePort {
	/** Levels from the availability cache (at most AVAILABILITY_TTL_MS old), or from the object with `fresh`. */
	availability(warehouseId: string, units: Unit[], opts?: ReadOptions): Promise<Level[]>;
	reserve(warehouseId: string, ref: string, lines: Line[], ttlMs: number): Promise<ReserveResult>;
	commit(warehouseId: string, ref: string): Promise<CommitResult>;
	release(warehouseId: string, ref: string): Promise<ReleaseResult>;
	cancelHold(warehouseId: string, ref: string): Promise<CancelHoldResult>;
}

export interface StoredAnswer {
	scope: IdempotencyScope;
	status: number;
	body: unknown;
}

export interface OrderStore {
	/**
	 * The commit decision, one D1 batch: the placement (one statement whose
	 * trigger completes the cart, inserts the order with its history row and the
	 * customer's purchase counters, the commit outbox rows and the placed event,
	 * migration 0011) + the idempotency answer.
	 * "cart_taken" when the cart already has a live order or is no longer
	 * active; "cart_changed" when the cart's version is not `cartVersion` any
	 * more; "purchase_limit" when a counter would pass its product's limit (all
	 * refused by D1, so the batch writes nothing); throws on infrastructure failure.
	 */
	decide(order: OrderRecord, warehouseIds: string[], cartVersion: number, answer?: StoredAnswer): Promise<"ok" | "cart_taken" | "cart_changed" | "purchase_limit">;
	/** Per product: its per-customer limit and the customer's units in live orders. */
	allowances(userId: string, productIds: string[]): Promise<Map<string, Allowance>>;
	/** Whether the order row exists: resolves a decision whose outcome was lost. */
	orderExists(orderId: string): Promise<boolean>;
	commitsDone(orderId: string, warehouseIds: string[]): Promise<void>;
	/** Cancels a decided order whose stock could not be taken: order + history + cancel outbox rows (+ new idempotent answer). */
	/** True when the order is now cancelled (by this call or before); false when it could not be (left for the reconciler). */
	cancelUnfulfillable(order: OrderRecord, reason: string, answer?: StoredAnswer): Promise<boolean>;
	cancelsDone(orderId: string, warehouseIds: string[]): Promise<void>;
}

export function warehousePort(env: Env): WarehousePort {
	return {
		availability: (id, units, opts) => cacheOf(env).levels(id, units, opts),
		reserve: (id, ref, lines, ttlMs) => sharded.reserve(env, id, ref, lines, ttlMs),
		commit: (id, ref) => sharded.commit(env, id, ref),
		release: (id, ref) => sharded.release(env, id, ref),
		cancelHold: (id, ref) => sharded.cancelHold(env, id, ref, "checkout"),
	};
}

/** The decision batch's refusals: the unique live order per cart, and the cart guard trigger (migration 0005). */
function refusalOf(err: unknown): "cart_taken" | "cart_changed" | undefined {
	const msg = err instanceof Error ? err.message : String(err);
	if (/CART_CHANGED/.test(msg)) return "cart_changed";
	if (/UNIQUE constraint failed: orders\.cart_id|CART_TAKEN/.test(msg)) return "cart_taken";
	return undefined;
}

/** Confirmed commits whose outbox rows wait to be cleared, gathered across the requests of an isolate. */
const COMMITS_DONE_WINDOW_MS = 50;
const commitCleanerOf = coalescerPer(
	(db: D1Database) =>
		new Coalescer<{ order_id: string; warehouse_id: string }>({
			flush: (rows) => deleteOutboxRows(db, "commit", rows),
			// A row left behind only costs the reconciler a replayed (idempotent) commit.
			onError: (err, rows) => log.warn("[place-order]", "outbox_clear_deferred", { error: String(err), rows: rows.length }),
			windowMs: COMMITS_DONE_WINDOW_MS,
			maxItems: 200,
		}),
);

export interface OrderStoreOptions {
	/** Publishes the events of a change right away (else the reconciler sends them from the outbox). */
	onEvents?: (events: StockgateEvent[]) => Promise<void>;
	/**
	 * With it, confirmed commits' outbox rows are cleared after the answer, together
	 * with those of other requests of this isolate (one D1 statement per window).
	 */
	waitUntil?: WaitUntil;
}

export function orderStore(db: D1Database, { onEvents, waitUntil }: OrderStoreOptions = {}): OrderStore {
	return {
		async decide(order, warehouseIds, cartVersion, answer) {
			const at = order.created_at;
			// One statement: its trigger completes the cart (first, so a cart that moved or is taken refuses
			// everything before a limit is judged), inserts the order, the commit outbox rows and the event (migration 0011).
			const placed = placedEvent(order);
			const stmts = [placeOrderStmt(db, order, { cartVersion, commitWarehouses: warehouseIds, event: { event_id: placed.event_id, payload: JSON.stringify(placed) } })];
			if (answer) stmts.push(doneStmt(db, answer.scope, answer.status, answer.body, order.order_id, at));
			try {
				await db.batch(stmts);
				return "ok";
			} catch (err) {
				const refused = refusalOf(err);
				if (refused) return refused;
				if (isPurchaseLimitError(err)) return "purchase_limit";
				throw err;
			}
		},
		allowances: (userId, productIds) => orderedAllowances(db, userId, productIds),
		async orderExists(orderId) {
			return (await db.prepare(`SELECT 1 AS x FROM orders WHERE order_id = ?`).bind(orderId).first()) !== null;
		},
		async commitsDone(orderId, warehouseIds) {
			if (!waitUntil) return deleteOutbox(db, orderId, warehouseIds, "commit");
			commitCleanerOf(db).add(
				warehouseIds.map((w) => ({ order_id: orderId, warehouse_id: w })),
				waitUntil,
			);
		},
		async cancelUnfulfillable(order, reason, answer) {
			// The same race-safe change as any cancellation; re-read on a lost race (e.g. a payment landing).
			let current: OrderRecord | null = order;
			for (let attempt = 0; attempt < 3 && current; attempt++) {
				if (current.status === "cancelled") return true;
				const t = transition(current, { type: "cancel" });
				if (!t.ok) {
					log.error("unfulfillable_order_not_cancellable", { order_id: order.order_id, status: current.status }, "[place-order]");
					return false;
				}
				const at = new Date();
				// The cart comes back and an order nobody was told about stays unannounced (./unfulfillable.ts).
				const extra = (_: D1Database, changeId: string) => [
					...unfulfillableStmts(db, current!, placedEventId(order.order_id), changeId, at.toISOString()),
					...(answer ? [doneStmt(db, answer.scope, answer.status, answer.body, order.order_id, at.toISOString())] : []),
				];
				const applied = await applyChange(db, current, { ...t.next, refund: t.refund, restock: true }, { by: "system", reason, extra }, at);
				if (applied.won) {
					const queued = await stillQueued(db, applied.events.map((e) => e.event_id));
					if (onEvents) await onEvents(applied.events.filter((e) => queued.has(e.event_id)));
					return true;
				}
				current = await getOrder(db, order.order_id);
			}
			return current?.status === "cancelled";
		},
		cancelsDone: (orderId, warehouseIds) => deleteOutbox(db, orderId, warehouseIds, "cancel"),
	};
}
