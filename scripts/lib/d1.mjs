// The D1 databases of wrangler.toml (the catalog DB and every order shard
// ORDERS_i) and their migrations: applied with wrangler to each database once,
// locally or remotely, and reported in one line per database instead of
// wrangler's tables (printed only when a migration fails).
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { databasesOf } from "./migrations.mjs";
import { failWith, runCaptured } from "./quiet.mjs";

export { databasesOf };

/** The databases of the wrangler.toml in `root`. */
export function databases(root) {
	const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
	return databasesOf(config.d1_databases);
}

/** The names wrangler marked applied (✅) in this run's tables. */
function appliedNames(output) {
	return new Set([...output.matchAll(/│\s*(\S+\.sql)\s*│\s*✅/g)].map((m) => m[1]));
}

/** What wrangler's report says, in a few words (its own report when it is in a form not recognised). */
export function summary(output, total) {
	const applied = appliedNames(output).size;
	if (applied > 0) return `applied ${applied} of ${total} migrations`;
	if (/No migrations to apply/.test(output)) return `up to date (${total} migrations)`;
	return `migrations applied; wrangler said:\n${output.trim()}`;
}

/** "orders-db (DB, ORDERS_0)": a database and the bindings it serves. */
export function label(db) {
	return `${db.name} (${db.bindings.join(", ")})`;
}

/** A database whose migrations failed; `run` holds wrangler's output. */
export class MigrationFailed extends Error {
	constructor(reason, run) {
		super(`${reason}\n\n${run.output.trim()}`);
		this.reason = reason;
		this.run = run;
	}
}

/**
 * Applies the migrations to every database, "local" (.wrangler/state, or
 * `persistTo`) or "remote"; answers one line per database. The first failure
 * throws MigrationFailed with wrangler's own output (the databases before it
 * are migrated, and a rerun picks up where it stopped: wrangler records what
 * it applied).
 */
export function migrateAll({ root, wrangler, env, where = "local", persistTo }) {
	const lines = [];
	for (const db of databases(root)) {
		const dir = resolve(root, db.migrationsDir);
		const total = readdirSync(dir).filter((f) => f.endsWith(".sql")).length;
		const args = [wrangler, "d1", "migrations", "apply", db.bindings[0], `--${where}`, ...(persistTo ? ["--persist-to", persistTo] : [])];
		const run = runCaptured(args, { cwd: root, env: { ...env, CI: "true" } });
		if (!run.ok) throw new MigrationFailed(`Applying the D1 migrations to ${label(db)} (${where}) failed:`, run);
		lines.push(`D1 ${label(db)}, ${where}: ${summary(run.output, total)}.`);
	}
	return lines;
}

/** migrateAll for a command line: a failure prints wrangler's output under its reason and exits. */
export function migrateOrExit(options) {
	try {
		return migrateAll(options);
	} catch (err) {
		if (err instanceof MigrationFailed) failWith(err.reason, err.run);
		throw err;
	}
}
