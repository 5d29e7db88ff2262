// npm run bench [-- options]
//   --quick                 reduced sizes, stockgate and the plain baseline only, stampede without its browsing pass (CI smoke, about a minute)
//   --scenarios=a,b         a subset of last-units, flash-sale, catalog, fan-out, floor, reads, stampede, shards (shards: not in --quick unless named)
//   --out=path              where to write the JSON (default bench/results/latest.json)
//   --keep-state            keep the temporary state directories (their path is printed)
//   --self-test             add a baseline without its compare-and-set guard, to show oversells get caught
//   --profile               CPU profiles of stockgate and the baseline under load (perturbs timings)
//   --stockgate-config=path measure another wrangler config of stockgate in its place
//   --systems=a,b           a subset of stockgate, baseline, baseline+retry3 (stockgate is always run)
//
// stockgate against the optimistic-locking baseline (bench/baseline/), both on
// workerd through wrangler's unstable_startWorker, each in a fresh temporary
// state directory, listening on 127.0.0.1. Identical data is loaded through each
// system's HTTP API, identical load is driven from this process, and the outcome
// is checked afterwards against the stock and the orders actually stored.
// Prints one table per scenario and writes bench/results/latest.json.
//
// Exit code: 1 when stockgate oversold or answered 5xx (or not at all) in any
// scenario, or in the stampede (any pass, sharded included) turned a paying buyer
// away while a unit sat unsold after the payment window, answered a false 409 or
// left units unsold; 2 when the harness itself failed; never because of timings.
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { mintToken } from "../scripts/lib/tokens.mjs";
import { forkHost, killHosts } from "./lib/hosts.mjs";
import { setRuntimes } from "./lib/measure.mjs";
import { args, KEEP_STATE, log, NOLOCK, option, OUT, PROBE, PROFILE, QUICK, QUICK_ALWAYS, QUICK_BUDGET_MS, RUN_SYSTEMS, runStarted, SELECTED, SELF_TEST, shardSystems, SIZE, STAMPEDE_SYSTEMS, WITH_ASSETS } from "./lib/options.mjs";
import { machine, memoryOf, root } from "./lib/proc.mjs";
import { ratios, renderScenario, targets } from "./lib/report.mjs";
import { catalog, fanOut, flashSale, floor, lastUnits, reads, stampede } from "./lib/workloads.mjs";
import { table } from "./lib/stats.mjs";
import { startSystem } from "./lib/systems.mjs";
import { contentionScenario } from "./scenarios/contention.mjs";
import { floorScenario } from "./scenarios/floor.mjs";
import { readsScenario } from "./scenarios/reads.mjs";
import { shardsScenario } from "./scenarios/shards.mjs";
import { stampedeScenario } from "./scenarios/stampede.mjs";

