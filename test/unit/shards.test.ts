/**
 * The pure parts of a sharded unit: object names and roles, which shard a
 * reference goes to and every shard that may hold it, and how the gateway
 * merges the answers of several objects into one for the warehouse.
 */
import { describe, expect, it } from "vitest";
import { MAX_SHARDS, refHash, roleOf, shardName, shardOf, shardsHolding } from "../../src/stock/shardNames";
import { mergeCommits, mergeReserves } from "../../src/stock/sharded";
import type { CommitResult, ReserveResult } from "../../src/stock/types";

describe("shard names", () => {
	it("a shard's name says its warehouse, unit and index, whatever characters the ids hold", () => {
		const unit = { product_id: "tee#1/x", size: "X L" };
		const name = shardName("wh-east", unit, 7);
		expect(roleOf(name)).toEqual({ kind: "shard", warehouseId: "wh-east", unit, shard: 7 });
	});

	it("any other name is a warehouse", () => {
		expect(roleOf("wh-east")).toEqual({ kind: "warehouse", warehouseId: "wh-east" });
		expect(roleOf("a#b#c#64")).toEqual({ kind: "warehouse", warehouseId: "a#b#c#64" });
		expect(roleOf("a#b#c#x")).toEqual({ kind: "warehouse", warehouseId: "a#b#c#x" });
	});
});

describe("routing a reference", () => {
	it("is stable and spreads references over the shards", () => {
		expect(refHash("ord_1")).toBe(refHash("ord_1"));
		const counts = new Array(8).fill(0);
		for (let i = 0; i < 8_000; i++) counts[shardOf(`ord_${crypto.randomUUID()}`, 8)]++;
		for (const c of counts) expect(c).toBeGreaterThan(800);
	});

	it("every shard count the unit has had names a shard that may hold the reference; a count of 1 is the warehouse itself", () => {
		const ref = "ord_abc";
		expect(shardsHolding(ref, [1])).toEqual([]);
		expect(shardsHolding(ref, [1, 8])).toEqual([shardOf(ref, 8)]);
		const both = shardsHolding(ref, [4, 8, 1]);
		expect(both).toEqual([...new Set([shardOf(ref, 4), shardOf(ref, 8)])].sort((a, b) => a - b));
		for (let s = 2; s <= MAX_SHARDS; s++) expect(shardOf(ref, s)).toBeLessThan(s);
	});
});

describe("merging the answers of a warehouse's objects", () => {
	const held = (expires_at: number, replayed = false): ReserveResult => ({ ok: true, state: "held", expires_at, replayed });

	it("a reserve is held only when every part is, with the earliest expiry", () => {
		expect(mergeReserves([held(20), held(10)])).toEqual({ ok: true, state: "held", expires_at: 10, replayed: false });
		expect(mergeReserves([held(20, true), held(10, true)])).toMatchObject({ replayed: true });
	});

	it("shortages of every part are reported together; a closed hold is the answer as it is", () => {
		const a = { product_id: "p", size: "M", requested: 2, available: 0 };
		const b = { product_id: "q", size: "M", requested: 1, available: 0 };
		expect(mergeReserves([held(1), { ok: false, reason: "insufficient_stock", shortages: [a] }, { ok: false, reason: "insufficient_stock", shortages: [b] }])).toEqual({
			ok: false,
			reason: "insufficient_stock",
			shortages: [a, b],
		});
		expect(mergeReserves([held(1), { ok: false, reason: "hold_closed", state: "released" }])).toEqual({ ok: false, reason: "hold_closed", state: "released" });
	});

	it("a commit leaves out the objects that never held the order; nobody holding it is unknown", () => {
		const unknown: CommitResult = { ok: false, reason: "unknown_hold" };
		expect(mergeCommits([unknown, { ok: true, replayed: false, late: false }])).toEqual({ ok: true, replayed: false, late: false });
		expect(mergeCommits([{ ok: true, replayed: true, late: false }, { ok: true, replayed: false, late: true }])).toEqual({ ok: true, replayed: false, late: true });
		expect(mergeCommits([unknown, unknown])).toEqual(unknown);
		expect(mergeCommits([{ ok: true, replayed: false, late: false }, { ok: false, reason: "hold_released" }])).toEqual({ ok: false, reason: "hold_released" });
	});
});
