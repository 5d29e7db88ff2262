/**
 * The Warehouse Durable Object's RPC methods, one by one: success and failure
 * paths, idempotency by reference (a repeat is replayed and changes nothing,
 * not even the ledger), and the all-or-nothing rules.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import * as store from "../../src/stock/object/store";
import { errorFrom, freshWarehouse, levelOf, ledgerOf, line, ref, unit, type WarehouseStub } from "../helpers/stock";
import type { Unit } from "../../src/stock/types";

const LONG_TTL = 60_000;

/** A fresh warehouse holding `onHand` of one new unit. */
async function stocked(onHand: number): Promise<{ stub: WarehouseStub; u: Unit }> {
	const stub = freshWarehouse();
	const u = unit();
	const r = await stub.setLevels(ref("set"), [{ ...u, on_hand: onHand }]);
	expect(r.ok).toBe(true);
	return { stub, u };
}

async function ledgerCount(stub: WarehouseStub): Promise<number> {
	return (await ledgerOf(stub)).length;
}

describe("store.applyDelta on an existing stock row", () => {
	// The CHECK constraint must judge the resulting row, not the delta: a delta row
	// such as (on_hand 0, reserved +1) is not a valid stock row on its own.
	it("adds to reserved of a row that has on_hand", async () => {
		const stub = freshWarehouse();
		const u = unit();
		const level = await runInDurableObject(stub, (_, state) => {
			const sql = state.storage.sql;
			store.applyDelta(sql, { unit: u, on_hand_delta: 5, reserved_delta: 0, reason: "set", ref: "a", actor: "test", at: Date.now() });
			store.applyDelta(sql, { unit: u, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "b", actor: "test", at: Date.now() });
			return store.getLevel(sql, u);
		});
		expect(level).toEqual({ ...u, on_hand: 5, reserved: 2, available: 3 });
	});

	it("lowers on_hand of a row that has on_hand", async () => {
		const stub = freshWarehouse();
		const u = unit();
		const level = await runInDurableObject(stub, (_, state) => {
			const sql = state.storage.sql;
			store.applyDelta(sql, { unit: u, on_hand_delta: 5, reserved_delta: 0, reason: "set", ref: "a", actor: "test", at: Date.now() });
			store.applyDelta(sql, { unit: u, on_hand_delta: -2, reserved_delta: 0, reason: "deduct", ref: "b", actor: "test", at: Date.now() });
			return store.getLevel(sql, u);
		});
		expect(level).toEqual({ ...u, on_hand: 3, reserved: 0, available: 3 });
	});

	it("still refuses a change that would leave the row oversold", async () => {
		const stub = freshWarehouse();
		const u = unit();
		const outcome = await runInDurableObject(stub, (_, state) => {
			const sql = state.storage.sql;
			store.applyDelta(sql, { unit: u, on_hand_delta: 1, reserved_delta: 0, reason: "set", ref: "a", actor: "test", at: Date.now() });
			try {
				state.storage.transactionSync(() => {
					store.applyDelta(sql, { unit: u, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "b", actor: "test", at: Date.now() });
				});
				return "applied";
			} catch (e) {
				return String(e);
			}
		});
		expect(outcome).toMatch(/CHECK constraint failed/);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 1, reserved: 0 });
	});
});

