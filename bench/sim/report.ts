/**
 * What a run measured: throughput over time, each store's load at peak,
 * latency per step, the correctness counts the claim needs, and the claim's
 * verdict. Pure over a finished Sim.
 */
import type { SimConfig } from "./config";
import { type Counters, type Sim, type Steps } from "./model";
import type { EscrowOp } from "./costs";
import { CLAIM } from "./limits";
import { HOT } from "./world";

export interface StoreRow {
	name: string;
	kind: string;
	/** Over the measured window: mean requests/s, the busiest 5 s (requests/s), the busiest second. */
	meanRps: number;
	peak5Rps: number;
	peakRps: number;
	/** Busy share of time (an object's busy time, not its soft-limit slot). */
	meanUtil: number;
	peak5Util: number;
	peakQueue: number;
	overloaded: number;
}

export interface Result {
	config: Pick<SimConfig, "N" | "S" | "warehousesPerSite" | "peakPerS" | "hotShare" | "viewsPerOrder" | "pagesOffD1" | "d1Multiplier" | "rttD1Ms" | "rttObjectMs" | "isolates" | "seed">;
	/** The measured window (s): the held phase of the curve, or the whole buying pass. */
	window: [number, number];
	throughput: Array<{ s: number; arrived: number; placed: number; refused: number; unavailable: number; grants: number }>;
	/** Placed orders/s over the measured window. */
	placedPerS: number;
	stores: StoreRow[];
	latency: Record<Steps, { n: number; p50: number; p99: number }>;
	counters: Counters;
	oversold: number;
	stockDrift: number;
	falseRefused: number;
	/** The first false refusals (time, when the request began, what it asked). */
	falseSamples: Array<{ atMs: number; startMs: number; hot: boolean; retry: boolean; demand: string }>;
	lostAfterWindow: number;
	unsoldHot: number;
	grantsPerS: { mean: number; peak: number };
	soldOutAtS: number | null;
	holdsPerCommit: number;
	buyingWallS: number | null;
	/** The run stopped at the end of this second, at its first breach of the claim; null when it ran to its end. */
	stoppedAtS: number | null;
	viewsWallS: number | null;
	events: number;
	/** The store with the highest load in the window, per second: an object's requests/s over 500, a database's or queue's busy share. */
	busiest: { name: string; kind: string; load: number[] };
	/** The escrow operations' busy ms (at objectMultiplier) and where each came from. */
	escrowCosts: Record<EscrowOp, { ms: number; from: string }>;
	claim: { ok: boolean; failures: string[] };
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

function pct(sorted: Float64Array, p: number): number {
	if (sorted.length === 0) return 0;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export { CLAIM } from "./limits";

export function resultOf(sim: Sim): Result {
	const c = sim.cfg;
	// Open: the curve's held phase (cut short: up to the stop, from 0 when it stopped before the hold).
	const stop = sim.stoppedAtS ?? Number.POSITIVE_INFINITY;
	const window: [number, number] =
		c.driver === "open"
			? [stop <= c.rampS ? 0 : c.rampS, Math.min(c.rampS + c.holdS, stop)]
			: [0, Math.max(1, Math.ceil((sim.buyingDoneMs || sim.q.now) / 1000))];
	const [from, to] = window;
	const secs = to - from;
	const stores: StoreRow[] = sim.stores.map((s) => {
		const b = s.buckets;
		let req = 0;
		let busy = 0;
		let peakRps = 0;
		let peakQueue = 0;
		let peak5Rps = 0;
		let peak5Util = 0;
		for (let i = from; i < to; i++) {
			req += b.requests[i] ?? 0;
			busy += b.busyMs[i] ?? 0;
			peakRps = Math.max(peakRps, b.requests[i] ?? 0);
			peakQueue = Math.max(peakQueue, b.maxQueue[i] ?? 0);
			if (i + 5 <= to) {
				let r5 = 0;
				let u5 = 0;
				for (let j = i; j < i + 5; j++) {
					r5 += b.requests[j] ?? 0;
					u5 += b.busyMs[j] ?? 0;
				}
				peak5Rps = Math.max(peak5Rps, r5 / 5);
				peak5Util = Math.max(peak5Util, u5 / 5000);
			}
		}
		if (secs < 5) {
			peak5Rps = req / secs;
			peak5Util = busy / (secs * 1000);
		}
		return {
			name: s.name,
			kind: s.kind,
			meanRps: round(req / secs, 1),
			peak5Rps: round(peak5Rps, 1),
			peakRps,
			meanUtil: round(busy / (secs * 1000), 3),
			peak5Util: round(peak5Util, 3),
			peakQueue,
			overloaded: s.overloaded,
		};
	});
	const latency = {} as Result["latency"];
	for (const [step, xs] of Object.entries(sim.lat) as Array<[Steps, number[]]>) {
		const a = Float64Array.from(xs).sort();
		latency[step] = { n: a.length, p50: round(pct(a, 50), 1), p99: round(pct(a, 99), 1) };
	}
	// Oversold: units in live orders beyond what was loaded, per unit; drift: loaded - free - live units.
	const live = sim.live;
	let oversold = 0;
	let drift = 0;
	for (const [unit, book] of sim.books) {
		const sold = live.get(unit) ?? 0;
		oversold += Math.max(0, sold - book.loaded);
		drift += Math.abs(book.loaded - book.free - sold - heldUndecided(sim, unit));
	}
	const hot = sim.books.get(HOT)!;
	const unsoldHot = hot.free;
	const throughput: Result["throughput"] = [];
	const ps = sim.perSecond;
	const last = Math.max(ps.arrived.length, ps.placed.length, ps.refused.length);
	for (let i = 0; i < last; i++) {
		throughput.push({ s: i, arrived: ps.arrived[i] ?? 0, placed: ps.placed[i] ?? 0, refused: ps.refused[i] ?? 0, unavailable: ps.unavailable[i] ?? 0, grants: ps.grants[i] ?? 0 });
	}
	let placedIn = 0;
	let grants = 0;
	let peakGrants = 0;
	for (let i = from; i < to; i++) {
		placedIn += ps.placed[i] ?? 0;
		grants += ps.grants[i] ?? 0;
		peakGrants = Math.max(peakGrants, ps.grants[i] ?? 0);
	}
	const r: Result = {
		config: {
			N: c.N, S: c.S, warehousesPerSite: c.warehousesPerSite, peakPerS: c.peakPerS, hotShare: c.hotShare, viewsPerOrder: c.viewsPerOrder, pagesOffD1: c.pagesOffD1,
			d1Multiplier: c.d1Multiplier, rttD1Ms: c.rttD1Ms, rttObjectMs: c.rttObjectMs, isolates: c.isolates, seed: c.seed,
		},
		window,
		throughput,
		placedPerS: round(placedIn / secs, 1),
		stores,
		latency,
		counters: sim.c,
		oversold,
		stockDrift: drift,
		falseRefused: sim.c.falseRefused,
		falseSamples: sim.falseSamples,
		lostAfterWindow: Math.min(sim.c.retryRefusedUnits, unsoldHot),
		unsoldHot,
		grantsPerS: { mean: round(grants / secs, 1), peak: peakGrants },
		soldOutAtS: hot.firstZeroAt === null ? null : round(hot.firstZeroAt / 1000, 2),
		holdsPerCommit: sim.c.commitCalls > 0 ? round(sim.c.commitHolds / sim.c.commitCalls, 2) : 0,
		buyingWallS: sim.buyingDoneMs ? round(sim.buyingDoneMs / 1000, 3) : null,
		stoppedAtS: sim.stoppedAtS,
		viewsWallS: sim.viewsDoneMs ? round(sim.viewsDoneMs / 1000, 3) : null,
		events: sim.q.count,
		busiest: busiestOf(sim, window),
		escrowCosts: {
			grant: { ms: sim.costs.grant, from: sim.costs.escrowSources.grant },
			giveBack: { ms: sim.costs.giveBack, from: sim.costs.escrowSources.giveBack },
			ask: { ms: sim.costs.ask, from: sim.costs.escrowSources.ask },
		},
		claim: { ok: false, failures: [] },
	};
	r.claim = judgeClaim(r);
	return r;
}

function busiestOf(sim: Sim, [from, to]: [number, number]): Result["busiest"] {
	let best: Result["busiest"] = { name: "none", kind: "none", load: [] };
	let bestPeak = -1;
	for (const s of sim.stores) {
		if (s.kind === "worker") continue;
		const b = s.buckets;
		const n = Math.max(b.requests.length, b.busyMs.length);
		const load = Array.from({ length: n }, (_, i) => round(s.kind === "object" ? (b.requests[i] ?? 0) / CLAIM.objectRps : (b.busyMs[i] ?? 0) / 1000, 3));
		const peak = Math.max(0, ...load.slice(from, to));
		if (peak > bestPeak) {
			bestPeak = peak;
			best = { name: s.name, kind: s.kind, load };
		}
	}
	return best;
}

/** Units held for orders never decided (a race lost, a failure): neither free nor sold. */
function heldUndecided(sim: Sim, unit: string): number {
	let n = 0;
	for (const o of [...sim.objs.flat(), ...sim.shards]) for (const h of o.held) if (!h.order.state) for (const l of h.lines) if (l.product_id === unit) n += l.quantity;
	return n;
}

/** The claim: every object under 500 requests/s and every database and queue under 60% busy (busiest 5 s), nothing oversold, no false 409, no lost sale after the window, no "overloaded", p99 of the 201 under 1 s. */
export function judgeClaim(r: Result): { ok: boolean; failures: string[] } {
	const f: string[] = [];
	if (r.stoppedAtS !== null) f.push(`stopped at ${r.stoppedAtS} s, its first breach`);
	for (const s of r.stores) {
		if (s.kind === "object" && s.peak5Rps >= CLAIM.objectRps) f.push(`${s.name}: ${s.peak5Rps} requests/s >= ${CLAIM.objectRps}`);
		if (s.kind === "d1" && s.peak5Util >= CLAIM.d1Util) f.push(`${s.name}: ${Math.round(s.peak5Util * 100)}% busy >= ${CLAIM.d1Util * 100}%`);
		if (s.kind === "queue" && s.peak5Util >= CLAIM.queueUtil) f.push(`${s.name}: ${Math.round(s.peak5Util * 100)}% of its published rate`);
	}
	if (r.oversold > 0) f.push(`oversold ${r.oversold}`);
	// Cut short, units may be on their way between objects: drift is judged only on a run that ended.
	if (r.stockDrift > 0 && r.stoppedAtS === null) f.push(`stock drift ${r.stockDrift}`);
	if (r.falseRefused > 0) f.push(`false 409 ${r.falseRefused}`);
	if (r.lostAfterWindow > 0) f.push(`lost sales after the window ${r.lostAfterWindow}`);
	if (r.counters.overloadedAnswers > 0) f.push(`"overloaded" answers ${r.counters.overloadedAnswers}`);
	if (r.latency.placed.p99 >= CLAIM.p99PlacedMs) f.push(`p99 of the 201 ${r.latency.placed.p99} ms`);
	return { ok: f.length === 0, failures: f };
}

function pad(s: string | number, n: number, left = false): string {
	const v = String(s);
	return left ? v.padEnd(n) : v.padStart(n);
}

/** The tables a run prints. */
export function render(r: Result): string {
	const out: string[] = [];
	const c = r.config;
	out.push(
		`N=${c.N} S=${c.S} per site=${c.warehousesPerSite}  peak ${c.peakPerS} orders/s, hot ${c.hotShare * 100}%, ${c.viewsPerOrder} views/order (pages ${c.pagesOffD1 ? "off" : "on"} D1), D1 x${c.d1Multiplier}, round trips D1 ${c.rttD1Ms} ms / object ${c.rttObjectMs} ms, ${c.isolates} isolates, seed ${c.seed}`,
	);
	out.push(`window ${r.window[0]}-${r.window[1]} s: ${r.placedPerS} placed/s; ${r.events} events`);
	const e = r.escrowCosts;
	if (c.S > 1) out.push(`escrow busy ms: grant ${e.grant.ms} from ${e.grant.from}; give-back ${e.giveBack.ms} from ${e.giveBack.from}; ask ${e.ask.ms} from ${e.ask.from}`);
	out.push("");
	const busiest = [...r.stores].sort((a, b) => b.peak5Util - a.peak5Util || b.peak5Rps - a.peak5Rps);
	const shown = busiest.filter((s, i) => i < 12 || s.overloaded > 0).slice(0, 20);
	out.push(`${pad("store", 12, true)} ${pad("kind", 6, true)} ${pad("req/s", 8)} ${pad("peak 5s", 8)} ${pad("peak 1s", 8)} ${pad("busy", 6)} ${pad("peak 5s", 8)} ${pad("queue", 6)} ${pad("overl.", 7)}`);
	for (const s of shown) {
		out.push(
			`${pad(s.name, 12, true)} ${pad(s.kind, 6, true)} ${pad(s.meanRps, 8)} ${pad(s.peak5Rps, 8)} ${pad(s.peakRps, 8)} ${pad(`${Math.round(s.meanUtil * 100)}%`, 6)} ${pad(`${Math.round(s.peak5Util * 100)}%`, 8)} ${pad(s.peakQueue, 6)} ${pad(s.overloaded, 7)}`,
		);
	}
	if (r.stores.length > shown.length) out.push(`(${r.stores.length - shown.length} quieter stores not shown)`);
	out.push("");
	out.push(`${pad("step", 10, true)} ${pad("n", 8)} ${pad("p50 ms", 8)} ${pad("p99 ms", 8)}`);
	for (const [step, v] of Object.entries(r.latency)) if (v.n > 0) out.push(`${pad(step, 10, true)} ${pad(v.n, 8)} ${pad(v.p50, 8)} ${pad(v.p99, 8)}`);
	out.push("");
	const k = r.counters;
	out.push(
		`placed ${k.placed} (retries ${k.retryPlaced} of ${k.retries}), 409 ${k.refused} (true ${k.trueRefused}, false ${k.falseRefused}), 5xx ${k.unavailable} (overloaded ${k.overloadedAnswers})`,
	);
	out.push(
		`oversold ${r.oversold}, stock drift ${r.stockDrift}, lost after window ${r.lostAfterWindow} (unsold ${r.unsoldHot}), sold out at ${r.soldOutAtS ?? "never"} s, grants/s mean ${r.grantsPerS.mean} peak ${r.grantsPerS.peak}`,
	);
	out.push(
		`paid ${k.paid}, cancelled by the window ${k.cancelledByWindow} (units back ${k.unitsRecovered}), commits left to the reconciler ${k.commitsLeft} (replayed ${k.commitsReplayed}, by alarm ${k.alarmCommits}), holds per commitMany ${r.holdsPerCommit}`,
	);
	out.push(`claim: ${r.claim.ok ? "holds" : `fails (${r.claim.failures.slice(0, 6).join("; ")}${r.claim.failures.length > 6 ? "; ..." : ""})`}`);
	return out.join("\n");
}
