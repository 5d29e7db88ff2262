// npm run fuzz: the contract check. /openapi.json against the running Worker,
// by tools this project did not write:
//  1. Redocly's Respect runs test/contract/stockgate.arazzo.yaml: every
//     operation with real ids and bodies, each answer's status, content type
//     and schema checked against the document;
//  2. a property-based pass (fast-check draws the cases, json-schema-faker the
//     bodies from the document's own schemas) through Stoplight Prism's
//     validation proxy (`prism proxy --errors`), with an admin and a customer
//     token; the bodies Prism refuses as invalid go straight to the Worker,
//     which must refuse them with a 4xx.
// The Worker is started here (wrangler.toml, its own persist dir, migrations,
// demo data) on an ephemeral 127.0.0.1 port. Prints the figures; exits 1 on any
// failure. Options: --seed=N (default 1), --runs=N cases per operation (default 64).
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./lib/devvars.mjs";
import { startWorker } from "./lib/contract/worker.mjs";
import { knownIds, propertyPass } from "./lib/contract/property.mjs";
import { runRespect, startPrism } from "./lib/contract/tools.mjs";

process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const option = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const seed = option("seed", 1);
const runs = option("runs", 64);
const started = Date.now();
const log = (...parts) => console.log(`[fuzz ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...parts);

log(`starting the Worker (seed ${seed}, ${runs} cases per operation)`);
const worker = await startWorker();
let prism;
let exitCode = 1;
const stop = async () => {
	await prism?.stop().catch(() => {});
	await worker.stop().catch(() => {});
};
process.on("SIGINT", () => stop().finally(() => process.exit(130)));
try {
	const doc = await (await fetch(`${worker.base}/openapi.json`)).json();
	doc.servers = [{ url: worker.base }];
	const docPath = join(worker.tmp, "openapi.json");
	writeFileSync(docPath, JSON.stringify(doc));
	const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
	log(`Worker on ${worker.base}; the document has ${operations} operations`);

	// 1. Respect: the workflows beside a copy of the document they name.
	const arazzo = join(worker.tmp, "stockgate.arazzo.yaml");
	const workflows = join(root, "test", "contract", "stockgate.arazzo.yaml");
	copyFileSync(workflows, arazzo);
	const respect = await runRespect(arazzo, { admin: worker.adminToken, customer: worker.customerToken }, join(worker.tmp, "respect.json"));
	// Every operation of the document must have a step: a route added without one fails the check.
	const respectOps = new Set([...readFileSync(workflows, "utf8").matchAll(/operationId: \$sourceDescriptions\.openapi\.(\w+)/g)].map((m) => m[1]));
	const uncovered = Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId)).filter((id) => !respectOps.has(id));
	const respectFailed = respect.steps.filter((s) => s.failed.length > 0);
	for (const id of uncovered) respectFailed.push({ step: "(none)", status: "-", failed: [`operation ${id} has no step in test/contract/stockgate.arazzo.yaml`] });
	log(`Respect: ${respect.steps.length} steps over ${respectOps.size} operations, ${respect.steps.reduce((n, s) => n + s.checks, 0)} checks, ${respectFailed.length} steps failed`);
	for (const s of respectFailed) log(`  FAIL ${s.step} (${s.status}): ${s.failed.join("; ")}`);
	if (respect.code !== 0 && respectFailed.length === 0) log(`  respect exited ${respect.code}:\n${respect.output.slice(-3000)}`);

	// 2. The property-based pass through Prism.
	prism = await startPrism(docPath, worker.base);
	const ids = await knownIds(worker.base, worker.adminToken);
	const { figures, failures } = await propertyPass({ doc, base: worker.base, prism: prism.url, tokens: { admin: worker.adminToken, customer: worker.customerToken }, ids, seed, runs });
	log(
		`property pass: ${figures.operations} operations, ${figures.cases} cases, ${figures.requests} requests ` +
			`(${figures.through_prism} checked by Prism, ${figures.invalid_sent} invalid bodies straight to the Worker, ${figures.invalid_refused} of them refused with a 4xx; ` +
			`${figures.prism_refused_valid} generated bodies Prism refused, ${figures.mutants_accepted} mutations still valid), failures ${failures.length}`,
	);
	log(`  answers through Prism by status: ${JSON.stringify(figures.by_status)}`);
	log(`  400 VALIDATION_ERROR to requests the document allows, by rule: ${JSON.stringify(figures.refused_by_rule)}`);
	const byKind = {};
	for (const f of failures) {
		const field = f.detail?.details?.[0]?.field ?? f.detail?.mutation ?? f.detail?.status ?? "";
		byKind[`${f.kind} (${field})`] = (byKind[`${f.kind} (${field})`] ?? 0) + 1;
	}
	if (failures.length > 0) log(`  failures by kind: ${JSON.stringify(byKind)}`);
	for (const f of failures.slice(0, 30)) log(`  FAIL ${f.operation}: ${f.kind} ${JSON.stringify(f.detail).slice(0, 600)}`);

	const total = respectFailed.length + failures.length + (respect.code !== 0 && respectFailed.length === 0 ? 1 : 0);
	console.log(
		`Contract check: ${operations} operations (Respect ${respectOps.size}, property pass ${figures.operations}), ` +
			`${respect.steps.length + figures.requests} requests, ${total} failures`,
	);
	exitCode = total === 0 ? 0 : 1;
} catch (err) {
	console.error(`contract check failed to run: ${err?.stack ?? err}`);
} finally {
	await stop();
}
process.exit(exitCode);
