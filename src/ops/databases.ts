/**
 * Every D1 database of the Worker once: DB and each order shard. An upgraded
 * shop binds its one database as both DB and ORDERS_0 (two bindings, one
 * database), so a sweep over [DB, ...shards] by binding would visit it twice;
 * each database's `database_identity` row (migration 0020) tells them apart.
 * Read once per isolate and bindings object.
 */
import type { Env } from "../env";
import { orderShards } from "../orders/shards";

const memo = new WeakMap<object, Promise<D1Database[]>>();

/** DB, then the order shards that are other databases than those before them, in index order. */
export function distinctDatabases(env: Env): Promise<D1Database[]> {
	let hit = memo.get(env);
	if (!hit) {
		hit = identify(env);
		memo.set(env, hit);
		// A failed read is not remembered: the next call asks again.
		hit.catch(() => memo.delete(env));
	}
	return hit;
}

async function identify(env: Env): Promise<D1Database[]> {
	const all = [...new Set([env.DB, ...orderShards(env)])];
	const ids = await Promise.all(all.map(async (db) => (await db.prepare(`SELECT id FROM database_identity`).first<{ id: string }>())?.id ?? null));
	const seen = new Set<string>();
	return all.filter((_, i) => {
		const id = ids[i];
		if (id === null || id === undefined) return true;
		if (seen.has(id)) return false;
		seen.add(id);
		return true;
	});
}
