/**
 * Order lists over several shards: each shard read with keyset pagination
 * after the cursor, merged newest first (./merge.ts), behind one cursor.
 */
import type { Env } from "../env";
import { mergePages, type SortKey } from "./merge";
import { ordersAfter, type Page } from "./queries";
import { orderShards } from "./shards";

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
 * A customer's own orders: every shard. Orders never move, and a customer's
 * shard changes when N grows (src/ops/rehome.ts), so their earlier orders may
 * sit in any shard they once hashed to, or in shard 0 (ids without a shard
 * number). The shards are read in parallel, each by its user_id index.
 */
export function listCustomerOrders(env: Env, userId: string, cursor: SortKey | null, limit: number): Promise<Page> {
	return merged(orderShards(env), { userId }, cursor, limit);
}
