// The shards scenario: the catalog load on stockgate at N = 1 (its config
// without the ORDERS_i databases: everything in DB) and at N = 4 (as shipped),
// in interleaved rounds. What it reports is each database's busy time per
// order, as the database itself reported it (every D1 result's meta.duration,
// summed per binding by the Worker with D1_STATS on), and its statements per
// order: on 2 shared cores throughput cannot show scale-out, a database's own
// busy time can. Miniflare reports whole milliseconds (each statement 0 or
// 1), so a sum estimates busy time over thousands of statements only.
// Counted: the place-order requests and the work they leave running (gathered
// commits, outbox clean-up, events); not the shop's set-up nor the buyers'
// carts, built before.
import { log, elapsed } from "../lib/options.mjs";
import { placeOrders, settle } from "../lib/measure.mjs";
import { mergeLoads, outcome, verify } from "../lib/outcome.mjs";
import { busiestShare, perOrder } from "../lib/shards.mjs";
import { api, mintAll, prepare } from "../lib/systems.mjs";

/** The Worker's per-database totals so far: a request makes it write them in its [http] line. */
async function totals(sys) {
	await api(sys, "GET", "/health");
	for (let i = 0; i < 20; i++) {
		// The line reaches the host a moment after the answer.
		const { d1_db } = await sys.call("logs");
		if (d1_db && sys.lastTotals !== JSON.stringify(d1_db)) {
			sys.lastTotals = JSON.stringify(d1_db);
			return d1_db;
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`${sys.name} reported no per-database D1 totals (is D1_STATS on in its env file?)`);
}

export async function shardsScenario(sc, systems, allSystems, ctx) {
	const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
	await Promise.all(systems.map((sys) => prepare(sys, sc, ctx.admin, tokens)));
	await settle(allSystems);
	const before = new Map();
	for (const sys of systems) before.set(sys.name, await totals(sys));
	const loads = new Map(systems.map((sys) => [sys.name, []]));
	const per = Math.ceil(sc.buyers.length / sc.rounds);
	for (let r = 0; r < sc.rounds; r++) {
		const slice = sc.buyers.slice(r * per, (r + 1) * per);
		for (const sys of r % 2 === 0 ? systems : [...systems].reverse()) {
			await settle(allSystems);
			loads.get(sys.name).push({ buyers: slice, load: await placeOrders(sys, slice, tokens, sc.concurrency) });
		}
	}
	await settle(allSystems);
	const results = {};
	for (const sys of systems) {
		const own = loads.get(sys.name);
		const o = outcome(sc, own.flatMap((l) => l.buyers), mergeLoads(own), await verify(sys, sc, ctx.admin));
		const after = await totals(sys);
		const dbs = perOrder(before.get(sys.name), after, Math.max(1, o.sold));
		results[sys.name] = { shards: sys.shards, sold: o.sold, buyers: o.buyers, "5xx": o["5xx"], oversold: o.oversold, lost_sales: o.lost_sales, orders_per_s: o.orders_per_s, per_order: dbs };
		const shown = Object.entries(dbs)
			.map(([name, d]) => `${name} ${d.ms} ms / ${d.statements} st`)
			.join(", ");
		log(`  ${sys.name.padEnd(16)} N=${sys.shards}: sold ${o.sold}/${o.buyers}, 5xx ${o["5xx"]}, oversold ${o.oversold}; per order (database-reported busy ms / statements): ${shown}  [${elapsed()}]`);
	}
	const [one, four] = systems.map((s) => results[s.name].per_order);
	const single = results[systems[0].name];
	const share = busiestShare(one, four, (one.DB?.ms ?? 0) * single.sold);
	log(
		`  busiest database at N=4: ${share.busiest_database} ${four[share.busiest_database]?.ms} ms per order against ${share.single_db.ms} ms at N=1 (share ${share.share}, by statements ${share.share_by_statements}; judged by ${share.basis}, must be <= ${share.max_share}: ${share.met ? "met" : "MISSED"}); DB ${share.db.ms} ms, busiest shard ${share.busiest_shard} ${share.busiest_shard_per_order?.ms} ms`,
	);
	return { results, share };
}
