/**
 * The admin order list over every shard: each shard read with keyset
 * pagination after the cursor, merged newest first (./merge.ts).
 */
import type { Env } from "../env";
import { mergePages } from "./merge";
import { ordersAfter, type Page } from "./queries";
import { orderShards } from "./shards";

export async function listAllOrders(env: Env, filter: { status?: string }, cursor: { created_at: string; order_id: string } | null, limit: number): Promise<Page> {
	const pages = await Promise.all(orderShards(env).map((db) => ordersAfter(db, filter, cursor, limit + 1)));
	const merged = mergePages(pages, cursor, limit);
	return { orders: merged.rows, next: merged.next };
}
