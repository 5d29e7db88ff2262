/**
 * Which database holds an event's records: its outbox row, the consumer's
 * de-duplication and per-order sequence, its webhook messages and attempts.
 * An event that names an order (order.status_changed,
 * payment.refund_requested) lives in that order's shard, so nothing on an
 * order's path writes to a shop-wide database; the shop's own events (stock,
 * transfers) live in DB.
 *
 * The body names the order, so the database is found without parsing event
 * ids: ids of every format keep working, and an order id without a shard
 * number (the single-database layout) resolves to shard 0 like its order.
 */
import type { Env } from "../env";
import { distinctDatabases } from "../ops/databases";
import { orderDb, shardOfOrderId } from "../orders/shards";
import type { StockgateEvent } from "./types";

/** The order an event belongs to, or null for a shop-wide event. */
export function orderIdOf(e: StockgateEvent): string | null {
	return "order_id" in e && typeof e.order_id === "string" ? e.order_id : null;
}

/** The database of an event's records; undefined when it names a shard this Worker does not have. */
export function eventDb(env: Env, e: StockgateEvent): D1Database | undefined {
	const orderId = orderIdOf(e);
	return orderId === null ? env.DB : orderDb(env, orderId);
}

/** Whether an order id names its shard; one that does not is from the single-database layout (and resolves to shard 0). */
export function namesItsShard(orderId: string): boolean {
	return orderId.startsWith(`ord_${shardOfOrderId(orderId)}_`);
}

/**
 * Every database that holds event records, each once: DB, then each shard
 * (an upgraded shop binds one database as both DB and ORDERS_0).
 */
export function eventDatabases(env: Env): Promise<D1Database[]> {
	return distinctDatabases(env);
}

/** Groups items by database, keeping their order within each. */
export function byDatabase<T>(items: readonly T[], dbOf: (item: T) => D1Database): Map<D1Database, T[]> {
	const groups = new Map<D1Database, T[]>();
	for (const item of items) {
		const db = dbOf(item);
		const list = groups.get(db);
		if (list) list.push(item);
		else groups.set(db, [item]);
	}
	return groups;
}
