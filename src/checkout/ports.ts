/**
 * What the checkout protocol needs from the world, as two small interfaces, and
 * their real adapters (Warehouse RPC stubs and D1). Tests swap in wrappers that
 * fail at chosen steps.
 */
import * as sharded from "../stock/sharded";
import type { Env } from "../env";
import { orderedAllowances, type Limits } from "../limits/queries";
import type { Allowance } from "../limits/rules";
import { placementRefusal, placementStmts, type Placement, type PlacementRefusal } from "../orders/placement";
import { deleteOutbox } from "../orders/queries";
import { customerDb, orderDb } from "../orders/shards";
import type { ReadOptions } from "../stock/cache";
import { cacheOf } from "../stock/client";
import type { CancelHoldResult, CommitResult, Level, Line, ReleaseResult, ReserveResult, Unit } from "../stock/types";
import { doneStmt, type StoredAnswer } from "./idempotency";

export interface WarehousePort {
	/** Levels from the availability cache (at most AVAILABILITY_TTL_MS old), or from the object with `fresh`. */
	availability(warehouseId: string, units: Unit[], opts?: ReadOptions): Promise<Level[]>;
	reserve(warehouseId: string, ref: string, lines: Line[], ttlMs: number): Promise<ReserveResult>;
	/** `units`: what the order holds at the warehouse, so a sharded unit's order skips objects that cannot hold it. */
	commit(warehouseId: string, ref: string, units?: readonly Unit[]): Promise<CommitResult>;
	release(warehouseId: string, ref: string, units?: readonly Unit[]): Promise<ReleaseResult>;
	cancelHold(warehouseId: string, ref: string, units?: readonly Unit[]): Promise<CancelHoldResult>;
}

/** The checkout's D1: each method one query or one batch, on one order shard. */
export interface OrderStore {
	/**
	 * The commit decision, one D1 batch (../orders/placement.ts) + the idempotent
	 * answer. A refusal names the guard that refused (the batch then wrote
	 * nothing); throws on infrastructure failure.
	 */
	decide(placement: Placement, answer?: StoredAnswer): Promise<"ok" | PlacementRefusal>;
	/** Per product: its per-customer limit (from `limits`) and the customer's units in live orders. */
	allowances(userId: string, productIds: string[], limits: Limits): Promise<Map<string, Allowance>>;
	/** Whether the order row exists: resolves a decision whose outcome was lost. */
	orderExists(orderId: string): Promise<boolean>;
	/** Clears the outbox rows of confirmed commits. */
	commitsDone(orderId: string, warehouseIds: string[]): Promise<void>;
	/** Clears the outbox rows of confirmed cancels. */
	cancelsDone(orderId: string, warehouseIds: string[]): Promise<void>;
}

export function warehousePort(env: Env): WarehousePort {
	return {
		availability: (id, units, opts) => cacheOf(env).levels(id, units, opts),
		reserve: (id, ref, lines, ttlMs) => sharded.reserve(env, id, ref, lines, ttlMs),
		commit: (id, ref, units) => sharded.commit(env, id, ref, "checkout", units),
		release: (id, ref, units) => sharded.release(env, id, ref, "checkout", units),
		cancelHold: (id, ref, units) => sharded.cancelHold(env, id, ref, "checkout", undefined, units),
	};
}

/** The order shards as checkout reaches them: by customer for the decision and limits, by order id for the rest. */
export function orderStore(env: Env): OrderStore {
	return {
		async decide(placement, answer) {
			const { db } = customerDb(env, placement.order.user_id);
			// Every later look-up goes by the id: an order written where its id does not point would be lost (a bug).
			if (orderDb(env, placement.order.order_id) !== db) throw new Error(`order ${placement.order.order_id} does not name its customer's shard`);
			const extra = answer ? [doneStmt(db, answer.scope, answer.status, answer.body, placement.order.order_id, placement.order.created_at)] : [];
			try {
				await db.batch(placementStmts(db, placement, extra));
				return "ok";
			} catch (err) {
				const refused = placementRefusal(err);
				if (refused) return refused;
				throw err;
			}
		},
		allowances: (userId, productIds, limits) => orderedAllowances(customerDb(env, userId).db, userId, productIds, limits),
		async orderExists(orderId) {
			const db = orderDb(env, orderId);
			return db !== undefined && (await db.prepare(`SELECT 1 AS x FROM orders WHERE order_id = ?`).bind(orderId).first()) !== null;
		},
		commitsDone: async (orderId, warehouseIds) => {
			const db = orderDb(env, orderId);
			if (db) await deleteOutbox(db, orderId, warehouseIds, "commit");
		},
		cancelsDone: async (orderId, warehouseIds) => {
			const db = orderDb(env, orderId);
			if (db) await deleteOutbox(db, orderId, warehouseIds, "cancel");
		},
	};
}
