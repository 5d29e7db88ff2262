// The Workers under test, in their own Node process (forked by bench/run.mjs,
// so wrangler and the Workers' log handling never share a process with the load
// generator). Each Worker is started with wrangler's `unstable_startWorker` on
// its own workerd, listening on 127.0.0.1, with a fresh persist directory, and
// gets its D1 migrations applied to every database it binds. Messages from the parent, by Worker `name`:
//   { cmd: "start", name, ... }        -> see start() for the fields
//   { cmd: "sql", name, sql, params }  -> rows from that Worker's D1 databases (every one it binds, concatenated)
//   { cmd: "logs", name }              -> its log lines since the last call, by tag
//   { cmd: "writes", name, ids }       -> each Warehouse object's write and request counts (stockgate's writeCounts, requestCounts)
//   { cmd: "stop" }                    -> disposes every Worker and exits
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { unstable_readConfig, unstable_startWorker } from "wrangler";
import { applyMigrationsToAll, databasesOf } from "../../scripts/lib/migrations.mjs";
import { freePort } from "../../scripts/lib/ports.mjs";
import { pidListeningOn, workerdChildren } from "./proc.mjs";

/** name -> { worker, configPath, logs: { counts, errors } } */
const workers = new Map();

/** "GET /products/:id" for "GET /products/ca-p001": the [http] lines' routes, with ids folded. */
function routeOf(method, path) {
	return `${method} ${path.replace(/^\/products\/[^/]+$/, "/products/:id").replace(/^\/orders\/[^/]+/, "/orders/:id")}`;
}

function logSink() {
	const logs = { counts: {}, errors: [], rpcs: {} };
	const handler = (entry) => {
		const message = String(entry?.message ?? "");
		const tag = /"tag":"(\[[^"\]]+\])"/.exec(message)?.[1] ?? (entry?.level === "error" ? "error" : "other");
		logs.counts[tag] = (logs.counts[tag] ?? 0) + 1;
		if (tag === "[http]") {
			// Warehouse RPCs and D1 queries per request, by route (the Worker counts them in its [http] line).
			let f = null;
			try {
				f = JSON.parse(/\{.*\}/.exec(message)?.[0] ?? "null");
			} catch {
				/* not one of the Worker's JSON lines */
			}
			if (f?.path) {
				const r = (logs.rpcs[routeOf(f.method, f.path)] ??= { requests: 0, warehouse_rpcs: 0, d1_queries: 0 });
				r.requests++;
				r.warehouse_rpcs += f.warehouse_rpcs ?? 0;
				r.d1_queries += f.d1_queries ?? 0;
			}
			// With D1_STATS on: the isolate's per-database totals so far (cumulative: the latest line holds them all).
			if (f?.d1_db) logs.d1_db = f.d1_db;
		}
		if ((entry?.level === "error" || /"level":"error"/.test(message)) && logs.errors.length < 20) logs.errors.push(message.slice(0, 500));
	};
	return { logs, handler };
}

/** The Worker's D1 migrations, applied straight to its runtime, to every database it binds (DB and each order shard); resolves with how many files there were. */
async function migrate(mf, configPath) {
	const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
	const base = dirname(configPath);
	const dbs = (config.d1_databases ?? []).filter((db) => existsSync(resolve(base, db.migrations_dir ?? "migrations")));
	if (dbs.length === 0) return 0;
	return applyMigrationsToAll((binding) => mf.getD1Database(binding), dbs, base);
}

