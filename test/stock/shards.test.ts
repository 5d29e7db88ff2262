/**
 * A unit split over shard objects: the warehouse's object keeps the pool and
 * grants units to shards; each shard sells only what it holds. Grants and
 * give-backs apply once; a dry shard asks before refusing, so nobody is told
 * sold out while units sit free elsewhere; units that come back are sold
 * again; folding back to one object loses nothing.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as quota from "../../src/stock/object/quota";
import { shardName } from "../../src/stock/shardNames";
import type { Unit } from "../../src/stock/types";
import { freshName, levelOf, line, mulberry32, randInt, ledgerOf, ref, restartWarehouse, TestClock, unit, useClock, type WarehouseStub } from "../helpers/stock";

const TTL = 60_000;

interface Sharded {
	name: string;
	main: WarehouseStub;
	u: Unit;
	shard(k: number): WarehouseStub;
}

async function sharded(onHand: number, shards: number): Promise<Sharded> {
	const name = freshName();
	const main = env.WAREHOUSE.getByName(name);
	const u = unit();
	const r = await main.setSharded(ref("set"), { ...u, on_hand: onHand, shards });
	expect(r.ok).toBe(true);
	return { name, main, u, shard: (k) => env.WAREHOUSE.getByName(shardName(name, u, k)) };
}

/** Free units of the unit: the pool's and every shard's, read from the objects. */
async function freeEverywhere(s: Sharded, slots: number): Promise<{ pool: number; shards: number[]; on_hand: number }> {
	const pool = (await s.main.stockView()).items.find((i) => i.product_id === s.u.product_id)!;
	const shards = await Promise.all(
		Array.from({ length: slots }, async (_, k) => {
			const row = (await s.shard(k).stockView()).items.find((i) => i.product_id === s.u.product_id);
			return row ? { free: row.on_hand - row.reserved, on_hand: row.on_hand } : { free: 0, on_hand: 0 };
		}),
	);
	return { pool: pool.on_hand - pool.reserved, shards: shards.map((x) => x.free), on_hand: pool.on_hand + shards.reduce((a, x) => a + x.on_hand, 0) };
}

async function audited(stubs: WarehouseStub[]): Promise<void> {
	for (const s of stubs) expect((await s.audit()).ok, "ledger replays to the object's stock").toBe(true);
}

