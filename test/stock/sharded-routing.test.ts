/**
 * The gateway's routing of a sharded unit's commits, releases and cancels
 * (src/stock/sharded.ts), through the objects' RPC: an order only on a
 * sharded unit never reaches the warehouse's object (its pool), counted with
 * the objects' request counts; a mixed order reaches both; a hold the
 * warehouse's object took under an out-of-date shard count is still found.
 */
import { env as testEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import * as sharded from "../../src/stock/sharded";
import { shardName, shardOf } from "../../src/stock/shardNames";
import type { Line, Unit } from "../../src/stock/types";
import { availabilityClock } from "../../src/stock/client";
import { freshName, ledgerOf, levelOf, line, ref, unit, type WarehouseStub } from "../helpers/stock";

const env = testEnv as unknown as Env;
const TTL = 60_000;
const S = 4;

interface Setup {
	name: string;
	main: WarehouseStub;
	hot: Unit;
	plain: Unit;
	shardOf(r: string): WarehouseStub;
}

/** A warehouse with a hot unit over S shards and a plain unit at its own object. */
async function setup(): Promise<Setup> {
	const name = freshName();
	const main = testEnv.WAREHOUSE.getByName(name);
	const hot = unit();
	const plain = unit();
	expect((await main.setLevels(ref("set"), [{ ...plain, on_hand: 50 }])).ok).toBe(true);
	expect((await main.setSharded(ref("set"), { ...hot, on_hand: 100, shards: S })).ok).toBe(true);
	return { name, main, hot, plain, shardOf: (r) => testEnv.WAREHOUSE.getByName(shardName(name, hot, shardOf(r, S))) };
}

/** The calls the warehouse's object served that a commit, release or cancel makes. */
async function holdCallsAt(stub: WarehouseStub): Promise<Record<string, number>> {
	const c = (await stub.requestCounts()) as Record<string, number>;
	return { commit: c.commit ?? 0, commitMany: c.commitMany ?? 0, release: c.release ?? 0, cancelHold: c.cancelHold ?? 0 };
}

async function reserved(s: Setup, lines: Line[]): Promise<string> {
	const r = ref("order");
	expect((await sharded.reserve(env, s.name, r, lines, TTL)).ok).toBe(true);
	return r;
}

describe("a sharded unit's commits, releases and cancels go only where the order's units can be held", () => {
	it("a gathered window of orders only on the sharded unit commits at the shards and sends nothing to the warehouse's object", async () => {
		const s = await setup();
		const refs = await Promise.all(Array.from({ length: 6 }, () => reserved(s, [line(s.hot, 1)])));
		const before = await s.main.requestCounts();
		const results = await sharded.commitMany(env, s.name, refs, "checkout", new Map(refs.map((r) => [r, [line(s.hot, 1)]])));
		for (const r of refs) expect(results[r], r).toMatchObject({ ok: true });
		expect(await s.main.requestCounts(), "the pool served nothing for the window").toEqual(before);
		for (const r of refs) expect(await s.shardOf(r).hold(r)).toMatchObject({ state: "committed" });
	});

	it("a window mixing orders on the sharded unit and on the warehouse's own unit reaches both, and commits every part", async () => {
		const s = await setup();
		const onlyHot = await reserved(s, [line(s.hot, 1)]);
		const mixed = await reserved(s, [line(s.hot, 2), line(s.plain, 3)]);
		const onlyPlain = await reserved(s, [line(s.plain, 1)]);
		const unitsOf = new Map<string, Unit[]>([
			[onlyHot, [s.hot]],
			[mixed, [s.hot, s.plain]],
			[onlyPlain, [s.plain]],
		]);
		const before = await holdCallsAt(s.main);
		const results = await sharded.commitMany(env, s.name, [onlyHot, mixed, onlyPlain], "checkout", unitsOf);
		expect(Object.values(results).every((r) => r.ok)).toBe(true);
		expect(await holdCallsAt(s.main)).toEqual({ ...before, commitMany: before.commitMany! + 1 });
		expect(await s.main.hold(mixed)).toMatchObject({ state: "committed", lines: [line(s.plain, 3)] });
		expect(await s.main.hold(onlyPlain)).toMatchObject({ state: "committed" });
		expect(await s.main.hold(onlyHot), "the pool never saw the order only on the sharded unit").toBeNull();
		expect(await s.shardOf(mixed).hold(mixed)).toMatchObject({ state: "committed", lines: [line(s.hot, 2)] });
		expect(await levelOf(s.main, s.plain)).toMatchObject({ on_hand: 46, reserved: 0 });
	});

	it("a single commit, a release and a cancel of an order only on the sharded unit skip the warehouse's object", async () => {
		const s = await setup();
		const [c, r, x] = [await reserved(s, [line(s.hot, 1)]), await reserved(s, [line(s.hot, 1)]), await reserved(s, [line(s.hot, 1)])];
		const before = await holdCallsAt(s.main);
		expect(await sharded.commit(env, s.name, c, "checkout", [s.hot])).toMatchObject({ ok: true });
		expect(await sharded.release(env, s.name, r, "checkout", [s.hot])).toMatchObject({ ok: true, state: "released" });
		expect(await sharded.cancelHold(env, s.name, x, "checkout", undefined, [s.hot])).toMatchObject({ outcome: "released", lines: [line(s.hot, 1)] });
		// The units freed go back to the pool (the shard's give-back), but no commit, release or cancel reached it.
		expect(await holdCallsAt(s.main)).toEqual(before);
		expect(await s.shardOf(c).hold(c)).toMatchObject({ state: "committed" });
		expect(await s.shardOf(r).hold(r)).toMatchObject({ state: "released" });
		expect(await s.shardOf(x).hold(x)).toMatchObject({ state: "released" });
	});

	it("a hold the warehouse's object took under an out-of-date shard count (from its pool) is still committed, gathered or alone", async () => {
		const s = await setup();
		// What a gateway whose snapshot still showed one shard does: the reserve goes to the warehouse's object.
		const gathered = ref("stale");
		const alone = ref("stale");
		expect((await s.main.reserve(gathered, [line(s.hot, 2)], TTL)).ok).toBe(true);
		expect((await s.main.reserve(alone, [line(s.hot, 1)], TTL)).ok).toBe(true);
		const fresh = await reserved(s, [line(s.hot, 1)]);
		const results = await sharded.commitMany(env, s.name, [gathered, fresh], "checkout", new Map([[gathered, [s.hot]], [fresh, [s.hot]]]));
		expect(results[gathered]).toMatchObject({ ok: true });
		expect(results[fresh]).toMatchObject({ ok: true });
		expect(await sharded.commit(env, s.name, alone, "checkout", [s.hot])).toMatchObject({ ok: true });
		expect(await s.main.hold(gathered)).toMatchObject({ state: "committed", lines: [line(s.hot, 2)] });
		expect(await s.main.hold(alone)).toMatchObject({ state: "committed" });
		expect(await s.shardOf(fresh).hold(fresh)).toMatchObject({ state: "committed" });
	});

	it("a hold the warehouse's object took under an out-of-date shard count is still released, and still cancelled", async () => {
		const s = await setup();
		const released = ref("stale");
		const cancelled = ref("stale");
		expect((await s.main.reserve(released, [line(s.hot, 2)], TTL)).ok).toBe(true);
		expect((await s.main.reserve(cancelled, [line(s.hot, 3)], TTL)).ok).toBe(true);
		expect(await sharded.release(env, s.name, released, "checkout", [s.hot])).toMatchObject({ ok: true, state: "released", replayed: false });
		expect(await s.main.hold(released)).toMatchObject({ state: "released" });
		expect(await sharded.cancelHold(env, s.name, cancelled, "checkout", undefined, [s.hot])).toMatchObject({ outcome: "released", lines: [line(s.hot, 3)] });
		expect(await s.main.hold(cancelled)).toMatchObject({ state: "released" });
		// A committed one is restocked.
		const restocked = ref("stale");
		expect((await s.main.reserve(restocked, [line(s.hot, 1)], TTL)).ok).toBe(true);
		expect(await sharded.commit(env, s.name, restocked, "checkout", [s.hot])).toMatchObject({ ok: true });
		expect(await sharded.cancelHold(env, s.name, restocked, "checkout", undefined, [s.hot])).toMatchObject({ outcome: "restocked", lines: [line(s.hot, 1)] });
	});

	it("a mixed order whose sharded unit is held at a shard of a count changed elsewhere is still cancelled and released in full", async () => {
		const s = await setup();
		const start = availabilityClock.now();
		availabilityClock.now = () => start;
		try {
			// This isolate reads the routing (S shards); another isolate then reshards the unit, which this one does not hear of.
			expect((await sharded.shardedUnits(env, s.name)).map((u) => u.generations)).toEqual([[1, S]]);
			expect((await s.main.setSharded(ref("set"), { ...s.hot, on_hand: 100, shards: 2 * S })).ok).toBe(true);
			// Orders placed through the other isolate: the sharded unit held at its shard under the new count, the plain one at the warehouse's object.
			const placed = async (): Promise<{ r: string; at: WarehouseStub }> => {
				let r = ref("order");
				while (shardOf(r, 2 * S) === shardOf(r, S)) r = ref("order");
				const at = testEnv.WAREHOUSE.getByName(shardName(s.name, s.hot, shardOf(r, 2 * S)));
				expect((await at.reserve(r, [line(s.hot, 2)], TTL)).ok).toBe(true);
				expect((await s.main.reserve(r, [line(s.plain, 1)], TTL)).ok).toBe(true);
				return { r, at };
			};
			const units = [s.hot, s.plain];

			const committed = await placed();
			expect((await committed.at.commit(committed.r)).ok).toBe(true);
			expect((await s.main.commit(committed.r)).ok).toBe(true);
			const c = await sharded.cancelHold(env, s.name, committed.r, "admin", undefined, units);
			expect(c).toMatchObject({ outcome: "restocked" });
			expect([...c.lines].sort((a, b) => a.product_id.localeCompare(b.product_id))).toEqual([line(s.hot, 2), line(s.plain, 1)].sort((a, b) => a.product_id.localeCompare(b.product_id)));
			expect((await ledgerOf(committed.at, committed.r)).filter((e) => e.reason === "restock")).toHaveLength(1);

			const held = await placed();
			expect(await sharded.release(env, s.name, held.r, "checkout", units)).toMatchObject({ ok: true, state: "released" });
			expect(await held.at.hold(held.r)).toMatchObject({ state: "released" });
			expect(await s.main.hold(held.r)).toMatchObject({ state: "released" });
		} finally {
			availabilityClock.now = () => Date.now();
		}
	});

	it("without the order's units (the reconciler's rows) a commit and a cancel still reach the warehouse's object and the shards", async () => {
		const s = await setup();
		const atShard = await reserved(s, [line(s.hot, 1), line(s.plain, 1)]);
		const before = await holdCallsAt(s.main);
		expect(await sharded.commit(env, s.name, atShard, "reconciler")).toMatchObject({ ok: true });
		expect(await sharded.cancelHold(env, s.name, atShard, "reconciler")).toMatchObject({ outcome: "restocked" });
		expect(await holdCallsAt(s.main)).toEqual({ ...before, commit: before.commit! + 1, cancelHold: before.cancelHold! + 1 });
		expect(await levelOf(s.main, s.plain)).toMatchObject({ on_hand: 50, reserved: 0 });
	});
});

describe("targetsOf", () => {
	const hot = { product_id: "hot", size: "M", shards: 8, generations: [1, 4, 8] };
	const refs = ["a", "b", "c", "d"];
	it("an order only on a sharded unit: its shard for every count the unit has had, never the warehouse's object", () => {
		for (const r of refs) {
			const ts = sharded.targetsOf("w", r, [{ product_id: "hot", size: "M" }], [hot]);
			expect(ts.map((t) => t.name)).toEqual([...new Set([shardOf(r, 4), shardOf(r, 8)])].map((k) => shardName("w", hot, k)));
		}
	});
	it("an order with a unit sold at the warehouse's object (not sharded, or folded back to one) includes it", () => {
		expect(sharded.targetsOf("w", "a", [{ product_id: "plain", size: "M" }], [hot]).map((t) => t.name)).toEqual(["w"]);
		const folded = { ...hot, shards: 1 };
		expect(sharded.targetsOf("w", "a", [{ product_id: "hot", size: "M" }], [folded]).map((t) => t.name)[0]).toBe("w");
	});
	it("without the units: the warehouse's object and every shard that may hold the reference", () => {
		expect(sharded.targetsOf("w", "a", undefined, [hot]).map((t) => t.name)[0]).toBe("w");
		expect(sharded.targetsOf("w", "a", undefined, [hot]).length).toBeGreaterThan(1);
	});
	it("answers account for the order only when each sharded unit was known somewhere, or the warehouse's object was asked", () => {
		const ts = sharded.targetsOf("w", "a", [{ product_id: "hot", size: "M" }], [hot]);
		expect(sharded.accountedFor("w", ts, ts.map((_, i) => i === 0))).toBe(true);
		expect(sharded.accountedFor("w", ts, ts.map(() => false))).toBe(false);
		const mixed = sharded.targetsOf("w", "a", [{ product_id: "hot", size: "M" }, { product_id: "plain", size: "M" }], [hot]);
		expect(sharded.accountedFor("w", mixed, mixed.map((t) => t.name === "w"))).toBe(true);
	});
	it("with the warehouse's object asked, a sharded unit none of whose shards knew the order is still unaccounted for at its shards", () => {
		const mixed = sharded.targetsOf("w", "a", [{ product_id: "hot", size: "M" }, { product_id: "plain", size: "M" }], [hot]);
		expect(sharded.shardsKnew(mixed, mixed.map((t) => t.name === "w"))).toBe(false);
		expect(sharded.shardsKnew(mixed, mixed.map(() => true))).toBe(true);
	});
	it("a cancel's lines lack a unit of the order when none of its lines is that unit's", () => {
		const hotU = { product_id: "hot", size: "M" };
		const plainU = { product_id: "plain", size: "M" };
		expect(sharded.linesLack([hotU, plainU], [{ ...plainU, quantity: 1 }])).toBe(true);
		expect(sharded.linesLack([hotU, plainU], [{ ...plainU, quantity: 1 }, { ...hotU, quantity: 2 }])).toBe(false);
	});
});
