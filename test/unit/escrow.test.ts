import { describe, expect, it } from "vitest";
import {
	afterReturn,
	decideAsk,
	demandAt,
	grantSize,
	initialSplit,
	onGiveBack,
	observeDemand,
	onRequest,
	upkeep,
	type Ask,
	type AskDecision,
	type EscrowConfig,
	type PoolState,
	type ShardState,
	type UpkeepDecision,
} from "../../src/stock/escrow";

const CFG: EscrowConfig = { shards: 4, lowWater: 2, horizonMs: 1000, minGrant: 5, maxGrant: 100, idleMs: 10_000 };

const shard = (over: Partial<ShardState>): ShardState => ({ free: 10, ratePerS: 20, lastSaleAt: 0, asking: false, soldOut: false, poolDry: false, ...over });
const pool = (over: Partial<PoolState>): PoolState => ({ pool: 0, reported: [0, 0, 0, 0], returning: 0, soldOut: false, ...over });
const ask = (over: Partial<Ask>): Ask => ({ shard: 0, free: 0, need: 1, want: 20, ...over });

describe("grantSize", () => {
	it.each([
		[0, 5],
		[3, 5],
		[20, 20],
		[20.2, 21],
		[5000, 100],
	])("a shard selling %d a second is granted %d", (rate, units) => {
		expect(grantSize(rate, CFG)).toBe(units);
	});
});

describe("observeDemand", () => {
	it("a steady stream of r units a second reads r, and a grant sized on it covers one horizon of it", () => {
		let d = null as ReturnType<typeof observeDemand> | null;
		// 50 units a second, one every 20 ms, for 5 horizons.
		for (let t = 0; t <= 5_000; t += 20) d = observeDemand(d, 1, t, CFG);
		expect(demandAt(d, 5_000, CFG)).toBeGreaterThan(48);
		expect(demandAt(d, 5_000, CFG)).toBeLessThan(52);
		expect(grantSize(demandAt(d, 5_000, CFG), CFG)).toBeGreaterThanOrEqual(49);
	});

	it("a crowd at one instant reads its size; a shard gone quiet decays to the smallest grant", () => {
		let d = null as ReturnType<typeof observeDemand> | null;
		for (let i = 0; i < 30; i++) d = observeDemand(d, 1, 1_000, CFG);
		expect(demandAt(d, 1_000, CFG)).toBeCloseTo(30);
		expect(demandAt(d, 11_000, CFG)).toBeLessThan(0.01);
		expect(grantSize(demandAt(d, 11_000, CFG), CFG)).toBe(CFG.minGrant);
	});

	it("nothing observed reads zero; an observation out of order never moves time back", () => {
		expect(demandAt(null, 5, CFG)).toBe(0);
		const d = observeDemand(observeDemand(null, 2, 1_000, CFG), 2, 900, CFG);
		expect(d.at).toBe(1_000);
		expect(d.ratePerS).toBeCloseTo(4);
	});
});

describe("initialSplit", () => {
	it.each([
		[1000, [100, 100, 100, 100], 600],
		[40, [5, 5, 5, 5], 20],
		[3, [0, 0, 0, 0], 3],
	])("%d units: shards %j, pool %d, nothing lost", (total, shards, rest) => {
		const split = initialSplit(total, CFG);
		expect(split).toEqual({ shards, pool: rest });
		expect(split.shards.reduce((a, b) => a + b, 0) + split.pool).toBe(total);
	});
});

describe("onRequest", () => {
	it.each<[string, Pick<ShardState, "free" | "soldOut">, number, ReturnType<typeof onRequest>]>([
		["enough free stock: reserve", { free: 2, soldOut: false }, 2, { kind: "reserve" }],
		["short: ask the coordinator for what it lacks before answering", { free: 1, soldOut: false }, 2, { kind: "ask", need: 1 }],
		["dry: ask before refusing", { free: 0, soldOut: false }, 1, { kind: "ask", need: 1 }],
		["dry under the sold-out declaration: refuse", { free: 0, soldOut: true }, 1, { kind: "refuse" }],
		["the declaration never refuses what the shard holds", { free: 1, soldOut: true }, 1, { kind: "reserve" }],
	])("%s", (_, state, quantity, expected) => {
		expect(onRequest(state, quantity)).toEqual(expected);
	});
});

