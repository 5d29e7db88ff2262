// The measured part: waiting for idle runtimes, one timed load of place-order
// with the CPU of every process involved, and sequential latency probes.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { agentFor, runLoad } from "./load.mjs";
import { OUT, QUICK, SIZE } from "./options.mjs";
import { cpuSecondsOf, machineBusySeconds, memoryOf, root } from "./proc.mjs";
import { startProfile, summarize } from "./profile.mjs";
import { latencySummary } from "./stats.mjs";


/**
 * Waits until every runtime is idle (under 10% of a core for 0.5 s), at most 60 s
 * (5 s with --quick): work a Worker deferred (queue consumers, waitUntil, alarms)
 * must not run during the next load. Answers how long it waited, in ms.
 */
export async function settle(systems) {
	const started = performance.now();
	const deadline = started + (QUICK ? 5_000 : 60_000);
	const cpu = () => systems.reduce((s, x) => s + (cpuSecondsOf(x.pids.runtime) ?? 0), 0);
	let before = cpu();
	while (performance.now() < deadline) {
		await new Promise((r) => setTimeout(r, 500));
		const now = cpu();
		if (now - before < 0.05) break;
		before = now;
	}
	return Math.round(performance.now() - started);
}

/** Every runtime, so a load can tell its own CPU from everything else's. Set by the runner. */
let ALL_RUNTIMES = [];
export function setRuntimes(pids) {
	ALL_RUNTIMES = pids;
}

export async function placeOrders(sys, buyers, tokens, concurrency, profileName) {
	const profiler = profileName && sys.inspector_url ? await startProfile(sys.inspector_url) : null;
	const requests = buyers.map((b) => ({ method: "POST", path: sys.placePath, token: tokens.get(b.sub), body: { delivery_mode: "standard" } }));
	const cpu0 = cpuSecondsOf(sys.pids.runtime);
	const host0 = cpuSecondsOf(sys.pids.host);
	const others0 = ALL_RUNTIMES.filter((p) => p !== sys.pids.runtime).reduce((s, p) => s + (cpuSecondsOf(p) ?? 0), 0);
	const machine0 = machineBusySeconds();
	const own0 = process.cpuUsage();
	const load = await runLoad(sys.url, requests, {
		concurrency,
		timeLimitMs: SIZE.loadTimeLimitMs,
		keep: (res) => ({ status: res.status, ms: res.ms, code: res.body?.code ?? null, attempts: Number(res.headers?.["x-attempts"] ?? 1) }),
	});
	const cpu1 = cpuSecondsOf(sys.pids.runtime);
	const host1 = cpuSecondsOf(sys.pids.host);
	const others1 = ALL_RUNTIMES.filter((p) => p !== sys.pids.runtime).reduce((s, p) => s + (cpuSecondsOf(p) ?? 0), 0);
	const machine1 = machineBusySeconds();
	const own = process.cpuUsage(own0);
	const diff = (a, b) => (a === null || b === null ? null : Math.round((b - a) * 100) / 100);
	let profile;
	if (profiler) {
		const captured = await profiler.stop();
		const file = join(dirname(OUT), `profile-${profileName}-${sys.name}.cpuprofile`);
		mkdirSync(dirname(file), { recursive: true });
		writeFileSync(file, JSON.stringify(captured.profile));
		profile = { file: relative(root, file), ...summarize(captured) };
	}
	const loadgen = Math.round((own.user + own.system) / 1e4) / 100;
	// Busy CPU on the machine that was none of: this runtime, the host, the load generator (other runtimes included, as they should be idle).
	const outside = machine0 === null || cpu0 === null ? null : Math.round((machine1 - machine0 - (cpu1 - cpu0) - (host1 - host0) - loadgen) * 100) / 100;
	return {
		...load,
		runtime_cpu_s: diff(cpu0, cpu1),
		host_cpu_s: diff(host0, host1),
		loadgen_cpu_s: loadgen,
		other_runtimes_cpu_s: Math.round((others1 - others0) * 100) / 100,
		outside_cpu_s: outside,
		runtime_rss_after: memoryOf(sys.pids.runtime),
		profile,
	};
}

export async function sequential(sys, requests, warmup) {
	const agent = agentFor(1);
	try {
		if (warmup.length) await runLoad(sys.url, warmup, { concurrency: 1, timeLimitMs: SIZE.loadTimeLimitMs, agent });
		const load = await runLoad(sys.url, requests, { concurrency: 1, timeLimitMs: SIZE.loadTimeLimitMs, agent });
		const done = load.results.filter(Boolean);
		const failed = done.filter((r) => r.status >= 400 || r.status === 0);
		return { ...latencySummary(done.map((r) => r.ms)), failed: failed.length, statuses: [...new Set(failed.map((r) => `${r.status} ${r.code ?? ""}`.trim()))] };
	} finally {
		agent.destroy();
	}
}
