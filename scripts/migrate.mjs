// npm run db:migrate:local / db:migrate:remote (and npm run deploy, before it
// uploads): applies the D1 migrations to every database in wrangler.toml, the
// catalog DB and each order shard ORDERS_i, one line per database.
//   node scripts/migrate.mjs --local | --remote
import { join } from "node:path";
import { migrateOrExit } from "./lib/d1.mjs";
import { root } from "./lib/devvars.mjs";

const where = process.argv.includes("--remote") ? "remote" : process.argv.includes("--local") ? "local" : undefined;
if (!where) {
	console.error("Usage: node scripts/migrate.mjs --local | --remote");
	process.exit(2);
}
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
for (const line of migrateOrExit({ root, wrangler, env, where })) console.log(line);