describe("reserve", () => {
	it("holds the units: reserved rises, on_hand stays, one reserve ledger row", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		const before = Date.now();
		const res = await stub.reserve(r, [line(u, 2)], LONG_TTL);
		expect(res).toMatchObject({ ok: true, state: "held", replayed: false });
		if (!res.ok) throw new Error("unreachable");
		expect(res.expires_at).toBeGreaterThanOrEqual(before + LONG_TTL);
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 5, reserved: 2, available: 3 });
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ reason: "reserve", on_hand_delta: 0, reserved_delta: 2, actor: "checkout" });
	});

	it("records the hold with its lines and expiry", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		const res = await stub.reserve(r, [line(u, 2)], LONG_TTL);
		if (!res.ok) throw new Error(`reserve failed: ${res.reason}`);
		const hold = await stub.hold(r);
		expect(hold).toMatchObject({ ref: r, state: "held", expires_at: res.expires_at, lines: [line(u, 2)] });
	});

	it("is idempotent by reference: a repeat is replayed and changes nothing", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		const first = await stub.reserve(r, [line(u, 2)], LONG_TTL);
		const rows = await ledgerCount(stub);
		const again = await stub.reserve(r, [line(u, 2)], LONG_TTL);
		expect(again).toEqual({ ok: true, state: "held", expires_at: first.ok ? first.expires_at : -1, replayed: true });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 2 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses more than is available with the shortages, holding nothing", async () => {
		const { stub, u } = await stocked(3);
		const r = ref("order");
		const rows = await ledgerCount(stub);
		const res = await stub.reserve(r, [line(u, 4)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 4, available: 3 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3, reserved: 0 });
		expect(await stub.hold(r)).toBeNull();
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("counts what other holds already reserved", async () => {
		const { stub, u } = await stocked(5);
		expect((await stub.reserve(ref("a"), [line(u, 4)], LONG_TTL)).ok).toBe(true);
		const res = await stub.reserve(ref("b"), [line(u, 2)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 2, available: 1 }] });
	});

	it("refuses a unit the warehouse has never stocked", async () => {
		const stub = freshWarehouse();
		const u = unit();
		const res = await stub.reserve(ref("order"), [line(u, 1)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 1, available: 0 }] });
	});

	it("adds up two lines of the same unit before checking: each fits alone, together they do not", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		const rows = await ledgerCount(stub);
		const res = await stub.reserve(r, [line(u, 3), line(u, 3)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 6, available: 5 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect(await stub.hold(r)).toBeNull();
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("merges two lines of the same unit into one hold line when they fit", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		expect((await stub.reserve(r, [line(u, 2), line(u, 3)], LONG_TTL)).ok).toBe(true);
		expect((await stub.hold(r))!.lines).toEqual([line(u, 5)]);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 5, available: 0 });
	});

	it("is all-or-nothing over several units: one short unit holds nothing anywhere", async () => {
		const stub = freshWarehouse();
		const a = unit("S");
		const b = unit("L");
		await stub.setLevels(ref("set"), [
			{ ...a, on_hand: 10 },
			{ ...b, on_hand: 1 },
		]);
		const r = ref("order");
		const res = await stub.reserve(r, [line(a, 2), line(b, 2)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...b, requested: 2, available: 1 }] });
		expect(await stub.availability([a, b])).toEqual([
			{ ...a, on_hand: 10, reserved: 0, available: 10 },
			{ ...b, on_hand: 1, reserved: 0, available: 1 },
		]);
	});

	it("does not consume the reference when it fails: a retry after restocking holds", async () => {
		const { stub, u } = await stocked(1);
		const r = ref("order");
		expect((await stub.reserve(r, [line(u, 2)], LONG_TTL)).ok).toBe(false);
		await stub.restock(ref("restock"), [line(u, 1)]);
		expect(await stub.reserve(r, [line(u, 2)], LONG_TTL)).toMatchObject({ ok: true, state: "held", replayed: false });
	});

	it("refuses a reference released earlier (the tombstone): hold_closed, nothing held", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: false, unknown: true });
		const rows = await ledgerCount(stub);
		const res = await stub.reserve(r, [line(u, 1)], LONG_TTL);
		expect(res).toEqual({ ok: false, reason: "hold_closed", state: "released" });
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 0 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("replays a committed reference as committed, holding nothing more", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		await stub.commit(r);
		const res = await stub.reserve(r, [line(u, 2)], LONG_TTL);
		expect(res).toMatchObject({ ok: true, state: "committed", replayed: true });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3, reserved: 0 });
	});

	it("records the actor it is given", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 1)], LONG_TTL, { actor: "user-42" });
		expect((await ledgerOf(stub)).find((e) => e.ref === r)?.actor).toBe("user-42");
	});

	it("throws for a non-positive ttl or an invalid line (bugs, not outcomes)", async () => {
		const { stub, u } = await stocked(5);
		expect(await errorFrom(stub, (w) => w.reserve(ref("a"), [line(u, 1)], 0))).toMatch(/^TypeError: .*ttlMs must be positive/);
		expect(await errorFrom(stub, (w) => w.reserve(ref("b"), [line(u, 0)], LONG_TTL))).toMatch(/^TypeError: .*invalid line/);
		expect(await errorFrom(stub, (w) => w.reserve(ref("c"), [], LONG_TTL))).toMatch(/^TypeError: .*non-empty array/);
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 0 });
	});
});

