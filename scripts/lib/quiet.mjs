// Runs a tool with its output captured: a newcomer sees one line per step,
// and the tool's own output only when the step fails.
import { spawnSync } from "node:child_process";

/** Runs `node <args>` to completion; its stdout and stderr come back as one string. */
export function runCaptured(args, { cwd, env }) {
	const run = spawnSync(process.execPath, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
	return { ok: run.status === 0, status: run.status ?? 1, output: `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? String(run.error) : ""}` };
}

/** Prints a failed step's captured output under a one-line reason, and exits with its status. */
export function failWith(reason, run) {
	console.error(`${reason}\n\n${run.output.trim()}\n`);
	process.exit(run.status || 1);
}
