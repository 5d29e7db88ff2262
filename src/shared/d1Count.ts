/**
 * Counts the D1 queries made through a database handle: per isolate, and per
 * request in its `[http]` log line as `d1_queries` (as Warehouse RPCs are counted
 * as `warehouse_rpcs`). Each statement run counts once, alone or in a batch.
 * Used where the D1 cost of a path is a target (the catalog reads): the bench
 * and the tests read these counts instead of guessing.
 */
import { countInRequest } from "./log";

let total = 0;

/** D1 statements this isolate has run through counted handles. */
export function d1Queries(): number {
	return total;
}

function counted(n: number): void {
	total += n;
	countInRequest("d1_queries", n);
}

/** The real statement behind a counted one (a batch must be handed the runtime's own objects). */
const rawOf = new WeakMap<object, D1PreparedStatement>();

const RUNS = new Set(["first", "all", "run", "raw"]);

function countedStatement(stmt: D1PreparedStatement): D1PreparedStatement {
	const wrapped = new Proxy(stmt, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			if (prop === "bind") return (...args: unknown[]) => countedStatement(target.bind(...args));
			if (typeof prop === "string" && RUNS.has(prop)) {
				return (...args: unknown[]) => {
					counted(1);
					return Reflect.apply(value, target, args);
				};
			}
			return value.bind(target);
		},
	});
	rawOf.set(wrapped, stmt);
	return wrapped;
}

const handles = new WeakMap<D1Database, D1Database>();

/** A handle on `db` that counts every statement it runs (one handle per database, so callers may key on it). */
export function countedD1(db: D1Database): D1Database {
	let handle = handles.get(db);
	if (!handle) {
		handle = new Proxy(db, {
			get(target, prop) {
				const value = Reflect.get(target, prop);
				if (typeof value !== "function") return value;
				if (prop === "prepare") return (sql: string) => countedStatement(target.prepare(sql));
				if (prop === "batch") {
					return (stmts: D1PreparedStatement[]) => {
						counted(stmts.length);
						return target.batch(stmts.map((s) => rawOf.get(s) ?? s));
					};
				}
				if (prop === "exec") {
					return (sql: string) => {
						counted(1);
						return target.exec(sql);
					};
				}
				return value.bind(target);
			},
		});
		handles.set(db, handle);
	}
	return handle;
}

/**
 * Per database: the statements run and the time the database reported for them
 * (each result's `meta.duration`), summed per isolate. Only the bench turns it
 * on (`D1_STATS = "on"` in its env file, never in wrangler.toml): it reads these
 * totals from the `[http]` lines (`d1_db`) to measure each database's busy time
 * per order (locally Miniflare reports whole milliseconds: a sum estimates
 * busy time over many statements). `first()` and `raw()` return no meta: under stats `first()` runs as
 * `all()` (what D1 does under it), and a `raw()` is counted as untimed.
 */
export type DbStats = Record<string, { statements: number; ms: number; untimed: number }>;

const byDb: DbStats = {};

/** The totals so far, by binding name (a copy). */
export function d1Stats(): DbStats {
	return Object.fromEntries(Object.entries(byDb).map(([k, v]) => [k, { ...v }]));
}

type Meta = { meta?: { duration?: number } } | null | undefined;

function tally(name: string, results: Meta[], untimed = 0): void {
	const s = (byDb[name] ??= { statements: 0, ms: 0, untimed: 0 });
	s.statements += results.length + untimed;
	s.untimed += untimed;
	for (const r of results) {
		const d = r?.meta?.duration;
		if (typeof d === "number" && Number.isFinite(d)) s.ms += d;
		else s.untimed++;
	}
}

const statsRaw = new WeakMap<object, D1PreparedStatement>();

function timedStatement(name: string, stmt: D1PreparedStatement): D1PreparedStatement {
	const wrapped = new Proxy(stmt, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			if (prop === "bind") return (...args: unknown[]) => timedStatement(name, target.bind(...args));
			if (prop === "all" || prop === "run") {
				return async (...args: unknown[]) => {
					const r = (await Reflect.apply(value, target, args)) as Meta;
					tally(name, [r]);
					return r;
				};
			}
			if (prop === "first") {
				return async (column?: string) => {
					const r = await target.all<Record<string, unknown>>();
					tally(name, [r]);
					const row = r.results[0] ?? null;
					return column === undefined || row === null ? row : (row[column] ?? null);
				};
			}
			if (prop === "raw") {
				return (...args: unknown[]) => {
					tally(name, [], 1);
					return Reflect.apply(value, target, args);
				};
			}
			return value.bind(target);
		},
	});
	statsRaw.set(wrapped, stmt);
	return wrapped;
}

function timedDb(name: string, db: D1Database): D1Database {
	return new Proxy(db, {
		get(target, prop) {
			const value = Reflect.get(target, prop);
			if (typeof value !== "function") return value;
			if (prop === "prepare") return (sql: string) => timedStatement(name, target.prepare(sql));
			if (prop === "batch") {
				return async (stmts: D1PreparedStatement[]) => {
					const r = await target.batch(stmts.map((s) => statsRaw.get(s) ?? s));
					tally(name, r as Meta[]);
					return r;
				};
			}
			if (prop === "exec") {
				return async (sql: string) => {
					const r = await target.exec(sql);
					const s = (byDb[name] ??= { statements: 0, ms: 0, untimed: 0 });
					s.statements += r.count;
					s.ms += r.duration;
					return r;
				};
			}
			return value.bind(target);
		},
	});
}

/** Whether these bindings ask for per-database stats. */
export function d1StatsOn(env: object): boolean {
	return (env as { D1_STATS?: string }).D1_STATS === "on";
}

const statsEnvs = new WeakMap<object, object>();

/**
 * `env` itself unless it asks for stats; else the same bindings with DB and
 * every ORDERS_i timed under its binding name (one wrapper per env and per
 * database, so the same database keeps one identity across its names).
 */
export function withD1Stats<E extends object>(env: E): E {
	if (!d1StatsOn(env)) return env;
	const hit = statsEnvs.get(env);
	if (hit) return hit as E;
	const out: Record<string, unknown> = { ...(env as Record<string, unknown>) };
	const seen = new Map<unknown, D1Database>();
	for (const [name, value] of Object.entries(out)) {
		if (name !== "DB" && !/^ORDERS_\d+$/.test(name)) continue;
		let timed = seen.get(value);
		if (!timed) {
			timed = timedDb(name, value as D1Database);
			seen.set(value, timed);
		}
		out[name] = timed;
	}
	statsEnvs.set(env, out);
	return out as E;
}