describe("commit", () => {
	it("takes a held hold's units: on_hand and reserved both drop, one commit row", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		expect(await stub.commit(r)).toEqual({ ok: true, replayed: false, late: false });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 3, reserved: 0, available: 3 });
		expect((await stub.hold(r))!.state).toBe("committed");
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r && e.reason === "commit");
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ on_hand_delta: -2, reserved_delta: -2 });
	});

	it("commits every unit of a multi-unit hold", async () => {
		const stub = freshWarehouse();
		const a = unit("S");
		const b = unit("M");
		await stub.setLevels(ref("set"), [
			{ ...a, on_hand: 4 },
			{ ...b, on_hand: 4 },
		]);
		const r = ref("order");
		await stub.reserve(r, [line(a, 1), line(b, 3)], LONG_TTL);
		await stub.commit(r);
		expect(await stub.availability([a, b])).toEqual([
			{ ...a, on_hand: 3, reserved: 0, available: 3 },
			{ ...b, on_hand: 1, reserved: 0, available: 1 },
		]);
	});

	it("is idempotent by reference: a repeat is replayed and takes nothing more", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		await stub.commit(r);
		const rows = await ledgerCount(stub);
		expect(await stub.commit(r)).toEqual({ ok: true, replayed: true, late: false });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3, reserved: 0 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses an unknown reference", async () => {
		const { stub, u } = await stocked(5);
		const rows = await ledgerCount(stub);
		expect(await stub.commit(ref("nobody"))).toEqual({ ok: false, reason: "unknown_hold" });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses a released hold and takes nothing", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		await stub.release(r);
		const rows = await ledgerCount(stub);
		expect(await stub.commit(r)).toEqual({ ok: false, reason: "hold_released" });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect((await stub.hold(r))!.state).toBe("released");
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses a reference that only has a release tombstone", async () => {
		const { stub } = await stocked(5);
		const r = ref("order");
		await stub.release(r);
		expect(await stub.commit(r)).toEqual({ ok: false, reason: "hold_released" });
	});
});

describe("release", () => {
	it("gives a held hold's units back: reserved drops, on_hand stays, one release row", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: false });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 5, reserved: 0, available: 5 });
		expect((await stub.hold(r))!.state).toBe("released");
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r && e.reason === "release");
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ on_hand_delta: 0, reserved_delta: -2 });
	});

	it("is idempotent by reference: a repeat is replayed and gives nothing more back", async () => {
		const { stub, u } = await stocked(5);
		const other = ref("other");
		await stub.reserve(other, [line(u, 1)], LONG_TTL);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		await stub.release(r);
		const rows = await ledgerCount(stub);
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: true });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 1 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("before any reserve leaves a tombstone without touching stock", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		const rows = await ledgerCount(stub);
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: false, unknown: true });
		expect(await stub.hold(r)).toMatchObject({ ref: r, state: "released", lines: [] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect(await ledgerCount(stub)).toBe(rows);
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: true });
	});

	it("refuses a committed hold and gives nothing back", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 2)], LONG_TTL);
		await stub.commit(r);
		const rows = await ledgerCount(stub);
		expect(await stub.release(r)).toEqual({ ok: false, reason: "hold_committed" });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3, reserved: 0 });
		expect((await stub.hold(r))!.state).toBe("committed");
		expect(await ledgerCount(stub)).toBe(rows);
	});
});

describe("restock", () => {
	it("puts units back on hand with one restock row per unit", async () => {
		const { stub, u } = await stocked(2);
		const r = ref("cancel");
		const res = await stub.restock(r, [line(u, 3)]);
		expect(res).toEqual({ ok: true, replayed: false, levels: [{ ...u, on_hand: 5, reserved: 0, available: 5 }] });
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ reason: "restock", on_hand_delta: 3, reserved_delta: 0 });
	});

	it("adds up lines of the same unit", async () => {
		const { stub, u } = await stocked(0);
		await stub.restock(ref("cancel"), [line(u, 1), line(u, 2)]);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3 });
	});

	it("is idempotent by reference: a repeat is replayed and adds nothing", async () => {
		const { stub, u } = await stocked(2);
		const r = ref("cancel");
		await stub.restock(r, [line(u, 3)]);
		const rows = await ledgerCount(stub);
		const again = await stub.restock(r, [line(u, 3)]);
		expect(again).toEqual({ ok: true, replayed: true, levels: [{ ...u, on_hand: 5, reserved: 0, available: 5 }] });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("throws for an invalid line", async () => {
		const { stub, u } = await stocked(2);
		expect(await errorFrom(stub, (w) => w.restock(ref("cancel"), [line(u, -1)]))).toMatch(/^TypeError: .*invalid line/);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 2 });
	});
});

