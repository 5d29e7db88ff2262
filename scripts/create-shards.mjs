// npm run db:create-shards -- --count N [--upgrade]
// Creates the order shards' D1 databases in your Cloudflare account (named
// <worker>-orders-<i>) and binds them as ORDERS_0..N-1 in wrangler.toml. Run
// again, it keeps what exists: a bound database stays, one created by a run that
// stopped early is found by name. --upgrade: a shop already running on one
// database keeps it as ORDERS_0, so today's orders stay where they are
// (docs/SHARDS.md). Then: npm run db:migrate:remote, npm run deploy.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { createdId, createShards, listed } from "./lib/create-shards.mjs";
import { root } from "./lib/devvars.mjs";
import { runCaptured } from "./lib/quiet.mjs";

const { values } = parseArgs({ options: { count: { type: "string" }, upgrade: { type: "boolean", default: false } } });
const count = Number(values.count);
if (values.count === undefined || !Number.isInteger(count)) {
	console.error("Usage: npm run db:create-shards -- --count N [--upgrade]");
	process.exit(2);
}
const file = join(root, "wrangler.toml");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
function run(args) {
	const r = runCaptured([wrangler, ...args], { cwd: root, env });
	if (!r.ok) throw new Error(`wrangler ${args.join(" ")} failed:\n${r.output.trim()}`);
	return r.output;
}
const d1 = {
	list: async () => listed(run(["d1", "list", "--json"])),
	create: async (name) => createdId(run(["d1", "create", name])),
};
const worker = unstable_readConfig({ config: file }, { hideWarnings: true }).name ?? "stockgate";
try {
	const toml = readFileSync(file, "utf8");
	const out = await createShards({ toml, count, worker, upgrade: values.upgrade, d1 });
	if (out.toml !== toml) writeFileSync(file, out.toml);
	for (const line of out.lines) console.log(line);
	console.log(`wrangler.toml binds ORDERS_0..ORDERS_${count - 1}. Next: npm run db:migrate:remote, then npm run deploy.`);
} catch (err) {
	console.error(err instanceof Error ? err.message : String(err));
	process.exit(1);
}
