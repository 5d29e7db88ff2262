// Applies the local D1 migrations of every database in wrangler.toml and says
// so in one line per database, instead of wrangler's tables (printed only when
// a migration fails).
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { failWith, runCaptured } from "./quiet.mjs";

/** The names wrangler marked applied (✅) in this run's tables. */
function appliedNames(output) {
	return new Set([...output.matchAll(/│\s*(\S+\.sql)\s*│\s*✅/g)].map((m) => m[1]));
}

/** What wrangler's report says, in a few words (its own report when it is in a form not recognised). */
function summary(output, total) {
	const applied = appliedNames(output).size;
	if (applied > 0) return `applied ${applied} of ${total} migrations`;
	if (/No migrations to apply/.test(output)) return `up to date (${total} migrations)`;
	return `migrations applied; wrangler said:\n${output.trim()}`;
}

export function migrateLocal({ root, wrangler, env }) {
	const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
	const lines = [];
	for (const db of config.d1_databases ?? []) {
		const dir = resolve(root, db.migrations_dir ?? "migrations");
		const total = readdirSync(dir).filter((f) => f.endsWith(".sql")).length;
		const run = runCaptured([wrangler, "d1", "migrations", "apply", db.database_name, "--local"], { cwd: root, env: { ...env, CI: "true" } });
		if (!run.ok) failWith(`Applying the D1 migrations to ${db.database_name} (local) failed:`, run);
		lines.push(`D1 ${db.database_name} (local): ${summary(run.output, total)}.`);
	}
	return lines;
}
