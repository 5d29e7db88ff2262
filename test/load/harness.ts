/**
 * One running stockgate: the bundle built by global-setup.ts, booted with
 * Miniflare's own API on 127.0.0.1 and an ephemeral port. Bindings come from
 * wrangler.toml as wrangler reads it (`unstable_getMiniflareWorkerOptions`: D1,
 * the Warehouse Durable Object, the queue producer and consumer, the cron),
 * plus the two secrets. State lives in a persist directory of the caller's, so
 * a second instance started on the same directory finds everything the first
 * one wrote (the restart test). The Worker's JSON log lines are kept here,
 * counted by level, not printed.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { applyMigrations } from "../../scripts/lib/migrations.mjs";

const ROOT = join(import.meta.dirname, "..", "..");

/** The ORDERS_i binding names among a worker's D1 databases, in index order. */
function orderShardBindings(options: object): string[] {
	const d1 = (options as { d1Databases?: unknown }).d1Databases;
	const names = Array.isArray(d1) ? d1.map(String) : Object.keys((d1 as Record<string, unknown> | undefined) ?? {});
	return names
		.filter((n) => /^ORDERS_\d+$/.test(n))
		.sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
}
const WORKER = "stockgate";

export const SECRETS = {
	JWT_SECRET: "load-test-jwt-secret-not-for-production",
	PAYMENT_WEBHOOK_SECRET: "load-test-webhook-secret",
};

export interface WorkerLogs {
	/** Lines per level ("error", "warn", "info", ...). */
	levels: Record<string, number>;
	/** The first error lines, for failure messages. */
	errors: string[];
}

/**
 * A fresh persist directory; removed by `removeDir`. In memory (/dev/shm) when
 * the machine has it: every D1 and Durable Object write is a SQLite commit,
 * and on a disk those syncs, not the Worker, would set the pace.
 * STOCKGATE_LOAD_TMP chooses another parent directory.
 */
export function freshDir(): string {
	const parent = process.env.STOCKGATE_LOAD_TMP ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
	return mkdtempSync(join(parent, "stockgate-load-"));
}

export function removeDir(dir: string): void {
	rmSync(dir, { recursive: true, force: true });
}

function bundleModule(bundleDir: string): string {
	const js = readdirSync(bundleDir).filter((f) => f.endsWith(".js"));
	if (js.length !== 1) throw new Error(`expected one module in ${bundleDir}, found ${js.join(", ") || "none"}`);
	return join(bundleDir, js[0]!);
}

export interface StartOptions {
	bundleDir: string;
	persistDir: string;
	/** Apply the D1 migrations (only on a fresh directory: they are not all re-runnable). */
	migrate: boolean;
	/** Extra or overriding vars. */
	vars?: Record<string, string>;
}

export class Stockgate {
	readonly mf: Miniflare;
	readonly url: URL;
	readonly logs: WorkerLogs;
	/** RESERVATION_TTL_SECONDS as configured, in ms. */
	readonly ttlMs: number;

	private constructor(mf: Miniflare, url: URL, logs: WorkerLogs, ttlMs: number) {
		this.mf = mf;
		this.url = url;
		this.logs = logs;
		this.ttlMs = ttlMs;
	}

	static async start(opts: StartOptions): Promise<Stockgate> {
		const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
		// The bundle is one self-contained ES module: no module rules. Static assets are
		// not what these tests are about, and their directory may not be built.
		const { modulesRules: _rules, rootPath: _root, assets: _assets, ...config } = workerOptions as typeof workerOptions & { assets?: unknown };
		const vars = { ...(config.bindings as Record<string, string>), ...opts.vars };
		const logs: WorkerLogs = { levels: {}, errors: [] };
		const module = bundleModule(opts.bundleDir);
		const mf = new Miniflare(
			convertV4MiniflareOptions({
				host: "127.0.0.1",
				port: 0,
				resourcePersistencePath: opts.persistDir,
				// openHolds() reads each warehouse's SQLite from Node.
				unsafeInspectDurableObjects: true,
				// scheduled() runs the cron handler through Miniflare's trigger route (below).
				unsafeTriggerHandlers: true,
				handleStructuredLogs: ({ level, message }) => {
					logs.levels[level] = (logs.levels[level] ?? 0) + 1;
					if (level === "error" && logs.errors.length < 20) logs.errors.push(message.slice(0, 600));
				},
				workers: [
					{
						...config,
						name: WORKER,
						rootPath: opts.bundleDir,
						modulesRoot: opts.bundleDir,
						modules: [{ type: "ESModule", path: module }],
						bindings: { ...vars, ...SECRETS },
					},
				],
			}),
		);
		let url: URL;
		try {
			url = await mf.ready;
			if (opts.migrate) {
				// Every database gets every migration: DB and each order shard.
				for (const name of ["DB", ...orderShardBindings(config)]) await applyMigrations(await mf.getD1Database(name), join(ROOT, "migrations"));
			}
		} catch (err) {
			await mf.dispose().catch(() => {});
			throw err;
		}
		return new Stockgate(mf, url, logs, Number(vars.RESERVATION_TTL_SECONDS ?? "120") * 1000);
	}

	db() {
		return this.mf.getD1Database("DB");
	}

	/** The order shards (ORDERS_0 …, as wrangler.toml binds them): where carts, orders, outboxes and refunds live. */
	async orderShards() {
		const { workerOptions } = unstable_getMiniflareWorkerOptions(join(ROOT, "wrangler.toml"));
		return Promise.all(orderShardBindings(workerOptions).map((name) => this.mf.getD1Database(name)));
	}

	/** One query on every order shard, the rows concatenated (shard order, then the query's). */
	async orderRows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
		const pages = await Promise.all((await this.orderShards()).map((db) => db.prepare(sql).bind(...params).all<T>()));
		return pages.flatMap((p) => p.results);
	}

	/**
	 * Runs the Worker's scheduled handler (the reconciler) as the cron would at
	 * `atMs`, and waits for it, its waitUntil work included.
	 */
	async scheduled(atMs: number = Date.now()): Promise<void> {
		// Through an HTTP trigger rather than getWorker(): getWorker() first asked while a storm's requests
		// were in flight (or on an instance restarted on the same directory) could stall, the storm with it.
		const res = await fetch(new URL(`/cdn-cgi/local/scheduled?time=${Math.round(atMs)}&cron=${encodeURIComponent("* * * * *")}&format=json`, this.url));
		const result = (await res.json()) as { outcome: string };
		if (result.outcome !== "ok") throw new Error(`scheduled handler: ${result.outcome}\n${this.logs.errors.join("\n")}`);
	}

	/** Holds still open in a warehouse's own SQLite, read from outside the Worker. */
	async openHolds(warehouseId: string): Promise<number> {
		const storage = await this.mf.unsafeGetDurableObjectStorage(WORKER, "Warehouse", { name: warehouseId });
		const [row] = await storage.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM holds WHERE state = 'held'`);
		return Number(row?.n ?? 0);
	}

	async dispose(): Promise<void> {
		await this.mf.dispose();
	}
}