describe("restore", () => {
	it("puts units back on hand with a restore row", async () => {
		const { stub, u } = await stocked(2);
		const r = ref("restore");
		const res = await stub.restore(r, [line(u, 4)]);
		expect(res).toEqual({ ok: true, replayed: false, levels: [{ ...u, on_hand: 6, reserved: 0, available: 6 }] });
		expect((await ledgerOf(stub)).filter((e) => e.ref === r).map((e) => e.reason)).toEqual(["restore"]);
	});

	it("is idempotent by reference: a repeat is replayed and adds nothing", async () => {
		const { stub, u } = await stocked(2);
		const r = ref("restore");
		await stub.restore(r, [line(u, 4)]);
		const rows = await ledgerCount(stub);
		expect(await stub.restore(r, [line(u, 4)])).toMatchObject({ ok: true, replayed: true });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 6 });
		expect(await ledgerCount(stub)).toBe(rows);
	});
});

describe("deduct", () => {
	it("takes units off hand with a deduct row and answers the new levels", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("deduct");
		const res = await stub.deduct(r, [line(u, 2)], { actor: "admin-1", note: "sold offline" });
		expect(res).toEqual({ ok: true, replayed: false, levels: [{ ...u, on_hand: 3, reserved: 0, available: 3 }] });
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ reason: "deduct", on_hand_delta: -2, reserved_delta: 0, actor: "admin-1", note: "sold offline" });
	});

	it("is idempotent by reference: a repeat is replayed and takes nothing more", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("deduct");
		await stub.deduct(r, [line(u, 2)]);
		const rows = await ledgerCount(stub);
		expect(await stub.deduct(r, [line(u, 2)])).toMatchObject({ ok: true, replayed: true });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("never takes reserved units: it checks available, not on_hand", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 3)], LONG_TTL);
		const rows = await ledgerCount(stub);
		const res = await stub.deduct(ref("deduct"), [line(u, 3)]);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 3, available: 2 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 3 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("adds up two lines of the same unit before checking", async () => {
		const { stub, u } = await stocked(3);
		const res = await stub.deduct(ref("deduct"), [line(u, 2), line(u, 2)]);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 4, available: 3 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3 });
	});

	it("is all-or-nothing over several units", async () => {
		const stub = freshWarehouse();
		const a = unit("S");
		const b = unit("M");
		await stub.setLevels(ref("set"), [
			{ ...a, on_hand: 5 },
			{ ...b, on_hand: 1 },
		]);
		const res = await stub.deduct(ref("deduct"), [line(a, 1), line(b, 2)]);
		expect(res).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect((await stub.availability([a, b])).map((l) => l.on_hand)).toEqual([5, 1]);
	});
});

