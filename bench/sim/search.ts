/**
 * The smallest N (order shards), S (shards of the hot unit) and warehouses per
 * site that keep the claim. The knobs load different stores (N the databases
 * and queues, S the hot unit's objects, warehouses per site the warehouses'
 * objects), so each is predicted from a generous run's load of its stores;
 * the three are raised together while the claim fails (each where its stores
 * fail), then each is lowered (in growing steps, then halving) while the
 * claim still holds.
 */
import type { SimConfig } from "./config";
import { Sim } from "./model";
import { CLAIM, resultOf, type Result } from "./report";

export type Knob = "N" | "S" | "warehousesPerSite";

export interface Found {
	N: number;
	S: number;
	warehousesPerSite: number;
	tried: Array<{ N: number; S: number; warehousesPerSite: number; ok: boolean; failures: string[] }>;
	result: Result;
}

const GENEROUS: Record<Knob, number> = { N: 320, S: 40, warehousesPerSite: 12 };
const KNOBS: Knob[] = ["N", "S", "warehousesPerSite"];

/** Whether a claim failure names a store that knob scales. */
function blames(failures: string, knob: Knob): boolean {
	if (knob === "N") return /orders-|queue-/.test(failures);
	if (knob === "S") return /hot\./.test(failures);
	return /\bw\d/.test(failures);
}

/** The share of a knob's limit its busiest store used (1 = at the limit). */
function pressure(r: Result, knob: Knob): number {
	let p = 0;
	for (const s of r.stores) {
		const isHot = s.name.startsWith("hot.");
		if (knob === "N" && s.kind === "d1" && s.name !== "catalog") p = Math.max(p, s.peak5Util / CLAIM.d1Util);
		if (knob === "N" && s.kind === "queue") p = Math.max(p, s.peak5Util / CLAIM.queueUtil);
		if (knob === "S" && s.kind === "object" && isHot) p = Math.max(p, s.peak5Rps / CLAIM.objectRps);
		if (knob === "warehousesPerSite" && s.kind === "object" && !isHot) p = Math.max(p, s.peak5Rps / CLAIM.objectRps);
	}
	return p;
}

/** `from`: a point known to hold, to start stepping down from (skips the generous run and the prediction). */
/** `only`: lower just these knobs (each can be searched in its own process, the others held where `from` puts them). */
export function search(base: SimConfig, over: Partial<SimConfig>, log: (line: string) => void, from?: Record<Knob, number>, only: Knob[] = KNOBS): Found {
	const tried: Found["tried"] = [];
	const cache = new Map<string, Result>();
	const run = (k: Record<Knob, number>): Result => {
		const key = `${k.N}/${k.S}/${k.warehousesPerSite}`;
		const hit = cache.get(key);
		if (hit) return hit;
		const sim = new Sim({ ...base, ...over, ...k });
		// A failing point stops at its first breach: what failed is all the search needs of it.
		sim.run({ stopAtBreach: true });
		const r = resultOf(sim);
		cache.set(key, r);
		tried.push({ ...k, ok: r.claim.ok, failures: r.claim.failures });
		log(`  N=${k.N} S=${k.S} per site=${k.warehousesPerSite}: ${r.claim.ok ? "holds" : `fails: ${r.claim.failures.slice(0, 3).join("; ")}`}`);
		return r;
	};
	const found = { ...(from ?? GENEROUS) };
	if (!from) {
		const first = run(found);
		if (!first.claim.ok) throw new Error(`the claim fails even at N=${found.N} S=${found.S} per site=${found.warehousesPerSite}: ${first.claim.failures.join("; ")}`);
		// A store's load falls about as 1 / its knob: start from the prediction, step up what fails, then down while it holds.
		for (const knob of KNOBS) found[knob] = Math.max(1, Math.ceil(GENEROUS[knob] * pressure(first, knob)));
	}
	let result = run(found);
	while (!result.claim.ok) {
		const f = result.claim.failures.join(" ");
		const up = KNOBS.filter((k) => blames(f, k));
		for (const k of up.length > 0 ? up : KNOBS) found[k]++;
		result = run(found);
	}
	for (const knob of only) {
		// Down in growing steps while it holds, then halve the step back to 1.
		const tryDown = (step: number): boolean => {
			if (found[knob] - step < 1) return false;
			const smaller = run({ ...found, [knob]: found[knob] - step });
			if (!smaller.claim.ok) return false;
			found[knob] -= step;
			result = smaller;
			return true;
		};
		let step = 1;
		while (tryDown(step)) step *= 2;
		while (step > 1) {
			step /= 2;
			tryDown(step);
		}
		log(`${knob}: ${found[knob]}`);
	}
	return { ...found, tried, result };
}
