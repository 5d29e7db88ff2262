/**
 * The Warehouse's transfer steps and safety stock, over RPC: each step is
 * idempotent by transfer id, a cancellation at the source is a tombstone, and
 * online orders never take safety stock while admin moves may.
 */
import { describe, expect, it } from "vitest";
import { freshName, freshWarehouse, line, ref, unit } from "../helpers/stock";

describe("transfer steps", () => {
	it("transfer_out takes units once, transfer_cancel puts exactly those back once", async () => {
		const src = freshWarehouse();
		const u = unit();
		await src.setLevels(ref("set"), [{ ...u, on_hand: 10 }]);
		const id = ref("trf");
		expect(await src.transferOut(id, "wh-dest", [line(u, 4)])).toEqual({ ok: true, replayed: false });
		expect(await src.transferOut(id, "wh-dest", [line(u, 4)])).toEqual({ ok: true, replayed: true });
		expect((await src.availability([u]))[0]).toMatchObject({ on_hand: 6, available: 6 });
		expect(await src.transferCancel(id)).toEqual({ ok: true, restocked: true, replayed: false });
		expect(await src.transferCancel(id)).toEqual({ ok: true, restocked: true, replayed: true });
		expect((await src.availability([u]))[0]).toMatchObject({ on_hand: 10 });
		const audit = await src.audit();
		expect(audit.problems).toEqual([]);
		const reasons = (await src.ledger(0, 100)).entries.map((e) => [e.reason, e.on_hand_delta, e.ref]);
		expect(reasons).toEqual([
			["set", 10, expect.any(String)],
			["transfer_out", -4, id],
			["transfer_cancel", 4, id],
		]);
	});

	it("a cancel that arrives before transfer_out leaves a tombstone: the late transfer_out moves nothing", async () => {
		const src = freshWarehouse();
		const u = unit();
		await src.setLevels(ref("set"), [{ ...u, on_hand: 5 }]);
		const id = ref("trf");
		expect(await src.transferCancel(id)).toEqual({ ok: true, restocked: false, replayed: false });
		expect(await src.transferOut(id, "wh-dest", [line(u, 2)])).toEqual({ ok: false, reason: "transfer_closed" });
		expect((await src.availability([u]))[0]!.on_hand).toBe(5);
	});

	it("transfer_out never takes reserved units, but may take safety stock", async () => {
		const src = freshWarehouse();
		const u = unit();
		await src.setLevels(ref("set"), [{ ...u, on_hand: 10, safety_stock: 3 }]);
		expect((await src.reserve(ref("ord"), [line(u, 5)], 60_000)).ok).toBe(true);
		// on_hand 10, reserved 5, safety 3: online orders see 2, an admin move may take 5.
		expect((await src.availability([u]))[0]!.available).toBe(2);
		const refused = await src.transferOut(ref("trf"), "wh-dest", [line(u, 6)]);
		expect(refused).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 6, available: 5 }] });
		expect(await src.transferOut(ref("trf"), "wh-dest", [line(u, 5)])).toMatchObject({ ok: true });
		expect((await src.availability([u]))[0]).toMatchObject({ on_hand: 5, reserved: 5, available: 0 });
		expect((await src.audit()).ok).toBe(true);
	});

	it("incoming shows at the destination until received; receive adds on_hand once; a cancelled incoming cannot be received", async () => {
		const dst = freshWarehouse();
		const u = unit();
		const id = ref("trf");
		expect(await dst.expectIncoming(id, "wh-src", [line(u, 3)])).toEqual({ ok: true, replayed: false });
		expect(await dst.expectIncoming(id, "wh-src", [line(u, 3)])).toEqual({ ok: true, replayed: true });
		let view = await dst.stockView();
		expect(view.items).toEqual([{ ...u, on_hand: 0, reserved: 0, available: 0, safety_stock: 0, incoming: 3, low_stock_threshold: null }]);
		expect(await dst.receiveTransfer(id, [line(u, 3)])).toEqual({ ok: true, replayed: false });
		expect(await dst.receiveTransfer(id, [line(u, 3)])).toEqual({ ok: true, replayed: true });
		view = await dst.stockView();
		expect(view.items).toEqual([{ ...u, on_hand: 3, reserved: 0, available: 3, safety_stock: 0, incoming: 0, low_stock_threshold: null }]);
		// After receipt the destination refuses to drop it: D1 decided received, never cancelled too.
		expect(await dst.cancelIncoming(id)).toEqual({ ok: false, reason: "transfer_closed" });

		const other = ref("trf");
		await dst.expectIncoming(other, "wh-src", [line(u, 2)]);
		expect(await dst.cancelIncoming(other)).toEqual({ ok: true, replayed: false });
		expect(await dst.receiveTransfer(other, [line(u, 2)])).toEqual({ ok: false, reason: "transfer_closed" });
		expect(await dst.expectIncoming(other, "wh-src", [line(u, 2)])).toEqual({ ok: false, reason: "transfer_closed" });
		expect((await dst.stockView()).items[0]).toMatchObject({ on_hand: 3, incoming: 0 });
		expect((await dst.audit()).ok).toBe(true);
	});
});

describe("safety stock", () => {
	it("available = max(0, on_hand - reserved - safety_stock): reserve never takes it, deduct and adjust may", async () => {
		const name = freshName();
		const wh = freshWarehouse(name);
		const u = unit();
		await wh.setLevels(ref("set"), [{ ...u, on_hand: 5, safety_stock: 3 }]);
		expect((await wh.availability([u]))[0]).toMatchObject({ on_hand: 5, reserved: 0, available: 2 });
		expect(await wh.reserve(ref("ord"), [line(u, 3)], 60_000)).toMatchObject({ ok: false, reason: "insufficient_stock", shortages: [{ requested: 3, available: 2 }] });
		expect((await wh.reserve(ref("ord"), [line(u, 2)], 60_000)).ok).toBe(true);
		expect((await wh.availability([u]))[0]!.available).toBe(0);
		// Deduct may dig into safety stock (a shop sale at the counter), never into what is reserved.
		expect(await wh.deduct(ref("pos"), [line(u, 4)])).toMatchObject({ ok: false, reason: "insufficient_stock" });
		expect(await wh.deduct(ref("pos"), [line(u, 3)])).toMatchObject({ ok: true });
		// on_hand 2, reserved 2, safety 3: available never goes negative.
		expect((await wh.availability([u]))[0]).toMatchObject({ on_hand: 2, reserved: 2, available: 0 });
		expect(await wh.adjust(ref("adj"), u, -1, "damage")).toMatchObject({ ok: false, reason: "below_reserved" });
		expect((await wh.audit()).ok).toBe(true);
	});

	it("setting levels without safety_stock keeps it; setting it alone changes no stock and writes no ledger row", async () => {
		const wh = freshWarehouse();
		const u = unit();
		await wh.setLevels(ref("set"), [{ ...u, on_hand: 8, safety_stock: 2 }]);
		await wh.setLevels(ref("set"), [{ ...u, on_hand: 9 }]);
		expect((await wh.stockView()).items[0]).toMatchObject({ on_hand: 9, safety_stock: 2, available: 7 });
		await wh.setLevels(ref("set"), [{ ...u, on_hand: 9, safety_stock: 0 }]);
		expect((await wh.stockView()).items[0]).toMatchObject({ on_hand: 9, safety_stock: 0, available: 9 });
		expect((await wh.ledger(0, 10)).entries).toHaveLength(2);
	});
});
