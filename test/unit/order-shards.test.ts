import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { fmix32, fnv1a32, newOrderId, orderDb, orderShards, shardIndexOf, shardOfOrderId } from "../../src/orders/shards";

describe("order shards", () => {
	it("counts the ORDERS_i bindings: the suite runs with at least two shards", () => {
		expect(orderShards(env).length).toBeGreaterThanOrEqual(2);
		expect(orderShards(env)[0]).toBe((env as unknown as Record<string, unknown>).ORDERS_0);
	});

	it("falls back to DB alone when no shard is bound", () => {
		const single = { DB: env.DB } as typeof env;
		expect(orderShards(single)).toEqual([env.DB]);
	});

	it("hashes with FNV-1a 32 (published test vectors) and MurmurHash3's finalizer, so every runtime places a customer alike", () => {
		expect(fnv1a32("")).toBe(0x811c9dc5);
		expect(fnv1a32("a")).toBe(0xe40c292c);
		expect(fnv1a32("foobar")).toBe(0xbf9cf968);
		expect(fmix32(0)).toBe(0);
		expect(fmix32(1)).toBe(0x514e28b7);
	});

	it("spreads subs that differ only in a byte's high bits (FNV-1a alone, mod 4, would put them all on one shard)", () => {
		// 0x41, 0x45, 0x49, ...: the same two low bits in every character.
		const subs = Array.from({ length: 16 }, (_, i) => `user-${String.fromCharCode(0x41 + 4 * i)}`);
		expect(new Set(subs.map((s) => fnv1a32(s) % 4)).size).toBe(1);
		expect(new Set(subs.map((s) => shardIndexOf(s, 4))).size).toBe(4);
	});

	it("places customers stably and spreads them over the shards", () => {
		const counts = new Map<number, number>();
		for (let i = 0; i < 4000; i++) {
			const shard = shardIndexOf(`customer-${i}`, 4);
			counts.set(shard, (counts.get(shard) ?? 0) + 1);
		}
		expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
		for (const c of counts.values()) expect(c).toBeGreaterThan(800);
		expect(shardIndexOf("customer-7", 4)).toBe(shardIndexOf("customer-7", 4));
		expect(() => shardIndexOf("x", 0)).toThrow(RangeError);
	});

	it("names the shard in new order ids; ids without a shard number resolve to shard 0", () => {
		const id = newOrderId(3);
		expect(id).toMatch(/^ord_3_[0-9a-f]{32}$/);
		expect(shardOfOrderId(id)).toBe(3);
		expect(shardOfOrderId(`ord_${"a".repeat(32)}`)).toBe(0);
		expect(shardOfOrderId("ord_not-an-id")).toBe(0);
		expect(orderDb(env, "ord_200_" + "0".repeat(32))).toBeUndefined();
		expect(orderDb(env, newOrderId(1))).toBe(orderShards(env)[1]);
	});
});
