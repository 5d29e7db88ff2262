/**
 * Order lists over several shards: each shard read with keyset pagination
 * after the cursor, merged newest first (./merge.ts), behind one cursor.
 */
import type { Env } from "../env";
import { mergePages, type SortKey } from "./merge";
import { ordersAfter, type Page } from "./queries";
import { customerDb, orderShards } from "./shards";

async function merged(dbs: D1Database[], filter: { userId?: string; status?: string }, cursor: SortKey | null, limit: number): Promise<Page> {
	const pages = await Promise.all(dbs.map((db) => ordersAfter(db, filter, cursor, limit + 1)));
	const m = mergePages(pages, cursor, limit);
	return { orders: m.rows, next: m.next };
}

/** Every order of the shop (the admin list): all shards. */
export function listAllOrders(env: Env, filter: { status?: string }, cursor: SortKey | null, limit: number): Promise<Page> {
	return merged(orderShards(env), filter, cursor, limit);
}

/**
 * A customer's own orders: their shard, and shard 0, where the orders of the
 * single-database layout stay (ids without a shard number).
 */
export function listCustomerOrders(env: Env, userId: string, cursor: SortKey | null, limit: number): Promise<Page> {
	const own = customerDb(env, userId).db;
	const legacy = orderShards(env)[0]!;
	return merged(own === legacy ? [own] : [own, legacy], { userId }, cursor, limit);
}
