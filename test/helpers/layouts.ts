/**
 * The shop in other shard layouts than the runtime's: as it was on one
 * database (no ORDERS_i bound: everything in DB), and the same shop upgraded
 * (DB's database bound as ORDERS_0 too, the runtime's other shards as
 * ORDERS_1.., customers moving from one shard). Requests reach the Worker's
 * fetch handler with those bindings.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env";
import worker from "../../src/index";
import { orderShards, shardIndexOf } from "../../src/orders/shards";
import { answerOf, requestOf, uid, type Call, type CallOptions } from "./http";

function withoutShards(): Record<string, unknown> {
	const out: Record<string, unknown> = { ...env };
	for (const name of Object.keys(out)) if (/^ORDERS_\d+$/.test(name) || name === "ORDER_SHARDS_MOVING_FROM") delete out[name];
	return out;
}

/** The single-database layout: no order shard bound (N = 1, everything in DB). */
export function singleDatabaseEnv(): Env {
	return withoutShards() as unknown as Env;
}

/** The same shop after the upgrade: ORDERS_0 is DB's database, ORDERS_1.. the runtime's shards 1..N-1, and customers moving from 1 shard. */
export function upgradedEnv(): Env {
	const shards = orderShards(env);
	const out = withoutShards();
	out.ORDERS_0 = env.DB;
	shards.slice(1).forEach((db, i) => (out[`ORDERS_${i + 1}`] = db));
	out.ORDER_SHARDS_MOVING_FROM = "1";
	return out as unknown as Env;
}

/** Calls the Worker with these bindings, and waits for the work the request left running (its gathered commit). */
export async function callWith(workerEnv: Env, method: string, path: string, opts: CallOptions = {}): Promise<Call> {
	const ctx = createExecutionContext();
	// The handler is typed for requests from the network (with their cf properties); a test request has none.
	const res = await worker.fetch(requestOf(method, path, opts) as Parameters<typeof worker.fetch>[0], workerEnv, ctx);
	const answer = await answerOf(res);
	await waitOnExecutionContext(ctx);
	return answer;
}

/** A new customer id that n shards place in shard `index`. */
export function subInShard(prefix: string, index: number, n: number): string {
	for (;;) {
		const sub = uid(prefix);
		if (shardIndexOf(sub, n) === index) return sub;
	}
}

/** D1 statements run per binding (a batch counts each of its statements). */
export type StatementCounts = Map<string, number>;

/**
 * The same bindings with every D1 database counting the statements run through
 * it, per binding name. Statements of a counted database go back to it raw (a
 * batch takes the runtime's own objects).
 */
export function countingStatements(workerEnv: Env): { env: Env; counts: StatementCounts } {
	const counts: StatementCounts = new Map();
	const out: Record<string, unknown> = { ...(workerEnv as unknown as Record<string, unknown>) };
	for (const [name, value] of Object.entries(out)) {
		if (name !== "DB" && !/^ORDERS_\d+$/.test(name)) continue;
		const db = value as D1Database;
		const count = (n: number) => counts.set(name, (counts.get(name) ?? 0) + n);
		const raw = new WeakMap<object, D1PreparedStatement>();
		const wrap = (stmt: D1PreparedStatement): D1PreparedStatement => {
			const proxy = new Proxy(stmt, {
				get(target, prop) {
					const v = Reflect.get(target, prop);
					if (typeof v !== "function") return v;
					if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
					if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
						return (...args: unknown[]) => {
							count(1);
							return Reflect.apply(v, target, args);
						};
					}
					return v.bind(target);
				},
			});
			raw.set(proxy, stmt);
			return proxy;
		};
		out[name] = new Proxy(db, {
			get(target, prop) {
				const v = Reflect.get(target, prop);
				if (typeof v !== "function") return v;
				if (prop === "prepare") return (sql: string) => wrap(target.prepare(sql));
				if (prop === "batch") {
					return (stmts: D1PreparedStatement[]) => {
						count(stmts.length);
						return target.batch(stmts.map((s) => raw.get(s) ?? s));
					};
				}
				return v.bind(target);
			},
		});
	}
	return { env: out as unknown as Env, counts };
}
