// The two outside tools of the contract check, run as their own processes:
// Redocly's Respect (the Arazzo workflows) and Stoplight Prism's validation proxy.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../devvars.mjs";
import { freePort } from "../ports.mjs";

const bin = (name) => join(root, "node_modules", ".bin", name);
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };

/** Runs `redocly respect` on `arazzo` (its openapi.json beside it) and reads its JSON report. */
export async function runRespect(arazzo, inputs, jsonOut) {
	const args = ["respect", arazzo, "-J", jsonOut, ...Object.entries(inputs).flatMap(([k, v]) => ["--input", `${k}=${v}`])];
	const child = spawn(process.execPath, [bin("redocly"), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
	let output = "";
	child.stdout.on("data", (c) => (output += c));
	child.stderr.on("data", (c) => (output += c));
	const code = await new Promise((resolve) => child.on("exit", resolve));
	let report;
	try {
		report = JSON.parse(readFileSync(jsonOut, "utf8"));
	} catch {
		throw new Error(`redocly respect wrote no report (exit ${code}):\n${output.slice(-4000)}`);
	}
	const steps = [];
	for (const file of Object.values(report.files ?? {})) {
		for (const w of file.executedWorkflows ?? []) {
			for (const s of w.executedSteps ?? []) {
				const failed = (s.checks ?? []).filter((c) => !c.passed);
				steps.push({
					step: s.stepId,
					operation: s.operationId ?? s.request?.url,
					status: s.response?.statusCode,
					checks: (s.checks ?? []).length,
					failed: failed.map((c) => `${c.name}: ${String(c.message ?? "").slice(0, 300)}`),
				});
			}
		}
	}
	return { code, steps, output };
}

/** `prism proxy --errors <doc> <upstream>` on a free 127.0.0.1 port; answers once it listens. */
export async function startPrism(doc, upstream) {
	const port = await freePort();
	const child = spawn(process.execPath, [bin("prism"), "proxy", "--errors", "--host", "127.0.0.1", "--port", String(port), doc, upstream], { env, stdio: ["ignore", "pipe", "pipe"] });
	let output = "";
	child.stdout.on("data", (c) => (output = (output + c).slice(-20_000)));
	child.stderr.on("data", (c) => (output = (output + c).slice(-20_000)));
	const url = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 60_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`prism exited (${child.exitCode}):\n${output}`);
		if (/Prism is listening/.test(output)) break;
		if (Date.now() > deadline) {
			child.kill("SIGTERM");
			throw new Error(`prism did not start within 60 s:\n${output}`);
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	return {
		url,
		output: () => output,
		async stop() {
			if (child.exitCode !== null) return;
			const exited = new Promise((r) => child.once("exit", r));
			child.kill("SIGTERM");
			const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
			await exited;
			clearTimeout(timer);
		},
	};
}