describe("shards of a unit", () => {
	it("a dry shard is granted units from the pool, once, and the hold is taken there", async () => {
		const s = await sharded(20, 4);
		const r = await s.shard(2).reserve(ref("o"), [line(s.u, 3)], TTL);
		expect(r).toMatchObject({ ok: true, state: "held" });
		const mainLedger = await ledgerOf(s.main);
		const shardLedger = await ledgerOf(s.shard(2));
		const out = mainLedger.filter((e) => e.reason === "grant_out");
		const inn = shardLedger.filter((e) => e.reason === "grant_in");
		expect(out).toHaveLength(1);
		expect(inn).toHaveLength(1);
		expect(inn[0]!.ref).toBe(out[0]!.ref);
		expect(inn[0]!.on_hand_delta).toBe(-out[0]!.on_hand_delta);
		// The same grant delivered again (the alarm's retry) changes nothing.
		expect(await s.shard(2).receiveGrant(out[0]!.ref, s.u, -out[0]!.on_hand_delta)).toEqual({ applied: false });
		const f = await freeEverywhere(s, 4);
		expect(f.on_hand).toBe(20);
		expect(f.pool + f.shards.reduce((a, b) => a + b, 0)).toBe(17);
		await audited([s.main, s.shard(2)]);
	});

	it("a grant whose answer was lost reaches the shard by the pool's alarm, after a restart, exactly once", async () => {
		const s = await sharded(10, 2);
		// The shard asked, the pool granted, and the answer never came back.
		const answer = await s.main.ask(1, s.u, 2, { free: 0, on_hand: 0, reserved: 0, granted_in: 0, version: 0 });
		expect(answer.kind).toBe("grant");
		const grant = (answer as { grants: Array<{ grant_id: string; units: number }> }).grants[0]!;
		const main = await restartWarehouse(s.name);
		const clock = await useClock(main);
		clock.advance(5_000);
		expect(await runDurableObjectAlarm(main)).toBe(true);
		const inn = (await ledgerOf(s.shard(1))).filter((e) => e.reason === "grant_in");
		expect(inn.map((e) => [e.ref, e.on_hand_delta])).toEqual([[grant.grant_id, grant.units]]);
		// Redelivered once more (a second alarm): still applied once.
		expect(await s.shard(1).receiveGrant(grant.grant_id, s.u, grant.units)).toEqual({ applied: false });
		expect((await freeEverywhere({ ...s, main }, 2)).on_hand).toBe(10);
		await audited([main, s.shard(1)]);
	});

	it("no false sold-out: a dry shard with an empty pool is served from units another shard holds", async () => {
		const s = await sharded(12, 3);
		// Shard 0 takes a grant (at least 8) and holds 1; the pool keeps the rest.
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		// Shard 1 takes what the pool has left.
		const before = await freeEverywhere(s, 3);
		expect(before.shards[0]).toBeGreaterThan(0);
		const rest = before.pool + before.shards[0]!;
		// Shard 2 asks for every free unit there is: the pool is short, shard 0 gives back, the buyer is served.
		const r = await s.shard(2).reserve(ref("o"), [line(s.u, rest)], TTL);
		expect(r).toMatchObject({ ok: true });
		const after = await freeEverywhere(s, 3);
		expect(after.pool + after.shards.reduce((a, b) => a + b, 0)).toBe(0);
		expect((await ledgerOf(s.shard(0))).some((e) => e.reason === "give_back")).toBe(true);
		// Now nothing is free anywhere: a refusal is true.
		const refused = await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL);
		expect(refused).toMatchObject({ ok: false, reason: "insufficient_stock" });
		await audited([s.main, s.shard(0), s.shard(1), s.shard(2)]);
	});

	it("units that come back at a shard go to the pool and are sold to the next buyer at another shard", async () => {
		const s = await sharded(4, 2);
		const first = ref("o");
		expect((await s.shard(0).reserve(first, [line(s.u, 4)], TTL)).ok).toBe(true);
		expect(await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect((await s.shard(0).release(first)).ok).toBe(true);
		const f = await freeEverywhere(s, 2);
		expect(f.shards[0]).toBe(0);
		expect(f.pool).toBe(4);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 4)], TTL)).ok).toBe(true);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("concurrent buyers over every shard never oversell and are refused only once the unit is sold out", async () => {
		const loaded = 25;
		const s = await sharded(loaded, 4);
		const buyers = Array.from({ length: 40 }, (_, i) => ({ k: i % 4, ref: ref("o") }));
		const results = await Promise.all(buyers.map((b) => s.shard(b.k).reserve(b.ref, [line(s.u, 1)], TTL)));
		const held = buyers.filter((_, i) => results[i]!.ok);
		expect(held).toHaveLength(loaded);
		expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === "insufficient_stock")).toBe(true);
		const commits = await Promise.all(held.map((b) => s.shard(b.k).commit(b.ref)));
		expect(commits.every((c) => c.ok)).toBe(true);
		const f = await freeEverywhere(s, 4);
		expect(f.on_hand).toBe(0);
		await audited([s.main, s.shard(0), s.shard(1), s.shard(2), s.shard(3)]);
	});

	it("a reserve at the warehouse's object for a sharded unit gathers from the shards before refusing", async () => {
		const s = await sharded(10, 2);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		const r = await s.main.reserve(ref("o"), [line(s.u, 9)], TTL);
		expect(r).toMatchObject({ ok: true });
		expect(await s.main.reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		await audited([s.main, s.shard(0)]);
	});

	it("folding back to one object keeps the open holds at their shard and every free unit in the warehouse's object", async () => {
		const s = await sharded(10, 4);
		const open = ref("o");
		const kept = ref("o");
		expect((await s.shard(3).reserve(open, [line(s.u, 2)], TTL)).ok).toBe(true);
		expect((await s.shard(1).reserve(kept, [line(s.u, 3)], TTL)).ok).toBe(true);
		const folded = await s.main.setSharded(ref("set"), { ...s.u, on_hand: 10, shards: 1 });
		expect(folded).toMatchObject({ ok: true, levels: [{ on_hand: 10, reserved: 5 }] });
		const f = await freeEverywhere(s, 4);
		expect(f.shards).toEqual([0, 0, 0, 0]);
		expect(f.pool).toBe(5);
		expect((await s.main.shardConfigs())[0]).toMatchObject({ shards: 1, generations: [1, 4] });
		// The open holds are honoured where they are; the warehouse sells the rest.
		expect((await s.shard(1).commit(kept)).ok).toBe(true);
		expect((await s.main.reserve(ref("o"), [line(s.u, 5)], TTL)).ok).toBe(true);
		// A hold released after the fold comes back to the warehouse's object.
		expect((await s.shard(3).release(open)).ok).toBe(true);
		expect((await freeEverywhere(s, 4)).pool).toBe(2);
		await audited([s.main, s.shard(1), s.shard(3)]);
	});

	it("a hold that expires at a shard gives its units back to the pool, and another shard sells them", async () => {
		const s = await sharded(3, 2);
		const r = ref("o");
		expect((await s.shard(0).reserve(r, [line(s.u, 3)], TTL)).ok).toBe(true);
		const clock = await useClock(s.shard(0));
		clock.advance(TTL + 1_000);
		expect(await runDurableObjectAlarm(s.shard(0))).toBe(true);
		expect((await s.shard(0).hold(r))!.state).toBe("expired");
		expect((await freeEverywhere(s, 2)).pool).toBe(3);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 3)], TTL)).ok).toBe(true);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("give-backs sent again (a lost answer, a restarted shard) join the pool once", async () => {
		const s = await sharded(10, 2);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		// The pool reclaims shard 1's free units; the shard still lists the give-back as not known delivered.
		await s.main.gather(s.u);
		const pending = () => runInDurableObject(s.shard(1), (_, state) => state.storage.sql.exec(`SELECT give_id, product_id, size, units FROM give_backs WHERE delivered = 0`).toArray());
		const gives = await pending();
		expect(gives.length).toBeGreaterThan(0);
		// The same give-backs delivered twice by hand, then by the restarted shard's alarm.
		for (let i = 0; i < 2; i++) await s.main.receiveGiveBacks(1, gives as never);
		const shard = await restartWarehouse(shardName(s.name, s.u, 1));
		expect(await runDurableObjectAlarm(shard)).toBe(true);
		expect(await pending()).toEqual([]);
		const giveIns = (await ledgerOf(s.main)).filter((e) => e.reason === "give_in");
		expect(new Set(giveIns.map((e) => e.ref)).size).toBe(giveIns.length);
		const f = await freeEverywhere(s, 2);
		expect(f.on_hand).toBe(10);
		expect(f.pool + f.shards.reduce((a, b) => a + b, 0)).toBe(9);
		await audited([s.main, shard]);
	});

	it("a late commit at a shard whose expired units went back to the pool takes them again through a grant", async () => {
		const s = await sharded(2, 2);
		const r = ref("o");
		expect((await s.shard(0).reserve(r, [line(s.u, 2)], TTL)).ok).toBe(true);
		const clock = await useClock(s.shard(0));
		clock.advance(TTL + 1_000);
		expect(await runDurableObjectAlarm(s.shard(0))).toBe(true);
		expect(await s.shard(0).commit(r)).toMatchObject({ ok: true, late: true });
		expect((await freeEverywhere(s, 2)).on_hand).toBe(0);
		await audited([s.main, s.shard(0)]);
	});

	it("a late commitMany at a shard whose expired units went back to the pool takes them again through a grant, as a single commit does", async () => {
		const s = await sharded(3, 2);
		const late = ref("o");
		const held = ref("o");
		expect((await s.shard(0).reserve(late, [line(s.u, 2)], TTL)).ok).toBe(true);
		const clock = await useClock(s.shard(0));
		clock.advance(TTL + 1_000);
		expect(await runDurableObjectAlarm(s.shard(0))).toBe(true);
		expect((await freeEverywhere(s, 2)).shards[0]).toBe(0);
		expect((await s.shard(0).reserve(held, [line(s.u, 1)], TTL)).ok).toBe(true);
		expect(await s.shard(0).commitMany([held, late])).toEqual({ [held]: { ok: true, replayed: false, late: false }, [late]: { ok: true, replayed: false, late: true } });
		expect((await freeEverywhere(s, 2)).on_hand).toBe(0);
		await audited([s.main, s.shard(0)]);
	});

	it("a late commitMany at the warehouse's object for a sharded unit gathers the shards' free units before refusing", async () => {
		const s = await sharded(6, 2);
		const late = ref("o");
		expect((await s.main.reserve(late, [line(s.u, 4)], TTL)).ok).toBe(true);
		const clock = await useClock(s.main);
		clock.advance(TTL + 1_000);
		expect(await runDurableObjectAlarm(s.main)).toBe(true);
		// A buyer at a shard takes a grant: the pool alone no longer covers the late commit, the pool and the shard do.
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		const f = await freeEverywhere(s, 2);
		expect(f.pool).toBeLessThan(4);
		expect(f.pool + f.shards[1]!).toBe(5);
		expect(await s.main.commitMany([late])).toEqual({ [late]: { ok: true, replayed: false, late: true } });
		// One unit left and held at shard 1: a second late commit is refused, nothing moved.
		const short = ref("o");
		expect((await s.main.reserve(short, [line(s.u, 1)], TTL)).ok).toBe(true);
		clock.advance(TTL + 1_000);
		expect(await runDurableObjectAlarm(s.main)).toBe(true);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		expect(await s.main.commitMany([short])).toMatchObject({ [short]: { ok: false, reason: "insufficient_stock" } });
		expect((await freeEverywhere(s, 2)).on_hand).toBe(2);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("the reconciler's resolveDue at the warehouse resolves its shards' due holds too, and their units reach the pool", async () => {
		const s = await sharded(5, 3);
		const r = ref("o");
		expect((await s.shard(2).reserve(r, [line(s.u, 2)], TTL)).ok).toBe(true);
		const resolved = await s.main.resolveDue(Date.now() + TTL + 1_000);
		expect(resolved).toEqual({ committed: 0, expired: 1 });
		expect((await s.shard(2).hold(r))!.state).toBe("expired");
		expect((await freeEverywhere(s, 3)).pool).toBe(5);
		await audited([s.main, s.shard(2)]);
	});

	it("safety stock stays at the pool: buyers at the shards never take it, an adjustment may, after the shards gave their free units back", async () => {
		const name = freshName();
		const main = env.WAREHOUSE.getByName(name);
		const u = unit();
		expect((await main.setSharded(ref("set"), { ...u, on_hand: 6, shards: 2, safety_stock: 2 })).ok).toBe(true);
		const shard = (k: number) => env.WAREHOUSE.getByName(shardName(name, u, k));
		expect((await shard(0).reserve(ref("o"), [line(u, 3)], TTL)).ok).toBe(true);
		expect(await shard(1).reserve(ref("o"), [line(u, 2)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect((await shard(1).reserve(ref("o"), [line(u, 1)], TTL)).ok).toBe(true);
		// The 2 safety units stay at the pool; an adjustment takes them (shards hold none free now).
		const adj = await main.adjust(ref("adj"), u, -2, "damage");
		expect(adj).toMatchObject({ ok: true, level: { on_hand: 4, reserved: 4, available: 0 } });
		await audited([main, shard(0), shard(1)]);
	});

	it("a grant whose answer was lost is handed again with the shard's next ask and applied once", async () => {
		const s = await sharded(10, 2);
		const lost = await s.main.ask(1, s.u, 2, { free: 0, on_hand: 0, reserved: 0, granted_in: 0, version: 0 });
		expect(lost.kind).toBe("grant");
		const [grant] = (lost as { grants: Array<{ grant_id: string; units: number }> }).grants;
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 2)], TTL)).ok).toBe(true);
		const inn = (await ledgerOf(s.shard(1))).filter((e) => e.reason === "grant_in");
		expect(inn.map((e) => e.ref)).toEqual([grant!.grant_id]);
		expect((await ledgerOf(s.main)).filter((e) => e.reason === "grant_out")).toHaveLength(1);
		await audited([s.main, s.shard(1)]);
	});

	it("a seeded mix of buyers, releases and commits over every shard conserves every unit and never oversells", async () => {
		const loaded = 30;
		const slots = 4;
		const s = await sharded(loaded, slots);
		const rand = mulberry32(1907);
		const plan = Array.from({ length: 60 }, () => ({ k: randInt(rand, 0, slots - 1), q: randInt(rand, 1, 3), then: rand() < 0.3 ? "release" : "commit", ref: ref("o") }));
		const outcomes = await Promise.all(
			plan.map(async (p) => {
				const r = await s.shard(p.k).reserve(p.ref, [line(s.u, p.q)], TTL);
				if (!r.ok) return { ...p, sold: 0, refused: true };
				const done = p.then === "release" ? await s.shard(p.k).release(p.ref) : await s.shard(p.k).commit(p.ref);
				expect(done.ok).toBe(true);
				return { ...p, sold: p.then === "commit" ? p.q : 0, refused: false };
			}),
		);
		const sold = outcomes.reduce((a, o) => a + o.sold, 0);
		expect(sold).toBeLessThanOrEqual(loaded);
		const f = await freeEverywhere(s, slots);
		// Every unit is at the pool or a shard, or sold.
		expect(f.on_hand + sold).toBe(loaded);
		// The buyers asked for more than there was: some were refused, and what was not sold is free again.
		expect(outcomes.some((o) => o.refused)).toBe(true);
		expect(f.pool + f.shards.reduce((a, b) => a + b, 0)).toBe(loaded - sold);
		await audited([s.main, ...Array.from({ length: slots }, (_, k) => s.shard(k))]);
	});

	it("a deduct and a transfer out take units the shards hold (gathered into the pool first); a restore and a transfer in land in the pool", async () => {
		const s = await sharded(10, 2);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		// 8 free: some at the shards (their grants), the rest in the pool.
		expect((await freeEverywhere(s, 2)).pool).toBeLessThan(8);
		expect(await s.main.deduct(ref("d"), [line(s.u, 5)])).toMatchObject({ ok: true, levels: [{ on_hand: 5, reserved: 2, available: 3 }] });
		expect(await s.main.transferOut(ref("t"), "wh-elsewhere", [line(s.u, 3)])).toEqual({ ok: true, replayed: false });
		expect(await s.main.deduct(ref("d"), [line(s.u, 1)])).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect(await s.main.restore(ref("r"), [line(s.u, 4)])).toMatchObject({ ok: true, levels: [{ on_hand: 6, reserved: 2, available: 4 }] });
		expect((await s.main.receiveTransfer(ref("t"), [line(s.u, 1)])).ok).toBe(true);
		const f = await freeEverywhere(s, 2);
		expect(f.pool).toBe(5);
		expect(f.on_hand).toBe(7);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("a shard's report older than the one the pool keeps (an ask answered after a reclaim) changes nothing: no false sold-out", async () => {
		const s = await sharded(8, 2);
		// What shard 0 would report before its first grant, sent late, as an ask still in flight would arrive.
		const stale = (await s.shard(0).reclaim(ref("look"), s.u, 0)).report;
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		const pool = (await freeEverywhere(s, 2)).pool;
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, pool)], TTL)).ok).toBe(true);
		// Shard 0 holds every free unit left; the pool hears its levels, then the older report.
		const fresh = (await s.shard(0).reclaim(ref("look"), s.u, 0)).report;
		expect(fresh.free).toBeGreaterThan(0);
		expect(fresh.version).toBeGreaterThan(stale.version);
		expect(await s.main.ask(0, s.u, 1, fresh)).toEqual({ kind: "grant", grants: [] });
		await s.main.ask(0, s.u, 1, stale);
		// Shard 1 is dry and the pool empty: the units shard 0 holds are reclaimed for its buyer.
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, fresh.free)], TTL)).ok).toBe(true);
		expect((await freeEverywhere(s, 2)).on_hand).toBe(8);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("a level set while late reports of a shard arrive sets the unit's total exactly", async () => {
		const s = await sharded(20, 2);
		const stale = (await s.shard(0).reclaim(ref("look"), s.u, 0)).report;
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 2)], TTL)).ok).toBe(true);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		// Shard 0's report from before its grant keeps arriving (asks in flight) while the level is set.
		let setting = true;
		const late = (async () => {
			while (setting) await s.main.ask(0, s.u, 1, stale);
		})();
		const set = await s.main.setSharded(ref("set"), { ...s.u, on_hand: 30, shards: 2 });
		setting = false;
		await late;
		expect(set.ok).toBe(true);
		// Grants those asks got reach shard 0 by the pool's alarm; then every unit is at an object.
		const clock = await useClock(s.main);
		clock.advance(5_000);
		await runDurableObjectAlarm(s.main);
		expect((await freeEverywhere(s, 2)).on_hand).toBe(30);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("a crowd arriving at a dry shard costs the pool one ask per grant, not one per buyer", async () => {
		const s = await sharded(100, 4);
		const results = await Promise.all(Array.from({ length: 40 }, () => s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)));
		expect(results.every((r) => r.ok)).toBe(true);
		const asks = (await s.main.writeCounts()).by_kind.ask ?? 0;
		expect(asks).toBeGreaterThan(0);
		expect(asks).toBeLessThanOrEqual(5);
		await audited([s.main, s.shard(0)]);
	});
});

