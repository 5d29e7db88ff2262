// The `shards` scenario's pure parts: the single-database config made from the
// shipped one, and each database's D1 work per order from the Worker's own
// per-database totals (src/shared/d1Count.ts, read from its [http] lines).

/** The share the busiest database must fall to at N = 4, against the single database's figure. */
export const MAX_BUSIEST_SHARE = 0.35;
/**
 * Miniflare reports each statement's duration in whole milliseconds (0 or 1
 * for most): under this many summed at the single database, the busy-time
 * share is noise (a --quick run's 40 orders sum about 10 ms), and the share is
 * judged by statements instead.
 */
export const MIN_TIMED_MS = 200;

const ORDER_SHARD = /^ORDERS_\d+$/;

/**
 * A wrangler config's text without its order shards (every [[d1_databases]]
 * table bound as ORDERS_i): the same Worker on DB alone (N = 1).
 */
export function withoutOrderShards(text) {
	const out = text.replace(/^\[\[d1_databases\]\][^]*?(?=^\[|(?![^]))/gm, (table) => {
		const binding = /^binding\s*=\s*"([^"]+)"/m.exec(table)?.[1];
		return binding && ORDER_SHARD.test(binding) ? "" : table;
	});
	if (/^binding\s*=\s*"ORDERS_\d+"/m.test(out)) throw new Error("an ORDERS_i binding is left in the single-database config");
	return out;
}

const round = (v, d = 4) => (v === null || !Number.isFinite(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

/**
 * Each database's statements and reported busy ms per order between two
 * snapshots of the isolate's totals ({ binding: { statements, ms, untimed } }).
 */
export function perOrder(before, after, orders) {
	if (!(orders > 0)) throw new RangeError(`orders must be positive, got ${orders}`);
	const out = {};
	for (const [name, a] of Object.entries(after ?? {})) {
		const b = before?.[name] ?? { statements: 0, ms: 0, untimed: 0 };
		const statements = a.statements - b.statements;
		if (statements <= 0) continue;
		out[name] = { statements: round(statements / orders), ms: round((a.ms - b.ms) / orders), untimed: a.untimed - b.untimed };
	}
	return out;
}

/** The database with the most of `key` per order (ties: the first by name). */
function busiest(dbs, key) {
	let best = null;
	for (const name of Object.keys(dbs).sort()) if (!best || dbs[name][key] > dbs[best][key]) best = name;
	return best;
}

/**
 * The single database's figure (DB at N = 1: it runs everything) against the
 * sharded layout's DB, busiest shard and busiest database, by reported busy
 * ms and by statements; `met` when the busiest database's share is at most
 * MAX_BUSIEST_SHARE, by busy time when the single database's summed ms
 * (`singleMsTotal`) reach MIN_TIMED_MS, else by statements (`basis` says which).
 */
export function busiestShare(single, sharded, singleMsTotal = Number.POSITIVE_INFINITY) {
	const one = single.DB;
	if (!one) throw new Error("the single-database run reported no work at DB");
	const shards = Object.fromEntries(Object.entries(sharded).filter(([name]) => ORDER_SHARD.test(name)));
	const shard = busiest(shards, "ms");
	const top = busiest(sharded, "ms");
	const topByCount = busiest(sharded, "statements");
	const share = one.ms > 0 && top ? round(sharded[top].ms / one.ms, 3) : null;
	const byStatements = topByCount ? round(sharded[topByCount].statements / one.statements, 3) : null;
	const basis = share !== null && singleMsTotal >= MIN_TIMED_MS ? "busy ms" : "statements";
	const judged = basis === "busy ms" ? share : byStatements;
	return {
		single_db: one,
		db: sharded.DB ?? { statements: 0, ms: 0, untimed: 0 },
		busiest_shard: shard,
		busiest_shard_per_order: shard ? sharded[shard] : null,
		busiest_database: top,
		share,
		share_by_statements: byStatements,
		basis,
		max_share: MAX_BUSIEST_SHARE,
		met: judged !== null && judged <= MAX_BUSIEST_SHARE,
	};
}
