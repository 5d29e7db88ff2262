/**
 * The Warehouse's write-transaction counts (src/stock/object/writes.ts), which the
 * bench divides by orders placed: a transaction counts once when it changed a
 * row, a refused or replayed call that changed nothing does not count, and a
 * gathered commit of many holds is one transaction.
 */
import { describe, expect, it } from "vitest";
import { freshWarehouse, line, ref, restartWarehouse, freshName, unit } from "../helpers/stock";

describe("Warehouse write counts", () => {
	it("counts each changing transaction once, by method; a refused reserve and a replayed commit count nothing", async () => {
		const stub = freshWarehouse();
		const u = unit();
		expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: 3 }])).ok).toBe(true);
		const start = await stub.writeCounts();
		expect(start.by_kind.setLevels).toBe(1);

		const a = ref("order");
		expect((await stub.reserve(a, [line(u, 2)], 60_000)).ok).toBe(true);
		expect((await stub.reserve(ref("order"), [line(u, 2)], 60_000)).ok).toBe(false); // only 1 left: reads, writes nothing
		expect((await stub.commit(a)).ok).toBe(true);
		expect((await stub.commit(a)).ok).toBe(true); // replayed: nothing changes

		const after = await stub.writeCounts();
		expect(after.since).toBe(start.since);
		expect(after.by_kind.reserve).toBe(1);
		expect(after.by_kind.commit).toBe(1);
		expect(after.by_kind.setLevels).toBe(1);
		expect(after.total).toBe(Object.values(after.by_kind).reduce((s, n) => s + n, 0));
	});

	it("a gathered commit of three holds is one write transaction", async () => {
		const stub = freshWarehouse();
		const u = unit();
		await stub.setLevels(ref("set"), [{ ...u, on_hand: 10 }]);
		const refs = [ref("order"), ref("order"), ref("order")];
		for (const r of refs) expect((await stub.reserve(r, [line(u, 1)], 60_000)).ok).toBe(true);
		const results = await stub.commitMany(refs);
		expect(Object.values(results).every((r) => r.ok)).toBe(true);
		const counts = await stub.writeCounts();
		expect(counts.by_kind.reserve).toBe(3);
		expect(counts.by_kind.commitMany).toBe(1);
		expect(counts.by_kind.commit).toBeUndefined();
	});

	it("a tombstone (a row inserted, nothing else) counts; releasing it again counts nothing", async () => {
		const stub = freshWarehouse();
		const r = ref("order");
		expect(await stub.release(r)).toMatchObject({ ok: true, replayed: false });
		expect(await stub.release(r)).toMatchObject({ ok: true, replayed: true });
		const counts = await stub.writeCounts();
		expect(counts.by_kind.release).toBe(1);
		expect(counts.total).toBe(1);
	});

	it("a restock of a committed hold (its claim is an INSERT ... RETURNING) counts once, its replay not at all", async () => {
		const stub = freshWarehouse();
		const u = unit();
		await stub.setLevels(ref("set"), [{ ...u, on_hand: 2 }]);
		const r = ref("order");
		expect((await stub.reserve(r, [line(u, 1)], 60_000)).ok).toBe(true);
		expect((await stub.commit(r)).ok).toBe(true);
		expect(await stub.cancelHold(r)).toMatchObject({ ok: true, outcome: "restocked", replayed: false });
		expect(await stub.cancelHold(r)).toMatchObject({ ok: true, outcome: "restocked", replayed: true });
		const counts = await stub.writeCounts();
		expect(counts.by_kind.cancelHold).toBe(1);
	});

	it("sending a queued event and deleting it from the outbox is one write transaction of its own (\"events\")", async () => {
		const stub = freshWarehouse();
		const u = unit();
		await stub.setLevels(ref("set"), [{ ...u, on_hand: 3, low_stock_threshold: 2 }]);
		const r = ref("order");
		expect((await stub.reserve(r, [line(u, 2)], 60_000)).ok).toBe(true);
		expect((await stub.commit(r)).ok).toBe(true); // 3 -> 1: below the threshold, a stock.low event is queued, sent and deleted
		const counts = await stub.writeCounts();
		expect(counts.by_kind.commit).toBe(1);
		expect(counts.by_kind.events).toBe(1);
	});

	it("a restarted object starts again from zero with a new `since`", async () => {
		const name = freshName();
		const stub = freshWarehouse(name);
		const u = unit();
		await stub.setLevels(ref("set"), [{ ...u, on_hand: 1 }]);
		const before = await stub.writeCounts();
		expect(before.by_kind.setLevels).toBe(1);
		const again = await restartWarehouse(name);
		const after = await again.writeCounts();
		expect(after.by_kind.setLevels).toBeUndefined();
		expect(after.since).toBeGreaterThanOrEqual(before.since);
	});
});
