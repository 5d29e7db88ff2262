// Applies the D1 migration files straight to a local D1 binding (Miniflare's),
// one batch per file in file order, split into statements the way wrangler
// splits them. Shared by the bench's hosts and the load tests' harness, which
// migrate every database of wrangler.toml: the catalog DB and each order shard.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { unstable_splitSqlQuery } from "wrangler";

/** Each `.sql` file's statements, in file-name order. */
export function migrationBatches(dir) {
	return readdirSync(dir)
		.filter((f) => f.endsWith(".sql"))
		.sort()
		.map((f) => unstable_splitSqlQuery(readFileSync(join(dir, f), "utf8")).filter((s) => s.trim() !== ""));
}

/** Applies every migration file in `dir` to `db`; resolves with how many files there were. */
export async function applyMigrations(db, dir) {
	const batches = migrationBatches(dir);
	for (const statements of batches) if (statements.length > 0) await db.batch(statements.map((s) => db.prepare(s)));
	return batches.length;
}

/**
 * The databases bound in a wrangler config, one entry per database: bindings
 * that share a database_id (an upgraded shop binds ORDERS_0 to DB's database)
 * are one database, migrated once.
 */
export function databasesOf(d1Bindings) {
	const byId = new Map();
	for (const b of d1Bindings ?? []) {
		const key = b.database_id ?? b.database_name ?? b.binding;
		const seen = byId.get(key);
		if (seen) seen.bindings.push(b.binding);
		else byId.set(key, { name: b.database_name ?? b.binding, id: b.database_id, bindings: [b.binding], migrationsDir: b.migrations_dir ?? "migrations" });
	}
	return [...byId.values()];
}

/**
 * Applies every migration to every database of a wrangler config's
 * `d1_databases` (each database once), reached through `d1(binding)`;
 * resolves with how many files there were.
 */
export async function applyMigrationsToAll(d1, d1Bindings, baseDir) {
	let files = 0;
	for (const db of databasesOf(d1Bindings)) files = await applyMigrations(await d1(db.bindings[0]), resolve(baseDir, db.migrationsDir));
	return files;
}
