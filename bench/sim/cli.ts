/**
 * npm run sim [-- flags]
 *   (no flag)          the claim's run at the N, S and warehouses per site of claim.json; prints the tables, writes the JSON
 *   --search           finds the smallest N, S and warehouses per site that keep the claim (and for --sensitivity);
 *                      --from=N,S,perSite starts from a point known to hold; --knob=N (or S, warehousesPerSite) lowers only that one
 *   --sensitivity      D1 statements 3x slower, round trips of 50 ms
 *   --calibrate        today's system on this machine against the derived ceilings and the stampede
 *   --plot             the claim's run as docs/img/sim-claim.svg
 *   --stop-at-breach   stop at the end of the first second a store passes its limit (a run expected to fail)
 *   --out=path         the JSON's path (default bench/sim/out/<name>.json)
 *   --<field>=<value>  any numeric or boolean field of SimConfig (config.ts), e.g. --N=4 --S=2 --peakPerS=50000
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { calibrate, renderCalibration } from "./calibrate";
import { claimConfig, sensitivityConfig, type SimConfig } from "./config";
import { Sim } from "./model";
import { plotSvg } from "./plot";
import { render, resultOf, type Result } from "./report";
import { search, type Knob } from "./search";

const root = join(import.meta.dirname, "..", "..");
export const CLAIM_FILE = join(import.meta.dirname, "claim.json");

export interface ClaimFile {
	claim: { N: number; S: number; warehousesPerSite: number };
	sensitivity: { N: number; S: number; warehousesPerSite: number };
}

export function readClaim(): ClaimFile {
	return JSON.parse(readFileSync(CLAIM_FILE, "utf8"));
}

/** `stopAtBreach`: a run that must fail stops at the end of its first second past a limit (see Sim.run). */
export function runSim(cfg: SimConfig, opts: { stopAtBreach?: boolean } = {}): Result {
	const sim = new Sim(cfg);
	sim.run(opts);
	return resultOf(sim);
}

function overrides(argv: string[], base: SimConfig): Partial<SimConfig> {
	const out: Record<string, unknown> = {};
	for (const a of argv) {
		const m = /^--([A-Za-z0-9]+)=(.*)$/.exec(a);
		if (!m || !(m[1]! in base)) continue;
		const [, key, raw] = m as unknown as [string, keyof SimConfig, string];
		const cur = base[key];
		if (typeof cur === "number") {
			const v = Number(raw);
			if (!Number.isFinite(v)) throw new Error(`--${key}: not a number: ${raw}`);
			out[key] = v;
		} else if (typeof cur === "boolean") out[key] = raw === "true" || raw === "1";
		else if (typeof cur === "string" || cur === undefined) out[key] = raw;
		else throw new Error(`--${key}: set it in config.ts`);
	}
	return out as Partial<SimConfig>;
}

function write(path: string, data: unknown): void {
	mkdirSync(dirname(path), { recursive: true });
	writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}

export async function main(argv: string[]): Promise<number> {
	const has = (f: string) => argv.includes(f);
	const outArg = argv.find((a) => a.startsWith("--out="))?.slice(6);
	const outDir = join(root, "bench", "sim", "out");
	if (has("--calibrate")) {
		const cal = calibrate();
		console.log(renderCalibration(cal));
		write(outArg ?? join(outDir, "calibration.json"), cal);
		return cal.every((c) => c.ok) ? 0 : 1;
	}
	const sensitivity = has("--sensitivity");
	const base = sensitivity ? sensitivityConfig() : claimConfig();
	if (has("--search")) {
		const from = argv.find((a) => a.startsWith("--from="))?.slice(7).split(",").map(Number);
		const start = from && from.length === 3 && from.every((v) => Number.isInteger(v) && v > 0) ? { N: from[0]!, S: from[1]!, warehousesPerSite: from[2]! } : undefined;
		const knob = argv.find((a) => a.startsWith("--knob="))?.slice(7) as Knob | undefined;
		const found = search(base, overrides(argv, base), (line) => console.log(line), start, knob ? [knob] : undefined);
		console.log(`smallest: N=${found.N} S=${found.S} per site=${found.warehousesPerSite}`);
		console.log(render(found.result));
		write(outArg ?? join(outDir, `${sensitivity ? "search-sensitivity" : "search"}${knob ? `-${knob}` : ""}.json`), { found: { N: found.N, S: found.S, warehousesPerSite: found.warehousesPerSite }, tried: found.tried, result: found.result });
		return found.result.claim.ok ? 0 : 1;
	}
	const claim = readClaim()[sensitivity ? "sensitivity" : "claim"];
	const cfg = { ...base, ...claim, ...overrides(argv, base) };
	const started = performance.now();
	const r = runSim(cfg, { stopAtBreach: has("--stop-at-breach") });
	console.log(render(r));
	console.log(`(${Math.round(performance.now() - started)} ms)`);
	write(outArg ?? join(outDir, sensitivity ? "sensitivity.json" : "claim.json"), r);
	if (has("--plot")) {
		const svg = plotSvg(r);
		const file = join(root, "docs", "img", "sim-claim.svg");
		mkdirSync(dirname(file), { recursive: true });
		writeFileSync(file, svg);
		console.log(`plot: ${file}`);
	}
	return 0;
}
