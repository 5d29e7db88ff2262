/**
 * Work over several order shards: rows grouped by the shard their order id
 * names, and one task per shard run in parallel where a shard that fails is
 * reported while the others finish.
 */
import type { Env } from "../env";
import { orderDb, orderShards } from "./shards";

/** Items grouped by the database their order id names; ids naming a shard this Worker lacks are left out (no such order). */
export function groupByOrderShard<T>(env: Env, items: readonly T[], orderIdOf: (item: T) => string): Array<{ db: D1Database; items: T[] }> {
	const groups = new Map<D1Database, T[]>();
	for (const item of items) {
		const db = orderDb(env, orderIdOf(item));
		if (!db) continue;
		const list = groups.get(db);
		if (list) list.push(item);
		else groups.set(db, [item]);
	}
	return [...groups].map(([db, list]) => ({ db, items: list }));
}

export type ShardOutcome<R> = { shard: number; ok: true; value: R } | { shard: number; ok: false; error: unknown };

/** `work` on every shard at once; each shard's outcome, in shard order (a failure in one never stops the others). */
export async function onEveryShard<R>(env: Env, work: (db: D1Database, shard: number) => Promise<R>): Promise<ShardOutcome<R>[]> {
	const settled = await Promise.allSettled(orderShards(env).map((db, shard) => work(db, shard)));
	return settled.map((s, shard) => (s.status === "fulfilled" ? { shard, ok: true, value: s.value } : { shard, ok: false, error: s.reason }));
}
