/** The order shards as tests reach them: by order id, by customer, or all of them. */
import { env } from "cloudflare:workers";
import { customerDb, orderDb, orderShards, shardIndexOf } from "../../src/orders/shards";

/** The database holding an order (throws for an id naming no shard: a test bug). */
export function dbOfOrder(orderId: string): D1Database {
	const db = orderDb(env, orderId);
	if (!db) throw new Error(`no shard for ${orderId}`);
	return db;
}

/** The database holding a customer's carts, orders and counters. */
export function dbOfCustomer(sub: string): D1Database {
	return customerDb(env, sub).db;
}

/** Every order shard, in index order. */
export function allShards(): D1Database[] {
	return orderShards(env);
}

/** Runs one query on every shard and concatenates the rows (shard order, then the query's order). */
export async function allRows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
	const pages = await Promise.all(allShards().map((db) => db.prepare(sql).bind(...params).all<T>()));
	return pages.flatMap((p) => p.results);
}

/** A new customer id whose carts and orders live in shard `index` (found by trying fresh ids). */
export function subOnShard(index: number, prefix = "user"): string {
	const n = allShards().length;
	if (index >= n) throw new Error(`no shard ${index} (N = ${n})`);
	for (;;) {
		const sub = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
		if (shardIndexOf(sub, n) === index) return sub;
	}
}
