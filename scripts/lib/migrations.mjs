// Applies the D1 migration files straight to a local D1 binding (Miniflare's),
// one batch per file in file order, split into statements the way wrangler
// splits them. Shared by the bench's hosts and the load tests' harness.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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