/** Time that does not pass: a crowd arriving at one instant. */
class FrozenClock extends TestClock {
	private readonly at = Date.now();
	override now(): number {
		return this.at;
	}
}

const NOTHING = { free: 0, on_hand: 0, reserved: 0, granted_in: 0, version: 0 };

async function asksAt(s: Sharded): Promise<number> {
	return (await s.main.requestCounts()).ask ?? 0;
}

/** Sells every unit at shard 0, then has every shard refused once: each then holds the sold-out declaration. */
async function soldOutEverywhere(s: Sharded, slots: number, total: number): Promise<string> {
	const all = ref("all");
	expect((await s.shard(0).reserve(all, [line(s.u, total)], TTL)).ok).toBe(true);
	for (let k = 0; k < slots; k++) expect(await s.shard(k).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
	return all;
}

describe("a sharded unit's sold-out declaration", () => {
	it("after the sell-out a shard told the unit is sold out refuses by itself: one ask per shard, not one per refusal", async () => {
		const s = await sharded(6, 3);
		await soldOutEverywhere(s, 3, 6);
		const before = await asksAt(s);
		for (let i = 0; i < 10; i++) {
			for (let k = 0; k < 3; k++) expect(await s.shard(k).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		}
		expect(await asksAt(s)).toBe(before);
		await audited([s.main, s.shard(0), s.shard(1), s.shard(2)]);
	});

	it("no declaration while a shard still holds units: a request larger than what is left is refused without one", async () => {
		const s = await sharded(4, 2);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 3)], TTL)).ok).toBe(true);
		// One unit is left (at shard 0 or the pool): a request for 2 is refused, a request for 1 is then served.
		expect(await s.shard(1).reserve(ref("o"), [line(s.u, 2)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect(await s.main.ask(1, s.u, 2, NOTHING)).toEqual({ kind: "refuse" });
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
	});

	it("units released at one shard: the declaration is revoked at every shard before they reach the pool, and another shard sells them", async () => {
		const s = await sharded(4, 2);
		const all = await soldOutEverywhere(s, 2, 4);
		expect((await s.shard(0).release(all)).ok).toBe(true);
		expect((await freeEverywhere(s, 2)).pool).toBe(4);
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 3)], TTL)).ok).toBe(true);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		expect(await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it.each([
		["a restock at the pool", async (s: Sharded) => void (await s.main.restock(ref("r"), [line(s.u, 2)]))],
		["a level set", async (s: Sharded) => void (await s.main.setSharded(ref("set"), { ...s.u, on_hand: 6, shards: 3 }))],
		["a positive adjustment", async (s: Sharded) => void (await s.main.adjust(ref("a"), s.u, 2, "correction"))],
		[
			"an expiry at a shard",
			async (s: Sharded) => {
				const clock = await useClock(s.shard(0));
				clock.advance(TTL + 1_000);
				expect(await runDurableObjectAlarm(s.shard(0))).toBe(true);
			},
		],
		["a cancel at a shard", async (s: Sharded, all: string) => void (await s.shard(0).cancelHold(all))],
	])("%s while the unit is declared sold out: every shard told sells again", async (_, bringBack: (s: Sharded, all: string) => Promise<void>) => {
		const s = await sharded(4, 3);
		const all = await soldOutEverywhere(s, 3, 4);
		await bringBack(s, all);
		for (const k of [2, 1]) expect((await s.shard(k).reserve(ref("o"), [line(s.u, 1)], TTL)).ok, `shard ${k} sells`).toBe(true);
		await audited([s.main, s.shard(0), s.shard(1), s.shard(2)]);
	});

	it("a declaration heard after its revocation (an ask's answer arriving late) stays dead: the shard asks and is served", async () => {
		const s = await sharded(2, 2);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 2)], TTL)).ok).toBe(true);
		// Shard 1 asks with nothing anywhere: the answer declares the unit sold out...
		const answer = await s.main.ask(1, s.u, 1, NOTHING);
		expect(answer).toMatchObject({ kind: "refuse", sold_out: expect.any(Number) });
		const epoch = (answer as { sold_out: number }).sold_out;
		// ...units come back at the pool, which revokes the declaration at shard 1 first...
		await s.main.restock(ref("r"), [line(s.u, 3)]);
		// ...and only then does the answer reach shard 1.
		await runInDurableObject(s.shard(1), (_, state) => state.storage.transactionSync(() => quota.hearSoldOut(state.storage.sql, s.u, epoch)));
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, 3)], TTL)).ok).toBe(true);
		// The next sell-out declares anew (a newer epoch), which shard 1 holds.
		const before = await asksAt(s);
		expect(await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false });
		expect(await s.shard(1).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false });
		expect((await asksAt(s)) - before).toBe(1);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it.each([
		["a restock", async (main: WarehouseStub, y: Unit) => expect((await main.restock(ref("r"), [line(y, 2)])).ok).toBe(true)],
		["a level set", async (main: WarehouseStub, y: Unit) => expect((await main.setLevels(ref("set"), [{ ...y, on_hand: 9 }])).ok).toBe(true)],
		["a positive adjustment", async (main: WarehouseStub, y: Unit) => expect((await main.adjust(ref("a"), y, 2, "correction")).ok).toBe(true)],
		[
			"a release",
			async (main: WarehouseStub, y: Unit) => {
				const r = ref("y");
				expect((await main.reserve(r, [line(y, 1)], TTL)).ok).toBe(true);
				expect((await main.release(r)).ok).toBe(true);
			},
		],
		[
			"a cancel",
			async (main: WarehouseStub, y: Unit) => {
				const r = ref("y");
				expect((await main.reserve(r, [line(y, 1)], TTL)).ok).toBe(true);
				expect((await main.cancelHold(r)).ok).toBe(true);
			},
		],
		[
			"an expiry",
			async (main: WarehouseStub, y: Unit) => {
				const r = ref("y");
				expect((await main.reserve(r, [line(y, 1)], TTL)).ok).toBe(true);
				const clock = await useClock(main);
				clock.advance(TTL + 1_000);
				expect(await runDurableObjectAlarm(main)).toBe(true);
				expect((await main.hold(r))?.state).toBe("expired");
			},
		],
	])("%s of another unit at the warehouse leaves the declaration alone, even with a shard that cannot hear a revocation", async (_, bringBackOther: (main: WarehouseStub, y: Unit) => Promise<void>) => {
		const s = await sharded(3, 3);
		const y = unit();
		expect((await s.main.setLevels(ref("set"), [{ ...y, on_hand: 5 }])).ok).toBe(true);
		await soldOutEverywhere(s, 3, 3);
		// Shard 2 fails any revocation (an overloaded object): a write that does not concern the unit never reaches it.
		await runInDurableObject(s.shard(2), (_, state) =>
			state.storage.sql.exec(`CREATE TRIGGER no_revoke BEFORE UPDATE OF revoked ON sold_out WHEN NEW.revoked > OLD.revoked BEGIN SELECT RAISE(ABORT, 'overloaded'); END`),
		);
		await bringBackOther(s.main, y);
		expect((await levelOf(s.main, y)).reserved).toBe(0);
		const before = await asksAt(s);
		for (let k = 0; k < 3; k++) {
			expect(await runInDurableObject(s.shard(k), (_, state) => quota.soldOut(state.storage.sql, s.u)), `shard ${k} still holds the declaration`).toBe(true);
			expect(await s.shard(k).reserve(ref("o"), [line(s.u, 1)], TTL)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		}
		expect(await asksAt(s)).toBe(before);
		await audited([s.main, s.shard(0), s.shard(1), s.shard(2)]);
	});

	it("a grant ends a declaration the shard holds (the pool had units)", async () => {
		const s = await sharded(2, 2);
		const all = await soldOutEverywhere(s, 2, 2);
		expect((await s.shard(0).release(all)).ok).toBe(true);
		const epoch = (await s.main.ask(1, s.u, 1, NOTHING)) as { kind: string; grants?: Array<{ grant_id: string; units: number }> };
		expect(epoch.kind).toBe("grant");
		// The grant reaches shard 1 while it still believes an old declaration: it sells what it was granted.
		await runInDurableObject(s.shard(1), (_, state) => state.storage.transactionSync(() => quota.hearSoldOut(state.storage.sql, s.u, 1_000)));
		const g = epoch.grants![0]!;
		expect(await s.shard(1).receiveGrant(g.grant_id, s.u, g.units)).toEqual({ applied: true });
		expect((await s.shard(1).reserve(ref("o"), [line(s.u, g.units)], TTL)).ok).toBe(true);
	});
});

