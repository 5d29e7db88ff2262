// `--profile`: a V8 CPU profile of a Worker's isolate while it takes load, over
// the DevTools protocol through wrangler's inspector proxy, and a summary of
// where the samples fell (self time per source module of the bundle, and per
// function). Durable Objects of the same script share the Worker's isolate, so
// the Warehouse's own work is in the same profile; D1's local simulator runs in
// another isolate and shows up only as the client side of its calls.

/** Connects to the inspector proxy at `httpUrl` (http://127.0.0.1:port). */
export async function connect(httpUrl) {
	const list = await (await fetch(new URL("/json", httpUrl))).json();
	const target = list[0];
	if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target at ${httpUrl}`);
	// The proxy accepts DevTools clients from localhost origins only.
	const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } });
	await new Promise((resolve, reject) => {
		ws.onopen = resolve;
		ws.onerror = () => reject(new Error(`cannot open ${target.webSocketDebuggerUrl}`));
	});
	let seq = 0;
	const pending = new Map();
	ws.onmessage = (event) => {
		const msg = JSON.parse(String(event.data));
		const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
		if (!p) return;
		pending.delete(msg.id);
		clearTimeout(p.timer);
		if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
		else p.resolve(msg.result);
	};
	const call = (method, params = {}) =>
		new Promise((resolve, reject) => {
			const id = ++seq;
			const timer = setTimeout(() => {
				pending.delete(id);
				reject(new Error(`${method}: no answer`));
			}, 60_000);
			pending.set(id, { resolve, reject, timer, method });
			ws.send(JSON.stringify({ id, method, params }));
		});
	return { call, close: () => ws.close() };
}

export async function startProfile(httpUrl, samplingIntervalUs = 200) {
	const session = await connect(httpUrl);
	await session.call("Profiler.enable");
	await session.call("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
	await session.call("Profiler.start");
	return {
		async stop() {
			const { profile } = await session.call("Profiler.stop");
			// The bundle's text, to map sampled lines back to the modules esbuild marks with `// path` comments.
			const sources = {};
			try {
				await session.call("Debugger.enable");
				for (const scriptId of new Set(profile.nodes.filter((n) => n.callFrame.url === "index.js" || n.callFrame.url.endsWith(".js")).map((n) => n.callFrame.scriptId))) {
					const { scriptSource } = await session.call("Debugger.getScriptSource", { scriptId });
					sources[scriptId] = scriptSource;
				}
				await session.call("Debugger.disable");
			} catch {
				/* the summary falls back to file names */
			}
			await session.call("Profiler.disable").catch(() => {});
			session.close();
			return { profile, sources };
		},
	};
}

/** Line (0-based) -> module path, from esbuild's `// src/...` / `// node_modules/...` markers. */
function moduleMap(source) {
	const starts = [];
	source.split("\n").forEach((line, i) => {
		const m = /^\/\/ ((?:\.\.\/)*(?:src|node_modules|bench|scripts)\/[^\s]+)$/.exec(line);
		if (m) starts.push([i, m[1].replace(/^(\.\.\/)+/, "")]);
	});
	return (line) => {
		let lo = 0;
		let hi = starts.length - 1;
		let found = null;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (starts[mid][0] <= line) {
				found = starts[mid][1];
				lo = mid + 1;
			} else hi = mid - 1;
		}
		return found;
	};
}

function packageOf(path) {
	const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
	return m ? m[1] : null;
}

/**
 * Self time per module and per function, as shares of the busy (non-idle) samples.
 * A native frame (no url: console, crypto, URL, the storage API...) is charged to
 * the closest JavaScript caller's module, labelled "(native)".
 */
export function summarize({ profile, sources }, top = 15) {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map();
	for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
	const maps = Object.fromEntries(Object.entries(sources).map(([id, src]) => [id, moduleMap(src)]));
	const where = (node) => {
		const f = node.callFrame;
		if (f.url && maps[f.scriptId]) return maps[f.scriptId](f.lineNumber) ?? f.url;
		if (f.url) return f.url;
		return null;
	};
	const counts = new Map();
	for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
	let total = 0;
	let idle = 0;
	const modules = new Map();
	const functions = new Map();
	for (const [id, hits] of counts) {
		const node = byId.get(id);
		const name = node.callFrame.functionName;
		if (name === "(idle)") {
			idle += hits;
			continue;
		}
		total += hits;
		let mod = where(node);
		let label = `${name || "(anonymous)"}`;
		if (mod === null) {
			// Native or runtime frame: charge it to the nearest JavaScript caller.
			let p = parent.get(id);
			while (p !== undefined && where(byId.get(p)) === null) p = parent.get(p);
			const caller = p === undefined ? null : byId.get(p);
			mod = caller ? `${where(caller)} (native)` : name.startsWith("(") ? name : "(runtime)";
			label = `${name || "(native)"} <- ${caller?.callFrame.functionName || "(anonymous)"}`;
		}
		const pkg = packageOf(mod);
		const group = pkg ? `node_modules/${pkg}${mod.endsWith("(native)") ? " (native)" : ""}` : mod;
		modules.set(group, (modules.get(group) ?? 0) + hits);
		const fkey = `${label} [${group}]`;
		functions.set(fkey, (functions.get(fkey) ?? 0) + hits);
	}
	const share = (n) => Math.round((n / Math.max(1, total)) * 1000) / 10;
	const rank = (m) =>
		[...m.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([name, n]) => ({ name, samples: n, percent: share(n) }));
	const ms = (profile.endTime - profile.startTime) / 1000;
	return { busy_samples: total, idle_samples: idle, profiled_ms: Math.round(ms), modules: rank(modules), functions: rank(functions) };
}
