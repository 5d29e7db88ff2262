/**
 * Order shards: the per-customer tables (carts and lines, orders and history,
 * commit and event outboxes, idempotency keys, purchase counters, refunds)
 * live in N D1 databases bound as ORDERS_0 … ORDERS_{N-1}. A customer's shard
 * is a stable hash of the token's `sub`; an order id names its shard, so a
 * look-up by id goes straight to one database. Shop-wide tables (products,
 * kits, warehouses, webhook endpoints, transfers) stay in DB.
 *
 * N is the number of ORDERS_i bindings, counted from 0 until one is missing.
 * A Worker with none bound runs on DB alone (N = 1): the single-database
 * layout, which is also where ids without a shard number resolve.
 *
 * This file has no imports but types, so Node scripts can import it as well.
 */
import type { Env } from "../env";

/** At most this many shards are looked for (ORDERS_0 … ORDERS_255). */
export const MAX_ORDER_SHARDS = 256;

const memo = new WeakMap<object, D1Database[]>();

/** The shard databases, in index order (memoized per env object). */
export function orderShards(env: Env): D1Database[] {
	const hit = memo.get(env);
	if (hit) return hit;
	const bound = env as unknown as Record<string, D1Database | undefined>;
	const dbs: D1Database[] = [];
	for (let i = 0; i < MAX_ORDER_SHARDS; i++) {
		const db = bound[`ORDERS_${i}`];
		if (!db) break;
		dbs.push(db);
	}
	if (dbs.length === 0) dbs.push(env.DB);
	memo.set(env, dbs);
	return dbs;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across runtimes and releases. */
export function fnv1a32(text: string): number {
	let hash = 0x811c9dc5;
	for (const byte of new TextEncoder().encode(text)) {
		hash ^= byte;
		hash = Math.imul(hash, 0x01000193) >>> 0;
	}
	return hash >>> 0;
}

/**
 * MurmurHash3's 32-bit finalizer: every input bit reaches the low bits. FNV-1a
 * alone, taken mod a power of two, depends only on the low bits of each byte
 * ("userA" and "usera" would always share a shard).
 */
export function fmix32(h: number): number {
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}

/** The shard index of a customer among n shards (never change it: it places every customer). */
export function shardIndexOf(sub: string, n: number): number {
	if (!Number.isInteger(n) || n < 1) throw new RangeError(`shard count must be a positive integer, got ${n}`);
	return fmix32(fnv1a32(sub)) % n;
}

/** The database holding a customer's carts, orders, counters and keys. */
export function customerDb(env: Env, sub: string): { index: number; db: D1Database } {
	const dbs = orderShards(env);
	const index = shardIndexOf(sub, dbs.length);
	return { index, db: dbs[index] as D1Database };
}

const SHARDED_ID = /^ord_(\d{1,3})_[0-9a-f]{32}$/;

/** A new order id naming its shard: ord_<shard>_<32 hex>. */
export function newOrderId(shard: number): string {
	return `ord_${shard}_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The shard an order id names; ids without a shard number (the single-database layout) are in shard 0. */
export function shardOfOrderId(orderId: string): number {
	const m = SHARDED_ID.exec(orderId);
	return m ? Number(m[1]) : 0;
}

/** The database an order id names, or undefined when it names a shard this Worker does not have (no such order). */
export function orderDb(env: Env, orderId: string): D1Database | undefined {
	return orderShards(env)[shardOfOrderId(orderId)];
}
