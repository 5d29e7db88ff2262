/**
 * The Warehouse's request counts (src/stock/object/requests.ts), which the
 * bench reads to find a hot unit's busiest object: every call counts under
 * its method, reads and refusals included; reading the counts counts nothing;
 * a sharded unit's shard and pool each count the calls they served.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardName } from "../../src/stock/shardNames";
import { freshName, freshWarehouse, line, ref, unit } from "../helpers/stock";

describe("Warehouse request counts", () => {
	it("counts every call by method, a refused reserve and the reads included; reading the counts is not counted", async () => {
		const stub = freshWarehouse();
		const u = unit();
		expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: 1 }])).ok).toBe(true);
		const a = ref("order");
		expect((await stub.reserve(a, [line(u, 1)], 60_000)).ok).toBe(true);
		expect((await stub.reserve(ref("order"), [line(u, 1)], 60_000)).ok).toBe(false);
		await stub.availability([u]);
		expect((await stub.commit(a)).ok).toBe(true);
		await stub.writeCounts();
		expect(await stub.requestCounts()).toEqual({ setLevels: 1, reserve: 2, availability: 1, commit: 1 });
		expect(await stub.requestCounts()).toEqual({ setLevels: 1, reserve: 2, availability: 1, commit: 1 });
	});

	it("a reserve at a dry shard is one request there and one ask at the pool", async () => {
		const name = freshName();
		const pool = env.WAREHOUSE.getByName(name);
		const u = unit();
		expect((await pool.setSharded(ref("set"), { ...u, on_hand: 20, shards: 4 })).ok).toBe(true);
		const shard = env.WAREHOUSE.getByName(shardName(name, u, 1));
		expect((await shard.reserve(ref("order"), [line(u, 2)], 60_000)).ok).toBe(true);
		expect(await shard.requestCounts()).toEqual({ reserve: 1 });
		const atPool = await pool.requestCounts();
		expect(atPool.ask).toBe(1);
		expect(atPool.setSharded).toBe(1);
	});
});