describe("setLevels", () => {
	it("sets absolute on-hand levels, writing the difference to the ledger", async () => {
		const { stub, u } = await stocked(5);
		const other = unit("XL");
		const r = ref("count");
		const res = await stub.setLevels(r, [
			{ ...u, on_hand: 2 },
			{ ...other, on_hand: 7 },
		]);
		expect(res).toEqual({
			ok: true,
			replayed: false,
			levels: [
				{ ...u, on_hand: 2, reserved: 0, available: 2 },
				{ ...other, on_hand: 7, reserved: 0, available: 7 },
			],
		});
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r);
		expect(rows.map((e) => [e.product_id, e.reason, e.on_hand_delta])).toEqual([
			[u.product_id, "set", -3],
			[other.product_id, "set", 7],
		]);
	});

	it("is idempotent by reference: a repeat (even with other values) is replayed and sets nothing", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("count");
		await stub.setLevels(r, [{ ...u, on_hand: 8 }]);
		const rows = await ledgerCount(stub);
		const again = await stub.setLevels(r, [{ ...u, on_hand: 1 }]);
		expect(again).toEqual({ ok: true, replayed: true, levels: [{ ...u, on_hand: 8, reserved: 0, available: 8 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 8 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("allows on_hand down to exactly what is reserved", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 3)], LONG_TTL);
		expect(await stub.setLevels(ref("count"), [{ ...u, on_hand: 3 }])).toMatchObject({ ok: true });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 3, reserved: 3, available: 0 });
	});

	it("refuses a level below reserved, all-or-nothing: no unit of the request changes", async () => {
		const { stub, u } = await stocked(5);
		const fine = unit("S");
		await stub.reserve(ref("order"), [line(u, 3)], LONG_TTL);
		const rows = await ledgerCount(stub);
		const res = await stub.setLevels(ref("count"), [
			{ ...fine, on_hand: 9 },
			{ ...u, on_hand: 2 },
		]);
		expect(res).toEqual({ ok: false, reason: "below_reserved", conflicts: [{ ...u, on_hand: 2, reserved: 3 }] });
		expect(await stub.availability([fine, u])).toEqual([
			{ ...fine, on_hand: 0, reserved: 0, available: 0 },
			{ ...u, on_hand: 5, reserved: 3, available: 2 },
		]);
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("lets the last value win when a unit appears twice", async () => {
		const { stub, u } = await stocked(5);
		await stub.setLevels(ref("count"), [
			{ ...u, on_hand: 9 },
			{ ...u, on_hand: 4 },
		]);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 4 });
		const total = (await ledgerOf(stub)).filter((e) => e.product_id === u.product_id).reduce((s, e) => s + e.on_hand_delta, 0);
		expect(total).toBe(4);
	});

	it("throws for a negative or fractional on_hand", async () => {
		const { stub, u } = await stocked(5);
		expect(await errorFrom(stub, (w) => w.setLevels(ref("count"), [{ ...u, on_hand: -1 }]))).toMatch(/^TypeError: .*invalid on_hand/);
		expect(await errorFrom(stub, (w) => w.setLevels(ref("count"), [{ ...u, on_hand: 1.5 }]))).toMatch(/^TypeError: .*invalid on_hand/);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5 });
	});
});

describe("adjust", () => {
	it("adds a delta with its reason, actor and note in the ledger", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("adj");
		const res = await stub.adjust(r, u, 4, "receive", { actor: "admin-7", note: "PO 12" });
		expect(res).toEqual({ ok: true, replayed: false, level: { ...u, on_hand: 9, reserved: 0, available: 9 } });
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ reason: "receive", on_hand_delta: 4, reserved_delta: 0, actor: "admin-7", note: "PO 12" });
	});

	it("takes units off with a negative delta", async () => {
		const { stub, u } = await stocked(5);
		expect(await stub.adjust(ref("adj"), u, -2, "damage")).toMatchObject({ ok: true, level: { on_hand: 3 } });
	});

	it("is idempotent by reference: a repeat is replayed and changes nothing", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("adj");
		await stub.adjust(r, u, 4, "receive");
		const rows = await ledgerCount(stub);
		expect(await stub.adjust(r, u, 4, "receive")).toEqual({ ok: true, replayed: true, level: { ...u, on_hand: 9, reserved: 0, available: 9 } });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses to go below reserved and changes nothing", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 4)], LONG_TTL);
		const rows = await ledgerCount(stub);
		const res = await stub.adjust(ref("adj"), u, -2, "shrinkage");
		expect(res).toEqual({ ok: false, reason: "below_reserved", conflicts: [{ ...u, on_hand: 3, reserved: 4 }] });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 4 });
		expect(await ledgerCount(stub)).toBe(rows);
	});

	it("refuses to take a never-stocked unit below zero", async () => {
		const stub = freshWarehouse();
		const u = unit();
		expect(await stub.adjust(ref("adj"), u, -1, "correction")).toEqual({ ok: false, reason: "below_reserved", conflicts: [{ ...u, on_hand: -1, reserved: 0 }] });
		expect((await stub.snapshot()).items).toEqual([]);
	});

	it("throws for a zero or fractional delta", async () => {
		const { stub, u } = await stocked(5);
		expect(await errorFrom(stub, (w) => w.adjust(ref("adj"), u, 0, "correction"))).toMatch(/^TypeError: .*non-zero integer/);
		expect(await errorFrom(stub, (w) => w.adjust(ref("adj"), u, 0.5, "correction"))).toMatch(/^TypeError: .*non-zero integer/);
	});
});

describe("availability", () => {
	it("answers the levels in the order asked, zeros for unknown units", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 2)], LONG_TTL);
		const unknown = unit("XS");
		expect(await stub.availability([unknown, u])).toEqual([
			{ ...unknown, on_hand: 0, reserved: 0, available: 0 },
			{ ...u, on_hand: 5, reserved: 2, available: 3 },
		]);
	});
});