describe("grants of a sharded unit", () => {
	it("a grant covers the shard's recent demand (one second of it), not the smallest grant", async () => {
		const s = await sharded(1000, 2);
		await useClock(s.shard(0), new FrozenClock());
		for (let i = 0; i < 50; i++) expect((await s.shard(0).reserve(ref("o"), [line(s.u, 1)], TTL)).ok).toBe(true);
		// Asked at the 1st, 9th, 18th and 36th buyer of one instant: each grant is the demand seen so far (8 at least).
		const grants = (await ledgerOf(s.main)).filter((e) => e.reason === "grant_out").map((e) => -e.on_hand_delta);
		expect(grants).toEqual([8, 9, 18, 36]);
		await audited([s.main, s.shard(0)]);
	});

	it("grants known applied are dropped at the pool (an ask never sums a sale's history), and one delivered again is still a no-op", async () => {
		const s = await sharded(400, 2);
		for (let i = 0; i < 40; i++) expect((await s.shard(i % 2).reserve(ref("o"), [line(s.u, 8)], TTL)).ok).toBe(true);
		const out = (await ledgerOf(s.main)).filter((e) => e.reason === "grant_out");
		expect(out.length).toBeGreaterThan(4);
		const kept = await runInDurableObject(s.main, (_, state) => Number(state.storage.sql.exec(`SELECT COUNT(*) AS n FROM grants`).one().n));
		expect(kept).toBeLessThanOrEqual(2);
		// The oldest grant, long dropped at the pool, redelivered: the shard applied it once.
		const first = out[0]!;
		const to = (await ledgerOf(s.shard(0))).some((e) => e.ref === first.ref) ? 0 : 1;
		expect(await s.shard(to).receiveGrant(first.ref, s.u, -first.on_hand_delta)).toEqual({ applied: false });
		// The pool's bound on each shard is still exact: every free unit is found (the last 80 sold from everywhere).
		const f = await freeEverywhere(s, 2);
		expect(f.on_hand).toBe(400);
		expect(f.pool + f.shards[0]! + f.shards[1]!).toBe(80);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 80)], TTL)).ok).toBe(true);
		await audited([s.main, s.shard(0), s.shard(1)]);
	});

	it("a pool that kept every grant (before the running total) counts them once on upgrade and drops the applied ones", async () => {
		const s = await sharded(100, 2);
		expect((await s.shard(0).reserve(ref("o"), [line(s.u, 3)], TTL)).ok).toBe(true);
		const granted = -(await ledgerOf(s.main)).filter((e) => e.reason === "grant_out").reduce((a, e) => a + e.on_hand_delta, 0);
		// The pool as it was stored before: no running total, every grant kept (this one applied, one more not yet).
		await runInDurableObject(s.main, (_, state) =>
			state.storage.transactionSync(() => {
				const sql = state.storage.sql;
				sql.exec(`ALTER TABLE shard_reports DROP COLUMN granted_out`);
				sql.exec(`DELETE FROM grants`);
				sql.exec(`INSERT INTO grants (grant_id, product_id, size, shard, units, delivered, at) VALUES ('old-applied', ?, ?, 0, ?, 1, 0)`, s.u.product_id, s.u.size, granted);
				sql.exec(`INSERT INTO grants (grant_id, product_id, size, shard, units, delivered, at) VALUES ('old-pending', ?, ?, 1, 5, 0, 0)`, s.u.product_id, s.u.size);
			}),
		);
		const main = await restartWarehouse(s.name);
		const books = await runInDurableObject(main, (_, state) => ({
			out: state.storage.sql.exec(`SELECT shard, granted_out FROM shard_reports WHERE product_id = ? ORDER BY shard`, s.u.product_id).toArray(),
			kept: state.storage.sql.exec(`SELECT grant_id FROM grants`).toArray(),
		}));
		expect(books.out).toEqual([
			{ shard: 0, granted_out: granted },
			{ shard: 1, granted_out: 5 },
		]);
		expect(books.kept).toEqual([{ grant_id: "old-pending" }]);
	});
});
