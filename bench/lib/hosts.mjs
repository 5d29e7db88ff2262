// The parent side of bench/lib/host.mjs: forks one host process per Worker and
// talks to it over IPC. Every child is ours, tracked by pid, and stopped by pid.
import { fork } from "node:child_process";
import { join } from "node:path";

const HOST = join(import.meta.dirname, "host.mjs");
const live = new Set();

export function forkHost(name) {
	const child = fork(HOST, [], {
		execPath: process.execPath,
		env: {
			...process.env,
			CLOUDFLARE_CF_FETCH_ENABLED: "false",
			WRANGLER_SEND_METRICS: "false",
			WRANGLER_LOG: process.env.WRANGLER_LOG ?? "error",
			// wrangler's local dev dashboard: a trace collector attached to every Worker
			// (measured here at ~2 ms of runtime CPU and ~5 ms of latency per request)
			// and a wrapper around every SQLite Durable Object class. Dev tooling, not part
			// of either system: off unless the caller turns it on.
			X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
			X_LOCAL_EXPLORER: process.env.X_LOCAL_EXPLORER ?? "false",
		},
		stdio: ["ignore", "pipe", "pipe", "ipc"],
	});
	live.add(child);
	let output = "";
	const keep = (chunk) => {
		output = (output + chunk.toString()).slice(-8000);
	};
	child.stdout.on("data", keep);
	child.stderr.on("data", keep);
	const pending = new Map();
	let seq = 0;
	child.on("message", (msg) => {
		const p = pending.get(msg.id);
		if (!p) return;
		pending.delete(msg.id);
		clearTimeout(p.timer);
		if (msg.ok) p.resolve(msg.result);
		else p.reject(new Error(`${name}: ${msg.error}`));
	});
	child.on("exit", (code) => {
		live.delete(child);
		for (const p of pending.values()) {
			clearTimeout(p.timer);
			p.reject(new Error(`${name}: host process exited (code ${code}) before answering.\n${output}`));
		}
		pending.clear();
	});
	return {
		name,
		pid: child.pid,
		output: () => output,
		call(cmd, payload = {}, timeoutMs = 120_000) {
			return new Promise((resolve, reject) => {
				const id = ++seq;
				const timer = setTimeout(() => {
					pending.delete(id);
					reject(new Error(`${name}: '${cmd}' got no answer within ${timeoutMs} ms.\n${output}`));
				}, timeoutMs);
				pending.set(id, { resolve, reject, timer });
				child.send({ id, cmd, ...payload });
			});
		},
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise((r) => child.once("exit", r));
			try {
				await this.call("stop", {}, 20_000);
			} catch {
				/* fall through to the kill below */
			}
			const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
			await exited;
			clearTimeout(timer);
		},
	};
}

/** Last resort on interruption: every host we forked, by its pid. */
export function killHosts() {
	for (const child of live) {
		try {
			child.kill("SIGTERM");
		} catch {
			/* already gone */
		}
	}
}
