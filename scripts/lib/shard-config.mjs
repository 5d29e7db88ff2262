// The order shards' D1 bindings in wrangler.toml, read and rewritten as text
// (comments and layout kept), and the plan of which databases to create. Pure:
// no file, no network; scripts/create-shards.mjs does the I/O.

const HEADER = /^\s*\[/;
const D1_HEADER = /^\s*\[\[d1_databases\]\]\s*(#.*)?$/;
const KEY = /^\s*([A-Za-z_]+)\s*=\s*"([^"]*)"\s*(#.*)?$/;
const SHARD = /^ORDERS_(\d+)$/;

/** A database id wrangler.toml ships with until the real one is written: all zeros but for its last digits. */
export function isPlaceholderId(id) {
	return !id || /^00000000-0000-0000-0000-\d{12}$/.test(id);
}

/** The `[[d1_databases]]` blocks: each binding's keys, and the line range of its keys (for rewriting in place). */
export function d1Blocks(toml) {
	const lines = toml.split("\n");
	const blocks = [];
	for (let i = 0; i < lines.length; i++) {
		if (!D1_HEADER.test(lines[i])) continue;
		let end = i + 1;
		while (end < lines.length && !HEADER.test(lines[end])) end++;
		const keys = {};
		const at = {};
		let last = i;
		for (let j = i + 1; j < end; j++) {
			const m = KEY.exec(lines[j]);
			if (m) {
				keys[m[1]] = m[2];
				at[m[1]] = j;
				last = j;
			}
		}
		blocks.push({ header: i, lastKey: last, keys, at });
	}
	return blocks;
}

/** The ORDERS_i bindings by index: { index, name, id }. */
export function shardBindings(toml) {
	return d1Blocks(toml)
		.map((b) => ({ m: SHARD.exec(b.keys.binding ?? ""), b }))
		.filter(({ m }) => m)
		.map(({ m, b }) => ({ index: Number(m[1]), name: b.keys.database_name, id: b.keys.database_id }))
		.sort((a, b) => a.index - b.index);
}

/** The catalog database DB's binding: { name, id }, or undefined. */
export function catalogBinding(toml) {
	const b = d1Blocks(toml).find((x) => x.keys.binding === "DB");
	return b ? { name: b.keys.database_name, id: b.keys.database_id } : undefined;
}

/** The name a created shard database gets. */
export function shardDatabaseName(worker, index) {
	return `${worker}-orders-${index}`;
}

/**
 * What to do for `count` shards. `upgrade`: an existing single-database shop,
 * whose ORDERS_0 is its DB database (today's orders stay where they are).
 * `remote`: the account's databases, { name, id }. Answers { error } or
 * { shards: [{ index, name, id?, from: "kept" | "catalog" | "found" | "create" }] }:
 * kept, already bound to a real database; catalog, ORDERS_0 on DB's database;
 * found, a database of that name exists (a run that stopped before writing
 * wrangler.toml); create, to be made with `wrangler d1 create`.
 */
export function planShards({ toml, count, worker, upgrade = false, remote = [] }) {
	if (!Number.isInteger(count) || count < 1 || count > 256) return { error: `--count must be a whole number from 1 to 256, got ${count}` };
	const bound = shardBindings(toml);
	const beyond = bound.filter((b) => b.index >= count);
	if (beyond.length > 0) {
		return {
			error: `wrangler.toml binds ${bound.length} order shards and --count ${count} would drop ${beyond.map((b) => `ORDERS_${b.index}`).join(", ")}: customers would change shards. Fewer shards is not supported; more is (docs/SHARDS.md).`,
		};
	}
	const catalog = catalogBinding(toml);
	if (upgrade && (!catalog || isPlaceholderId(catalog.id))) {
		return { error: "--upgrade binds ORDERS_0 to DB's database, but DB has no database_id yet in wrangler.toml: a new shop needs no upgrade (run without --upgrade)." };
	}
	const byName = new Map(remote.map((d) => [d.name, d.id]));
	const shards = [];
	for (let index = 0; index < count; index++) {
		const b = bound.find((x) => x.index === index);
		if (b && !isPlaceholderId(b.id)) {
			if (upgrade && index === 0 && b.id !== catalog.id) {
				return { error: `--upgrade binds ORDERS_0 to DB's database (${catalog.name}), but wrangler.toml binds it to ${b.name} (${b.id}): the shop is already sharded.` };
			}
			shards.push({ index, name: b.name, id: b.id, from: "kept" });
			continue;
		}
		if (upgrade && index === 0) {
			shards.push({ index, name: catalog.name, id: catalog.id, from: "catalog" });
			continue;
		}
		const name = shardDatabaseName(worker, index);
		const id = byName.get(name);
		shards.push(id ? { index, name, id, from: "found" } : { index, name, from: "create" });
	}
	return { shards };
}

function blockLines(s) {
	return ["[[d1_databases]]", `binding = "ORDERS_${s.index}"`, `database_name = "${s.name}"`, `database_id = "${s.id}"`, `migrations_dir = "migrations"`];
}

/**
 * wrangler.toml with ORDERS_<index> bound to each shard's { name, id }: an
 * existing block has its name and id rewritten in place (its comments kept),
 * a missing one is added after the last D1 binding. Other text is unchanged.
 */
export function withShardBindings(toml, shards) {
	const lines = toml.split("\n");
	const blocks = d1Blocks(toml);
	if (blocks.length === 0) throw new Error("wrangler.toml has no [[d1_databases]] binding to add the order shards after");
	const byBinding = new Map(blocks.map((b) => [b.keys.binding, b]));
	const edits = [];
	const added = [];
	for (const s of [...shards].sort((a, b) => a.index - b.index)) {
		if (!s.id) throw new Error(`ORDERS_${s.index} has no database id`);
		const b = byBinding.get(`ORDERS_${s.index}`);
		if (!b) {
			added.push(...blockLines(s));
			continue;
		}
		for (const [key, value] of [
			["database_name", s.name],
			["database_id", s.id],
		]) {
			if (b.at[key] !== undefined) edits.push({ line: b.at[key], text: lines[b.at[key]].replace(/"[^"]*"/, `"${value}"`) });
			else edits.push({ after: b.lastKey, text: `${key} = "${value}"` });
		}
	}
	for (const e of edits.filter((x) => x.line !== undefined)) lines[e.line] = e.text;
	// Insertions from the bottom up, so earlier line numbers stay right.
	// At the same line, the new blocks go in first so that a key added to the last block lands above them.
	const inserts = [...(added.length > 0 ? [{ after: blocks.at(-1).lastKey, lines: added }] : []), ...edits.filter((x) => x.after !== undefined)];
	inserts.sort((a, b) => b.after - a.after);
	for (const ins of inserts) lines.splice(ins.after + 1, 0, ...(ins.lines ?? [ins.text]));
	return lines.join("\n");
}