describe("upkeep", () => {
	it.each<[string, Partial<ShardState>, number, UpkeepDecision]>([
		["plenty left, selling: nothing", { free: 10 }, 1000, { kind: "none" }],
		["at the low-water mark: ask ahead for its demand", { free: 2, ratePerS: 30 }, 1000, { kind: "ask", want: 30 }],
		["an ask already in flight: nothing more", { free: 0, asking: true }, 1000, { kind: "none" }],
		["quota idle past idleMs: give it all back", { free: 7, lastSaleAt: 0 }, 10_000, { kind: "give_back", units: 7 }],
		["never sold yet: keeps its initial slice", { free: 7, lastSaleAt: null }, 50_000, { kind: "none" }],
		["sold out: asks nothing ahead", { free: 0, soldOut: true }, 1000, { kind: "none" }],
		["the pool had nothing last time: asks nothing ahead", { free: 1, poolDry: true }, 1000, { kind: "none" }],
	])("%s", (_, over, now, expected) => {
		expect(upkeep(shard(over), CFG, now)).toEqual(expected);
	});
});

describe("afterReturn", () => {
	it("sends returned units to the pool, so the coordinator's view is never below a shard's stock", () => {
		expect(afterReturn(2)).toEqual({ kind: "give_back", units: 2 });
		expect(afterReturn(0)).toEqual({ kind: "none" });
	});
});

describe("decideAsk", () => {
	it.each<[string, Partial<PoolState>, Partial<Ask>, AskDecision]>([
		["a grant of what it wants when the pool is deep", { pool: 1000 }, { want: 20 }, { kind: "grant", units: 20 }],
		["never more than a fair share of the pool", { pool: 40 }, { want: 30 }, { kind: "grant", units: 10 }],
		["at least what the waiting request lacks", { pool: 8 }, { need: 3, want: 30 }, { kind: "grant", units: 3 }],
		["the last units when the pool holds fewer than needed", { pool: 1 }, { need: 2 }, { kind: "grant", units: 1 }],
		["an ask ahead on an empty pool gets nothing", { pool: 0, reported: [0, 5, 0, 0] }, { need: 0 }, { kind: "none" }],
		["empty pool, another shard reported stock: reclaim from the fullest", { reported: [0, 3, 8, 0] }, { need: 1 }, { kind: "reclaim", from: 2, units: 4 }],
		["a reclaim takes at least what is needed", { reported: [0, 0, 3, 0] }, { need: 2, free: 0 }, { kind: "reclaim", from: 2, units: 2 }],
		["units on their way back: wait for them", { returning: 2, reported: [0, 0, 0, 0] }, { need: 1 }, { kind: "wait" }],
		["nothing anywhere: refuse and declare sold out", {}, { need: 1 }, { kind: "refuse", soldOut: true }],
		["too few anywhere for this request: refuse, not sold out", { reported: [1, 0, 1, 0] }, { free: 1, need: 2 }, { kind: "refuse", soldOut: false }],
		["the asker's own report is not counted as elsewhere", { reported: [5, 0, 0, 0] }, { shard: 0, free: 0, need: 1 }, { kind: "refuse", soldOut: true }],
	])("%s", (_, state, a, expected) => {
		expect(decideAsk(pool(state), ask(a), CFG)).toEqual(expected);
	});

	it("refuses only when the pool, the asker and the others' reports together fall short", () => {
		for (let p = 0; p <= 3; p++) {
			for (let other = 0; other <= 3; other++) {
				for (let need = 1; need <= 3; need++) {
					const d = decideAsk(pool({ pool: p, reported: [0, other, 0, 0] }), ask({ free: 0, need }), CFG);
					expect(d.kind === "refuse").toBe(p === 0 && other < need);
				}
			}
		}
	});
});

describe("onGiveBack", () => {
	it.each<[boolean, ReturnType<typeof onGiveBack>]>([
		[false, { kind: "pool" }],
		[true, { kind: "revoke_first" }],
	])("sold out %s: %j", (soldOut, expected) => {
		expect(onGiveBack({ soldOut })).toEqual(expected);
	});
});
