// Contention scenarios (last-units, flash-sale, catalog, fan-out): every system
// gets the same data and the same buyers, loaded in split groups or interleaved
// rounds, then its outcome is verified against what it stored.
import { log, elapsed } from "../lib/options.mjs";
import { placeOrders, settle } from "../lib/measure.mjs";
import { mergeLoads, outcome, rateOf, verify } from "../lib/outcome.mjs";
import { mintAll, prepare } from "../lib/systems.mjs";
import { latencySummary } from "../lib/stats.mjs";

export async function contentionScenario(sc, allSystems, ctx) {
	const systems = allSystems.filter((s) => !s.selfTest || sc.name === "last-units" || sc.name === "flash-sale");
	const tokens = await mintAll(ctx.secret, sc.buyers.map((b) => b.sub));
	await Promise.all(systems.map((sys) => prepare(sys, sc, ctx.admin, tokens)));
	// Each system's loads, in the order they ran: split groups one after the other, or interleaved rounds.
	const loads = new Map(systems.map((sys) => [sys.name, []]));
	const settled = new Map(systems.map((sys) => [sys.name, 0]));
	const run = async (sys, buyers, tag, profileName) => {
		settled.set(sys.name, settled.get(sys.name) + (await settle(allSystems)));
		loads.get(sys.name).push({ buyers, tag, load: await placeOrders(sys, buyers, tokens, sc.concurrency, profileName) });
	};
	await settle(allSystems);
	for (const sys of systems) await sys.call("logs"); // start each system's log counts from here
	if (sc.rounds > 1) {
		// Round r runs every system on the r-th slice of the buyers, in an order that reverses every round.
		const per = Math.ceil(sc.buyers.length / sc.rounds);
		for (let r = 0; r < sc.rounds; r++) {
			const slice = sc.buyers.slice(r * per, (r + 1) * per);
			for (const sys of r % 2 === 0 ? systems : [...systems].reverse()) await run(sys, slice, r + 1, r === 0 ? sc.name : undefined);
		}
	} else {
		for (const sys of systems) {
			if (sc.groups) for (const g of sc.groups) await run(sys, sc.buyers.filter((b) => b.group === g), g);
			else await run(sys, sc.buyers, undefined, sc.name);
		}
	}
	// Work after the answers (stockgate's gathered commits, at most a second) must be done before reading back.
	await settle(allSystems);
	const results = {};
	for (const sys of systems) {
		const own = loads.get(sys.name);
		const merged = mergeLoads(own);
		results[sys.name] = outcome(sc, own.flatMap((l) => l.buyers), merged, await verify(sys, sc, ctx.admin));
		if (sc.groups) {
			results[sys.name].by_split = Object.fromEntries(
				own.map((l) => {
					const ok = l.load.results.filter((r) => r?.status === 201);
					return [l.tag, { ...latencySummary(l.load.results.filter(Boolean).map((r) => r.ms)), ...rateOf(l.load), sold_latency_ms: latencySummary(ok.map((r) => r.ms)) }];
				}),
			);
		}
		if (sc.rounds > 1) results[sys.name].by_round = own.map((l) => ({ round: l.tag, ...rateOf(l.load), runtime_cpu_s: l.load.runtime_cpu_s, outside_cpu_s: l.load.outside_cpu_s }));
		if (merged.profile) {
			results[sys.name].profile = merged.profile;
			printProfile(sys.name, merged.profile);
		}
		const logs = await sys.call("logs");
		results[sys.name].log_lines_per_request = Math.round((Object.values(logs.counts).reduce((s, n) => s + n, 0) / Math.max(1, results[sys.name].started)) * 10) / 10;
		results[sys.name].log_lines_by_tag = logs.counts;
		results[sys.name].waited_for_idle_ms = settled.get(sys.name);
		if (logs.errors.length) results[sys.name].log_errors = logs.errors.slice(0, 5);
		const r = results[sys.name];
		const rounds = r.by_round ? `, by round ${r.by_round.map((x) => x.orders_per_s).join(" / ")} orders/s` : "";
		log(
			`  ${sys.name.padEnd(16)} sold ${r.sold}/${r.buyers}, rejected ${r.rejected} (conflict ${r.rejected_conflict}), 5xx ${r["5xx"]}, oversold ${r.oversold}, lost ${r.lost_sales}, ${r.orders_per_s} orders/s${rounds}, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, CPU s runtime ${r.runtime_cpu_s}, host ${r.host_cpu_s}, loadgen ${r.loadgen_cpu_s}, other runtimes ${r.other_runtimes_cpu_s}, outside ${r.outside_cpu_s}  [${elapsed()}]`,
		);
	}
	return results;
}

export function printProfile(name, p) {
	log(`  ${name} CPU profile (${p.file}, ${p.busy_samples} busy samples over ${p.profiled_ms} ms), self time by module`);
	log("  (while profiling, console output is also sent to the inspector, which inflates logging's share):");
	for (const m of p.modules.slice(0, 10)) log(`    ${String(m.percent).padStart(5)}%  ${m.name}`);
	log("  by function:");
	for (const f of p.functions.slice(0, 12)) log(`    ${String(f.percent).padStart(5)}%  ${f.name}`);
}
