// A small HTTP load generator: keep-alive connections from node:http, a fixed
// number of requests in flight, a per-request latency from first byte written
// to last byte read, and two bounds (the request list, and a time limit after
// which nothing new starts). Only ever aimed at 127.0.0.1.
import http from "node:http";
import { performance } from "node:perf_hooks";

const REQUEST_TIMEOUT_MS = 60_000;

export function agentFor(concurrency) {
	return new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
}

function assertLocal(url) {
	if (url.hostname !== "127.0.0.1") throw new Error(`refusing to send load to ${url.host}: only 127.0.0.1 is allowed`);
}

/**
 * One request. `req`: { method, path, token?, body?, headers? }.
 * Resolves { status, ms, body (parsed JSON or null), headers }; status 0 when no answer came.
 */
export function send(base, agent, req) {
	const url = new URL(req.path, base);
	assertLocal(url);
	const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
	const headers = { accept: "application/json", ...(req.headers ?? {}) };
	if (req.token) headers.authorization = `Bearer ${req.token}`;
	if (payload) {
		headers["content-type"] = "application/json";
		headers["content-length"] = String(payload.length);
	}
	return new Promise((resolve) => {
		const t0 = performance.now();
		const r = http.request(url, { method: req.method, headers, agent }, (res) => {
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => {
				const ms = performance.now() - t0;
				let body = null;
				try {
					body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
				} catch {
					/* not JSON */
				}
				resolve({ status: res.statusCode ?? 0, ms, body, headers: res.headers });
			});
			res.on("error", (err) => resolve({ status: 0, ms: performance.now() - t0, body: null, error: String(err) }));
		});
		r.setTimeout(REQUEST_TIMEOUT_MS, () => r.destroy(new Error("timeout")));
		r.on("error", (err) => resolve({ status: 0, ms: performance.now() - t0, body: null, error: String(err) }));
		if (payload) r.write(payload);
		r.end();
	});
}

/**
 * Runs `requests` (an array) against `base` with at most `concurrency` in flight.
 * Stops starting new ones after `timeLimitMs`. `keep(res, req)` picks what to
 * store per result (default: status, ms, code).
 * Resolves { results: [...in request order, undefined when never started], wall_ms, started, timed_out }.
 */
export async function runLoad(base, requests, { concurrency, timeLimitMs, agent, keep } = {}) {
	const ownAgent = agent ? null : agentFor(concurrency);
	const useAgent = agent ?? ownAgent;
	const results = new Array(requests.length);
	const pick = keep ?? ((res) => ({ status: res.status, ms: res.ms, code: res.body?.code ?? null }));
	let next = 0;
	let timedOut = false;
	const t0 = performance.now();
	const deadline = t0 + timeLimitMs;
	async function lane() {
		for (;;) {
			if (next >= requests.length) return;
			if (performance.now() > deadline) {
				timedOut = true;
				return;
			}
			const i = next++;
			const res = await send(base, useAgent, requests[i]);
			results[i] = { ...pick(res, requests[i]), at_ms: performance.now() - t0 };
		}
	}
	await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, requests.length)) }, lane));
	const wall_ms = performance.now() - t0;
	ownAgent?.destroy();
	return { results, wall_ms, started: next, timed_out: timedOut };
}
