/**
 * A gathered commit (Warehouse.commitMany) takes the holds that are held all
 * together, one statement per step, and answers every other reference exactly
 * as a commit of its own would: replayed, refused, late. The stock, the
 * ledger (a row per line per hold) and the low-stock event come out as if the
 * holds had been committed one by one.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshWarehouse, levelOf, ledgerOf, line, ref, unit, useClock } from "../helpers/stock";

describe("gathered commits", () => {
	it("commits held holds together and answers replayed, released, lapsed and unknown ones as commit does", async () => {
		const stub = freshWarehouse();
		const clock = await useClock(stub);
		const a = unit("M");
		const b = unit("L");
		expect((await stub.setLevels(ref("set"), [{ ...a, on_hand: 20 }, { ...b, on_hand: 20 }])).ok).toBe(true);
		const [h1, h2, done, gone, lapsed, unknown] = [ref("h1"), ref("h2"), ref("done"), ref("gone"), ref("lapsed"), ref("unknown")];
		expect((await stub.reserve(h1, [line(a, 2), line(b, 1)], 60_000)).ok).toBe(true);
		expect((await stub.reserve(h2, [line(a, 3)], 60_000)).ok).toBe(true);
		expect((await stub.reserve(done, [line(b, 1)], 60_000)).ok).toBe(true);
		expect((await stub.commit(done)).ok).toBe(true);
		expect((await stub.reserve(gone, [line(b, 2)], 60_000)).ok).toBe(true);
		expect((await stub.release(gone)).ok).toBe(true);
		// A hold that lapsed (the alarm expired it); its units are still there, so the late commit takes them again.
		await runInDurableObject(stub, async (instance, state) => {
			await instance.reserve(lapsed, [line(a, 1)], 30);
			await state.storage.setAlarm(Date.now() + 10 * 60_000);
		});
		clock.advance(80);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await stub.hold(lapsed))!.state).toBe("expired");

		const results = await stub.commitMany([h1, h2, done, gone, lapsed, unknown, h1]);
		expect(results).toEqual({
			[h1]: { ok: true, replayed: false, late: false },
			[h2]: { ok: true, replayed: false, late: false },
			[done]: { ok: true, replayed: true, late: false },
			[gone]: { ok: false, reason: "hold_released" },
			[lapsed]: { ok: true, replayed: false, late: true },
			[unknown]: { ok: false, reason: "unknown_hold" },
		});
		for (const r of [h1, h2, lapsed]) expect((await stub.hold(r))!.state).toBe("committed");
		expect(await levelOf(stub, a)).toMatchObject({ on_hand: 20 - 2 - 3 - 1, reserved: 0 });
		expect(await levelOf(stub, b)).toMatchObject({ on_hand: 20 - 1 - 1, reserved: 0 });
		const commits = (await ledgerOf(stub)).filter((e) => e.reason === "commit");
		// A hold's rows come in its lines' order (product, size).
		const rows = (r: string) => commits.filter((e) => e.ref === r).map((e) => [e.product_id, e.on_hand_delta, e.reserved_delta]);
		const h1Rows = [
			[a.product_id, -2, -2],
			[b.product_id, -1, -1],
		].sort((x, y) => String(x[0]).localeCompare(String(y[0])));
		expect(rows(h1)).toEqual(h1Rows);
		expect(rows(h2)).toEqual([[a.product_id, -3, -3]]);
		expect(rows(lapsed)).toEqual([[a.product_id, -1, 0]]);
		expect((await stub.audit()).problems).toEqual([]);

		// Again: every one of them is now a replay or a refusal, and nothing moves.
		const again = await stub.commitMany([h1, h2, lapsed]);
		expect(Object.values(again).every((r) => r.ok && r.replayed)).toBe(true);
		expect(await levelOf(stub, a)).toMatchObject({ on_hand: 14, reserved: 0 });
	});

	it("a gathered commit that takes a unit below its low-stock threshold queues one stock.low event", async () => {
		const stub = freshWarehouse();
		const u = unit();
		expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: 10, low_stock_threshold: 5 }])).ok).toBe(true);
		const refs = [ref("o"), ref("o"), ref("o")];
		for (const r of refs) expect((await stub.reserve(r, [line(u, 2)], 60_000)).ok).toBe(true);
		// The events the object sends, caught at its queue binding.
		const sent = await runInDurableObject(stub, async (instance) => {
			const env = (instance as unknown as { env: { EVENTS: unknown } }).env;
			const real = env.EVENTS;
			const caught: Array<{ body: { type: string } }> = [];
			env.EVENTS = { sendBatch: async (messages: Array<{ body: { type: string } }>) => void caught.push(...messages) };
			try {
				await instance.commitMany(refs);
			} finally {
				env.EVENTS = real;
			}
			return caught.map((m) => m.body);
		});
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 4, reserved: 0 });
		// 10 -> 4 over three holds: one crossing, one event, with the level after the commit.
		expect(sent.filter((e) => e.type === "stock.low")).toEqual([expect.objectContaining({ type: "stock.low", product_id: u.product_id, size: u.size, on_hand: 4, threshold: 5 })]);
	});
});

describe("a reserve seen before", () => {
	it("answers as it did, whether the stock is still there or gone since, and writes nothing again", async () => {
		const stub = freshWarehouse();
		const u = unit();
		expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: 3 }])).ok).toBe(true);
		const r = ref("order");
		const first = await stub.reserve(r, [line(u, 2)], 60_000);
		if (!first.ok) throw new Error("reserve refused");
		// Stock left: the replay is found by the hold's own insert.
		expect(await stub.reserve(r, [line(u, 2)], 60_000)).toEqual({ ok: true, state: "held", expires_at: first.expires_at, replayed: true });
		// Another buyer takes the last unit: the replay finds the hold after the shortage.
		expect((await stub.reserve(ref("other"), [line(u, 1)], 60_000)).ok).toBe(true);
		expect(await stub.reserve(r, [line(u, 2)], 60_000)).toEqual({ ok: true, state: "held", expires_at: first.expires_at, replayed: true });
		// A released (tombstoned) reference stays closed either way.
		const t = ref("tombstone");
		expect((await stub.release(t)).ok).toBe(true);
		expect(await stub.reserve(t, [line(u, 1)], 60_000)).toEqual({ ok: false, reason: "hold_closed", state: "released" });
		expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: 10 }])).ok).toBe(true);
		expect(await stub.reserve(t, [line(u, 1)], 60_000)).toEqual({ ok: false, reason: "hold_closed", state: "released" });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 10, reserved: 3 });
		expect((await stub.writeCounts()).by_kind.reserve).toBe(2);
	});
});
