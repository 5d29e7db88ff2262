/**
 * Every D1 database of the Worker once: DB and each order shard. An upgraded
 * shop binds its one database as both DB and ORDERS_0 (two bindings, one
 * database), so a sweep over [DB, ...shards] by binding would visit it twice;
 * each database's `database_identity` row (migration 0020) tells them apart.
 * Read once per isolate and bindings object, once every database answered.
 */
import type { Env } from "../env";
import { orderShards } from "../orders/shards";
import { log } from "../shared/log";

const memo = new WeakMap<object, Promise<D1Database[]>>();

/** DB, then the order shards that are other databases than those before them, in index order. */
export function distinctDatabases(env: Env): Promise<D1Database[]> {
	const hit = memo.get(env);
	if (hit) return hit;
	const read = identify(env);
	const dbs = read.then((r) => r.dbs);
	memo.set(env, dbs);
	// A list with an unread database is not remembered: the next call asks again.
	void read.then(
		(r) => {
			if (!r.complete) memo.delete(env);
		},
		() => memo.delete(env),
	);
	return dbs;
}

/**
 * Each database's identity is read on its own: one that cannot be read (down
 * for a moment, or without migration 0020 yet) counts as a distinct database,
 * so a sweep still visits every other one and tries it too.
 */
async function identify(env: Env): Promise<{ dbs: D1Database[]; complete: boolean }> {
	const all = [...new Set([env.DB, ...orderShards(env)])];
	let complete = true;
	const ids = await Promise.all(
		all.map(async (db, index) => {
			try {
				return (await db.prepare(`SELECT id FROM database_identity`).first<{ id: string }>())?.id ?? null;
			} catch (err) {
				complete = false;
				log.warn("[reconciler]", "database_identity_unread", { database: index, error: String(err) });
				return null;
			}
		}),
	);
	const seen = new Set<string>();
	const dbs = all.filter((_, i) => {
		const id = ids[i];
		if (id === null || id === undefined) return true;
		if (seen.has(id)) return false;
		seen.add(id);
		return true;
	});
	return { dbs, complete };
}