async function main() {
	const date = new Date().toISOString();
	const command = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
	const info = machine();
	log(`stockgate benchmark (${QUICK ? "quick" : "full"}) ${date}`);
	log(`machine: ${info.cores} cores, ${info.cpu_model}, ${info.memory_gib} GiB, ${info.os}, load average ${loadavg().map((v) => v.toFixed(1)).join(" ")}`);
	log(
		`versions: node ${info.versions.node}, wrangler ${info.versions.wrangler}, miniflare ${info.versions.miniflare}, workerd ${info.versions.workerd}, stockgate ${info.versions.stockgate ?? "n/a"}`,
	);

	// stockgate serves its pages as static assets from dist/: a clean clone has none until they are built.
	if (!existsSync(join(root, "dist"))) {
		log("dist/ is missing: building the pages first (npm run build)...");
		execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
	}

	const tmp = mkdtempSync(join(tmpdir(), "stockgate-bench-"));
	const secret = randomBytes(32).toString("hex");
	const webhookSecret = randomBytes(32).toString("hex");
	const envFile = join(tmp, "bench.env");
	const secrets = `JWT_SECRET=${secret}\nPAYMENT_WEBHOOK_SECRET=${webhookSecret}\n`;
	writeFileSync(envFile, secrets, { mode: 0o600 });
	// stampede's own stockgate instances: the short payment window (and the "before" variant's switch) in their env files.
	const wantStampede = SELECTED.includes("stampede");
	const stampedeSystems = wantStampede ? STAMPEDE_SYSTEMS.filter((s) => !(QUICK && s.quietOnly)) : [];
	for (const s of stampedeSystems) {
		s.envFile = join(tmp, `${s.name}.env`);
		const vars = { PAYMENT_WINDOW_SECONDS: String(SIZE.stampede.windowSeconds), ...s.vars };
		writeFileSync(s.envFile, secrets + Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(""), { mode: 0o600 });
	}
	// shards: stockgate at N = 1 and N = 4, with per-database D1 totals on (D1_STATS) in their env files.
	const shardSystemsWanted = SELECTED.includes("shards") ? shardSystems() : [];
	for (const s of shardSystemsWanted) {
		s.envFile = join(tmp, `${s.name}.env`);
		writeFileSync(s.envFile, secrets + Object.entries(s.vars).map(([k, v]) => `${k}=${v}\n`).join(""), { mode: 0o600 });
	}
	const extraSystems = [...stampedeSystems, ...shardSystemsWanted];
	// The baseline and the probe run on stockgate's compatibility date and flags.
	const compat = join(root, "wrangler.toml");
	const cleanup = () => {
		killHosts();
		if (!KEEP_STATE) rmSync(tmp, { recursive: true, force: true });
	};
	process.once("SIGINT", () => {
		cleanup();
		process.exit(130);
	});

	const wantProbe = SELECTED.includes("floor");
	let host = null;
	let systems = [];
	let extra = [];
	let probe = null;
	let exitCode = 0;
	let otherWorkerd = [];
	if (PROFILE) log("--profile: the inspector is on and the CPU profiler samples every 200 us: timings of this run are not comparable to a plain run.");
	const report = { date, command, mode: QUICK ? "quick" : "full", profiled: PROFILE, machine: { ...info, load_average_at_start: loadavg() }, runtime: {}, scenarios: {}, state_dir: KEEP_STATE ? tmp : null };
	try {
		log(`starting ${[...RUN_SYSTEMS, ...extraSystems].map((s) => s.name).join(", ")}${wantProbe ? ", floor-probe" : ""} on workerd (fresh state under ${tmp})...`);
		if (!WITH_ASSETS && !option("stockgate-config")) log("stockgate runs without its [assets] table (wrangler.bench.toml): the pages' local router is not the Worker's CPU in production; --with-assets includes it");
		host = forkHost("workers");
		const starting = RUN_SYSTEMS.map((s) => startSystem(host, s, tmp, envFile, s.name === "stockgate" ? undefined : compat));
		const extraStarting = extraSystems.map((s) => startSystem(host, s, tmp, s.envFile));
		const probeStarting = wantProbe
			? startSystem(host, PROBE, tmp, envFile, compat).catch((err) => {
					log(`  floor-probe did not start: ${String(err.message).split("\n")[0]} (primitives will be n/a)`);
					return null;
				})
			: Promise.resolve(null);
		systems = await Promise.all(starting);
		extra = await Promise.all(extraStarting);
		probe = await probeStarting;
		const pids = await host.call("pids");
		otherWorkerd = pids.others;
		const runtimes = Object.values(pids.runtime).filter(Boolean);
		setRuntimes(runtimes);
		for (const s of [...systems, ...extra, ...(probe ? [probe] : [])]) {
			s.pids.runtime = pids.runtime[s.name] ?? null;
			log(`  ${s.name.padEnd(16)} ${s.url} (runtime pid ${s.pids.runtime ?? "?"}, started in ${(s.startup_ms / 1000).toFixed(1)} s)`);
		}

		const admin = await mintToken(secret, { sub: "bench-admin", admin: true, expiresIn: "2h" });
		const ctx = { secret, admin, webhookSecret };
		const builders = {
			"last-units": () => lastUnits(SIZE.lastUnits),
			"flash-sale": () => flashSale(SIZE.flashSale),
			catalog: () => catalog(SIZE.catalog),
			"fan-out": () => fanOut(SIZE.fanOut),
			floor: () => floor(SIZE.floor),
			reads: () => reads(SIZE.reads),
			stampede: () => stampede(SIZE.stampede, "b"),
			shards: () => ({ ...catalog(SIZE.catalog), name: "shards" }),
		};
		for (const name of SELECTED) {
			const sc = builders[name]();
			if (QUICK && !QUICK_ALWAYS.includes(name) && performance.now() - runStarted > QUICK_BUDGET_MS) {
				report.scenarios[name] = { description: sc.description, skipped: "the --quick time budget was used up" };
				log(`\n${name}: skipped (quick-mode time budget)`);
				continue;
			}
			log(`\n${name}: ${sc.description} (load average ${loadavg().map((v) => v.toFixed(1)).join(" ")})`);
			if (name === "stampede") {
				// stockgate's own instances, the baseline, and with --self-test the unguarded baseline.
				const against = [...extra.filter((s) => !s.shards), ...systems.filter((s) => s.name === "baseline" || (SELF_TEST && s.name === NOLOCK.name))];
				const { passes, summary, sharded } = await stampedeScenario(SIZE.stampede, against, [...systems, ...extra], ctx);
				report.scenarios[name] = { description: sc.description, passes, summary, sharded };
				if (sharded) {
					log(
						`  hot unit, busiest object's requests per order: ${sharded.sharded.busiest_requests_per_order} at S=${sharded.sharded.shards} against ${sharded.s1.busiest_requests_per_order} at S=1 (x${sharded.busiest_requests_per_order_ratio}; busiest shard x${sharded.busiest_seller_requests_per_order_ratio}); grants ${sharded.sharded.grants_per_s_buying}/s while buying; false 409s ${sharded.sharded.false_409}; units sold ${sharded.sharded.units_sold} of ${sharded.sharded.units_in_stock}`,
					);
				}
				const nolock = summary[NOLOCK.name];
				if (nolock) log(`  self-test: the unguarded baseline ${nolock.oversold > 0 ? `was caught: oversold ${nolock.oversold}` : "oversold nothing this time (a race is not guaranteed)"}`);
				for (const [label, r] of Object.entries(summary)) {
					if (label.startsWith("stockgate") && (r.oversold > 0 || r["5xx"] > 0 || r.lost_sales_after_window > 0 || r.false_409 > 0 || !r.units_sold_equals_stock)) exitCode = 1;
				}
			} else if (name === "shards") {
				const at = extra.filter((s) => s.shards);
				const { results, share } = await shardsScenario(sc, at, [...systems, ...extra], ctx);
				report.scenarios[name] = { description: `${sc.description}; stockgate at N = 1 and N = 4`, concurrency: sc.concurrency, results, share };
				for (const r of Object.values(results)) if (r.oversold > 0 || r["5xx"] > 0) exitCode = 1;
			} else if (name === "reads") {
				const results = await readsScenario(sc, systems, ctx);
				report.scenarios[name] = { description: sc.description, concurrency: sc.concurrency, results };
				if (results.stockgate["5xx"] > 0) exitCode = 1;
			} else if (name === "floor") {
				const { results, primitives } = await floorScenario(sc, systems, probe, ctx);
				report.scenarios[name] = { description: sc.description, load_average_before: loadavg(), results, primitives };
			} else {
				const results = await contentionScenario(sc, systems, ctx);
				report.scenarios[name] = { description: sc.description, concurrency: sc.concurrency, results, ratios: ratios(results) };
				if (results["baseline-nolock"]) {
					const caught = results["baseline-nolock"].oversold + results["baseline-nolock"].stock_drift;
					log(`  self-test: the unguarded baseline ${caught > 0 ? `was caught: oversold ${results["baseline-nolock"].oversold}, stock drift ${results["baseline-nolock"].stock_drift}` : "oversold nothing this time (a race is not guaranteed)"}`);
				}
				const sg = results.stockgate;
				if (sg && (sg.oversold > 0 || sg["5xx"] > 0)) exitCode = 1;
			}
		}

		for (const s of [...systems, ...extra, ...(probe ? [probe] : [])]) {
			report.runtime[s.name] = {
				url: s.url,
				startup_ms: s.startup_ms,
				runtime_pid: s.pids.runtime,
				runtime_memory: memoryOf(s.pids.runtime),
			};
		}
		report.wrangler_proxies = otherWorkerd.map((pid) => ({ pid, ...memoryOf(pid) }));
	} catch (err) {
		console.error(`\nbenchmark failed: ${err.stack ?? err}`);
		exitCode = 2;
		report.error = String(err.message ?? err);
	} finally {
		for (const s of [...systems, ...extra]) s.agent?.destroy();
		probe?.agent?.destroy();
		await host?.stop().catch(() => {});
		cleanup();
	}

	report.targets = targets(report.scenarios);
	report.total_s = Math.round((performance.now() - runStarted) / 100) / 10;
	report.exit_code = exitCode;
	mkdirSync(join(OUT, ".."), { recursive: true });
	writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);

	log(`\n## Results (${report.mode}, ${date})\n`);
	log(`Command: \`${command}\`  `);
	log(`Machine: ${info.cores} cores, ${info.cpu_model}, ${info.memory_gib} GiB RAM, ${info.os}  `);
	log(`Versions: node ${info.versions.node}, wrangler ${info.versions.wrangler}, miniflare ${info.versions.miniflare}, workerd ${info.versions.workerd}, stockgate ${info.versions.stockgate ?? "n/a"}  `);
	const mem = Object.entries(report.runtime).map(([name, r]) => `${name} ${r.runtime_memory.peak_rss_mib ?? "n/a"} MiB`);
	if (mem.length) {
		const proxies = (report.wrangler_proxies ?? []).map((p) => p.peak_rss_mib).join(" / ");
		log(`Peak RSS of each runtime workerd process: ${mem.join(", ")} (wrangler's idle dev-proxy workerd processes: ${proxies || "n/a"} MiB)\n`);
	}
	for (const [name, entry] of Object.entries(report.scenarios)) log(renderScenario(name, entry));
	if (report.targets.length) {
		log("Targets (informational: they never decide the exit code)\n");
		log(table([{ key: "target", title: "target", align: "left" }, { key: "measured", title: "measured", align: "left" }, { key: "met", title: "met", align: "left" }], report.targets));
		log("");
	}
	log(`Total ${report.total_s} s. Results: ${relative(process.cwd(), OUT)}`);
	if (exitCode === 1) log("FAIL: stockgate oversold, answered 5xx, lost a sale after the payment window, answered a false 409 or left units unsold (see above).");
	return exitCode;
}

main().then(
	(code) => process.exit(code),
	(err) => {
		console.error(err);
		killHosts();
		process.exit(2);
	},
);
