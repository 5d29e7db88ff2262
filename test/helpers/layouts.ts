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
