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
