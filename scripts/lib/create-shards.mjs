// The order shards' databases: each one wrangler.toml needs is found or created
// with wrangler, then bound as ORDERS_i. `d1` runs wrangler (mocked in tests):
//   list(): Promise<{ name, id }[]>   the account's D1 databases
//   create(name): Promise<string>     a new database's id
import { planShards, withShardBindings } from "./shard-config.mjs";

/** Answers { toml, lines } (the rewritten wrangler.toml and one line per shard), or throws with the reason. */
export async function createShards({ toml, count, worker, upgrade = false, d1 }) {
	// The account's databases are only asked for when some shard has none yet.
	let plan = planShards({ toml, count, worker, upgrade });
	if (plan.error) throw new Error(plan.error);
	if (plan.shards.some((s) => s.from === "create")) plan = planShards({ toml, count, worker, upgrade, remote: await d1.list() });
	if (plan.error) throw new Error(plan.error);
	const lines = [];
	const shards = [];
	for (const s of plan.shards) {
		const id = s.from === "create" ? await d1.create(s.name) : s.id;
		shards.push({ ...s, id });
		const how = { kept: "already bound", catalog: "DB's database: today's orders stay in shard 0", found: "existing database bound", create: "created" }[s.from];
		lines.push(`ORDERS_${s.index}: ${s.name} (${id}), ${how}.`);
	}
	return { toml: withShardBindings(toml, shards), lines };
}

/** The id in `wrangler d1 create`'s output (its config snippet, TOML or JSON). */
export function createdId(output) {
	const m = /database_id"?\s*[=:]\s*"([0-9a-f-]{36})"/.exec(output);
	if (!m) throw new Error(`no database_id in wrangler's output:\n${output.trim()}`);
	return m[1];
}

/** `wrangler d1 list --json`: [{ name, uuid }] as { name, id }. */
export function listed(output) {
	const start = output.indexOf("[");
	const rows = JSON.parse(start >= 0 ? output.slice(start) : output);
	return rows.map((r) => ({ name: r.name, id: r.uuid }));
}
