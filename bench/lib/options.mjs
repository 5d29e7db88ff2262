// The bench's command line, parsed once: what to run, at which size, where to
// write, and the systems under test. Every other bench module reads it from here.
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { root } from "./proc.mjs";
import { SIZES } from "./scenarios.mjs";

export const args = process.argv.slice(2);
export const QUICK = args.includes("--quick");
export const KEEP_STATE = args.includes("--keep-state");
export const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
export const ALL_SCENARIOS = ["last-units", "flash-sale", "catalog", "fan-out", "floor", "reads", "stampede"];
/** --quick leaves stampede out unless asked for by name: its two extra runtimes and payment windows do not fit the minute. */
const DEFAULT_SCENARIOS = QUICK ? ALL_SCENARIOS.filter((s) => s !== "stampede") : ALL_SCENARIOS;
export const SELECTED = (option("scenarios") ?? DEFAULT_SCENARIOS.join(",")).split(",").filter(Boolean);
for (const s of SELECTED) {
	if (!ALL_SCENARIOS.includes(s)) {
		console.error(`unknown scenario ${s}; known: ${ALL_SCENARIOS.join(", ")}`);
		process.exit(2);
	}
}
export const OUT = option("out") ?? join(root, "bench", "results", "latest.json");
export const SIZE = QUICK ? SIZES.quick : SIZES.full;
/** --quick must end within a minute: scenarios that would start after this are skipped (never a failure). */
export const QUICK_BUDGET_MS = 40_000;
export const SETUP_CONCURRENCY = 16;

export const runStarted = performance.now();
export const log = (...parts) => console.log(...parts);
export const elapsed = () => `${((performance.now() - runStarted) / 1000).toFixed(1)}s`;

// ---- systems ---------------------------------------------------------------------------------

export const SYSTEMS = [
	// --stockgate-config=path: measure another build of stockgate (a second checkout, an instrumented entry) in its place.
	{ name: "stockgate", config: option("stockgate-config") ? resolve(option("stockgate-config")) : join(root, "wrangler.toml"), placePath: "/cart/place-order", limits: true },
	{ name: "baseline", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order" },
	{ name: "baseline+retry3", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order?retries=3" },
];
/**
 * --self-test adds the baseline with its compare-and-set guard removed (a lost
 * update on purpose) to last-units and flash-sale, to show that the oversell
 * check catches an oversell; its rows never affect the exit code.
 */
export const SELF_TEST = args.includes("--self-test");
/** --profile: CPU profiles of stockgate and the baseline during each contention scenario's load (timings are then perturbed). */
export const PROFILE = args.includes("--profile");
export const NOLOCK = { name: "baseline-nolock", config: join(root, "bench", "baseline", "wrangler.toml"), placePath: "/cart/place-order?lock=off", selfTest: true };
/** --quick (CI smoke) runs stockgate and the plain baseline only: the retry variant adds a third runtime to start and load. */
/** --systems=a,b keeps only these of SYSTEMS (stockgate always runs: every ratio is against it). */
export const WANTED = option("systems")?.split(",").filter(Boolean);
for (const w of WANTED ?? []) {
	if (!SYSTEMS.some((s) => s.name === w)) {
		console.error(`unknown system ${w}; known: ${SYSTEMS.map((s) => s.name).join(", ")}`);
		process.exit(2);
	}
}
export const CHOSEN = SYSTEMS.filter((s) => s.name === "stockgate" || (WANTED ? WANTED.includes(s.name) : !(QUICK && s.name === "baseline+retry3")));
export const RUN_SYSTEMS = [...CHOSEN, ...(SELF_TEST ? [NOLOCK] : [])];
/**
 * stampede runs on stockgate instances of its own: a short payment window (the
 * reconciler would otherwise cancel every earlier scenario's unpaid orders too),
 * once as configured (phase 2 after the answer) and once committing before the
 * answer (COMMIT_AFTER_ANSWER=false), the "before" of write transactions per order.
 * `vars` go to the instance's env file, which overrides wrangler.toml's [vars].
 */
export const STAMPEDE_SYSTEMS = [
	{ ...SYSTEMS[0], name: "stockgate-stampede", label: "stockgate", vars: {} },
	{ ...SYSTEMS[0], name: "stockgate-commit-first", label: "stockgate, commit before answer", vars: { COMMIT_AFTER_ANSWER: "false" }, quietOnly: true },
];
export const PROBE = { name: "floor-probe", config: join(root, "bench", "floor", "wrangler.toml") };