async function waitForHealth(url, deadline) {
	let last;
	while (Date.now() < deadline) {
		try {
			const res = await fetch(new URL("/health", url));
			await res.arrayBuffer();
			if (res.ok) return;
			last = `status ${res.status}`;
		} catch (err) {
			last = String(err);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`no answer on ${url}health: ${last}`);
}

/**
 * configPath: the Worker's wrangler.toml; persistDir: a fresh directory for its
 * D1 and Durable Object state; envFile: the secrets file (.dev.vars is not read);
 * compatFrom: another wrangler.toml whose compatibility date and flags to run on.
 */
async function start({ name, configPath, persistDir, envFile, compatFrom, inspect = false }) {
	const started = Date.now();
	let compat;
	if (compatFrom) {
		const c = unstable_readConfig({ config: compatFrom }, { hideWarnings: true });
		compat = { date: c.compatibility_date, flags: c.compatibility_flags ?? [] };
	}
	const sink = logSink();
	const worker = await unstable_startWorker({
		config: configPath,
		envFiles: [envFile],
		...(compat ? { compatibilityDate: compat.date, compatibilityFlags: compat.flags } : {}),
		dev: {
			server: { hostname: "127.0.0.1", port: 0 },
			// The inspector only for --profile: it is off otherwise, as it costs time.
			inspector: inspect ? { hostname: "127.0.0.1", port: await freePort() } : false,
			persist: persistDir,
			watch: false,
			liveReload: false,
			logLevel: "none",
			structuredLogsHandler: sink.handler,
		},
	});
	try {
		return await startUp(name, worker, configPath, sink, started);
	} catch (err) {
		await worker.dispose().catch(() => {});
		throw err;
	}
}

async function startUp(name, worker, configPath, sink, started) {
	await worker.ready;
	const proxyUrl = await worker.url;
	// The first request through wrangler's proxy waits until the runtime is up.
	await waitForHealth(proxyUrl, Date.now() + 90_000);
	const mf = worker.raw.runtimes[0]?.mf;
	if (!mf) throw new Error("wrangler started no local runtime");
	// Load goes straight to the runtime's own socket: wrangler's dev proxy (a second
	// workerd in front, for live reload) is dev-server plumbing, not part of either system.
	const runtimeUrl = await mf.ready;
	await waitForHealth(runtimeUrl, Date.now() + 30_000);
	const migrations = await migrate(mf, configPath);
	workers.set(name, { worker, configPath, logs: sink.logs, url: runtimeUrl.href });
	sink.logs.counts = {};
	sink.logs.errors = [];
	sink.logs.rpcs = {};
	const inspectorUrl = await worker.inspectorUrl;
	return {
		url: runtimeUrl.href,
		proxy_url: proxyUrl.href,
		inspector_url: inspectorUrl ? inspectorUrl.href : null,
		migrations,
		startup_ms: Date.now() - started,
		runtime_port: Number(runtimeUrl.port),
	};
}

/** The workerd processes: which one serves each Worker's runtime socket, and the rest (wrangler's dev proxies). */
function pids() {
	const children = workerdChildren(process.pid);
	const runtime = {};
	for (const [name, w] of workers) runtime[name] = pidListeningOn(Number(new URL(w.url).port), children);
	const used = new Set(Object.values(runtime));
	return { runtime, others: children.filter((p) => !used.has(p)) };
}

/** One query on every database the Worker binds (stockgate's catalog DB and each order shard), rows concatenated. */
async function sql({ name, sql: text, params = [] }) {
	const { worker, configPath } = workers.get(name);
	const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
	const mf = worker.raw.runtimes[0].mf;
	const pages = await Promise.all(
		databasesOf(config.d1_databases).map(async (db) => (await (await mf.getD1Database(db.bindings[0])).prepare(text).bind(...params).all()).results),
	);
	return pages.flat();
}

/**
 * Each named Warehouse object's write-transaction counts, with its requests by
 * method (`requests`), asked straight from the runtime (no HTTP route exists for
 * them; neither read is counted as a request).
 */
async function writes({ name, ids }) {
	const { worker } = workers.get(name);
	const ns = await worker.raw.runtimes[0].mf.getDurableObjectNamespace("WAREHOUSE");
	const out = {};
	for (const id of ids) {
		const stub = ns.get(ns.idFromName(id));
		out[id] = { ...(await stub.writeCounts()), requests: await stub.requestCounts() };
	}
	return out;
}

async function stop() {
	const all = [...workers.values()];
	workers.clear();
	await Promise.all(all.map((w) => w.worker.dispose().catch(() => {})));
}

const handlers = {
	start,
	pids,
	sql,
	writes,
	logs: async ({ name }) => {
		const logs = workers.get(name).logs;
		const out = { counts: logs.counts, errors: logs.errors, rpcs: logs.rpcs, d1_db: logs.d1_db ?? null };
		logs.counts = {};
		logs.errors = [];
		logs.rpcs = {};
		return out;
	},
	stop,
};

process.on("message", async (msg) => {
	const { id, cmd } = msg;
	try {
		const result = await handlers[cmd](msg);
		process.send({ id, ok: true, result });
		if (cmd === "stop") setTimeout(() => process.exit(0), 50);
	} catch (err) {
		process.send({ id, ok: false, error: err?.stack ?? String(err) });
	}
});

// The parent went away (finished, crashed or was interrupted), or asked us to end:
// release the runtime (its workerd processes) before exiting.
function shutdown() {
	stop()
		.catch(() => {})
		.finally(() => process.exit(0));
}
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