describe("hold", () => {
	it("answers null for an unknown reference", async () => {
		const stub = freshWarehouse();
		expect(await stub.hold(ref("nobody"))).toBeNull();
	});
});

describe("snapshot", () => {
	it("is empty for a new warehouse", async () => {
		const stub = freshWarehouse();
		expect(await stub.snapshot()).toEqual({ items: [], holds: { held: 0, next_expiry: null } });
	});

	it("lists every unit sorted, counts open holds and gives the earliest expiry", async () => {
		const stub = freshWarehouse();
		const product = `p-${crypto.randomUUID().slice(0, 8)}`;
		const m = unit("M", product);
		const l = unit("L", product);
		await stub.setLevels(ref("set"), [
			{ ...m, on_hand: 4 },
			{ ...l, on_hand: 6 },
		]);
		const late = await stub.reserve(ref("late"), [line(m, 1)], LONG_TTL * 2);
		const early = await stub.reserve(ref("early"), [line(l, 2)], LONG_TTL);
		const done = ref("done");
		await stub.reserve(done, [line(l, 1)], LONG_TTL / 2);
		await stub.commit(done);
		if (!late.ok || !early.ok) throw new Error("reserve failed");
		expect(await stub.snapshot()).toEqual({
			items: [
				{ ...l, on_hand: 5, reserved: 2, available: 3 },
				{ ...m, on_hand: 4, reserved: 1, available: 3 },
			],
			holds: { held: 2, next_expiry: early.expires_at },
		});
	});
});

describe("ledger", () => {
	it("pages with next_after until null, in seq order, every row once", async () => {
		const { stub, u } = await stocked(1);
		for (let i = 0; i < 6; i++) await stub.restock(ref(`r${i}`), [line(u, 1)]);
		// 7 rows: the set plus six restocks.
		const p1 = await stub.ledger(0, 3);
		expect(p1.entries).toHaveLength(3);
		expect(p1.next_after).toBe(p1.entries[2]!.seq);
		const p2 = await stub.ledger(p1.next_after!, 3);
		expect(p2.entries).toHaveLength(3);
		expect(p2.next_after).toBe(p2.entries[2]!.seq);
		const p3 = await stub.ledger(p2.next_after!, 3);
		expect(p3.entries).toHaveLength(1);
		expect(p3.next_after).toBeNull();
		const seqs = [...p1.entries, ...p2.entries, ...p3.entries].map((e) => e.seq);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		expect(new Set(seqs).size).toBe(7);
	});

	it("answers next_after null when the page is exactly the rest", async () => {
		const { stub, u } = await stocked(1);
		await stub.restock(ref("r"), [line(u, 1)]);
		const page = await stub.ledger(0, 2);
		expect(page.entries).toHaveLength(2);
		expect(page.next_after).toBeNull();
		expect(await stub.ledger(page.entries[1]!.seq, 10)).toEqual({ entries: [], next_after: null });
	});

	it("describes each change: unit, deltas, reason, ref, actor, note and ISO time", async () => {
		const stub = freshWarehouse();
		const u = unit();
		const r = ref("adj");
		await stub.adjust(r, u, 3, "receive", { actor: "admin-1", note: "first delivery" });
		const [entry] = (await stub.ledger(0, 10)).entries;
		expect(entry).toMatchObject({ ...u, on_hand_delta: 3, reserved_delta: 0, reason: "receive", ref: r, actor: "admin-1", note: "first delivery" });
		expect(new Date(entry!.at).toISOString()).toBe(entry!.at);
	});
});

describe("audit", () => {
	it("is ok after a mix of every kind of change", async () => {
		const { stub, u } = await stocked(10);
		const held = ref("held");
		const committed = ref("committed");
		const released = ref("released");
		await stub.reserve(held, [line(u, 2)], LONG_TTL);
		await stub.reserve(committed, [line(u, 3)], LONG_TTL);
		await stub.commit(committed);
		await stub.reserve(released, [line(u, 1)], LONG_TTL);
		await stub.release(released);
		await stub.restock(ref("restock"), [line(u, 3)]);
		await stub.deduct(ref("deduct"), [line(u, 1)]);
		await stub.adjust(ref("adj"), u, -1, "damage");
		const audit = await stub.audit();
		expect(audit).toEqual({ ok: true, problems: [], levels: [{ ...u, on_hand: 8, reserved: 2, available: 6 }] });
	});
});
