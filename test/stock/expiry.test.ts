/**
 * Holds that outlive their ttl: the alarm (and resolveDue, its twin for the
 * reconciler) releases them as "expired"; a commit that arrives after that takes
 * the units again if they are still there, else says insufficient_stock; the
 * object keeps an alarm while a hold is open and re-arms it after a restart.
 *
 * Alarms really fire in this runtime. To run one exactly when a test wants it,
 * `reserveParked` moves the alarm far into the future right after the reserve,
 * and the test runs it with runDurableObjectAlarm once the ttl has passed on
 * the object's clock (a TestClock the test moves, so nothing waits).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { d1OrderLookup } from "../../src/orders/lookup";
import type { Line, Unit } from "../../src/stock/types";
import { alarmOf, freshName, freshWarehouse, ledgerOf, levelOf, line, ref, restartWarehouse, unit, useClock, useOrders, type TestClock, type WarehouseStub } from "../helpers/stock";
import { eventually } from "../helpers/time";

const SHORT_TTL = 50;
const LONG_TTL = 60_000;
const PARKED = 10 * 60_000;

async function stocked(onHand: number, name = freshName()): Promise<{ stub: WarehouseStub; u: Unit; clock: TestClock }> {
	const stub = freshWarehouse(name);
	const u = unit();
	expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: onHand }])).ok).toBe(true);
	return { stub, u, clock: await useClock(stub) };
}

/** Reserves, then parks the object's alarm far away so that only the test runs it. */
async function reserveParked(stub: WarehouseStub, r: string, lines: Line[], ttlMs: number) {
	const res = await runInDurableObject(stub, async (instance, state) => {
		const out = await instance.reserve(r, lines, ttlMs);
		await state.storage.setAlarm(Date.now() + PARKED);
		return out;
	});
	if (!res.ok) throw new Error(`reserve ${r} failed: ${res.reason}`);
	return res;
}

/** Reserves with a short ttl and expires the hold through the alarm. */
async function expiredHold(stub: WarehouseStub, clock: TestClock, r: string, lines: Line[]): Promise<void> {
	await reserveParked(stub, r, lines, SHORT_TTL);
	clock.advance(SHORT_TTL + 50);
	expect(await runDurableObjectAlarm(stub)).toBe(true);
	expect((await stub.hold(r))!.state).toBe("expired");
}

describe("expiry through the alarm", () => {
	it("expires a hold past its ttl: state expired, reserved back to 0, an expire row", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await reserveParked(stub, r, [line(u, 2)], SHORT_TTL);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 2 });
		clock.advance(SHORT_TTL + 50);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await stub.hold(r))!.state).toBe("expired");
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 5, reserved: 0, available: 5 });
		const rows = (await ledgerOf(stub)).filter((e) => e.ref === r && e.reason === "expire");
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ on_hand_delta: 0, reserved_delta: -2, actor: "alarm" });
		expect((await stub.snapshot()).holds).toEqual({ held: 0, next_expiry: null });
	});

	it("leaves holds that are not due yet, and re-arms for the earliest of them", async () => {
		const { stub, u, clock } = await stocked(5);
		const due = ref("due");
		const later = ref("later");
		await reserveParked(stub, due, [line(u, 1)], SHORT_TTL);
		const kept = await reserveParked(stub, later, [line(u, 2)], LONG_TTL);
		clock.advance(SHORT_TTL + 50);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await stub.hold(due))!.state).toBe("expired");
		expect((await stub.hold(later))!.state).toBe("held");
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 2 });
		expect(await alarmOf(stub)).toBe(kept.expires_at);
	});

	it("expires a short-ttl hold by itself when the alarm fires on its own", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 1)], SHORT_TTL);
		await eventually(async () => expect((await stub.hold(r))!.state).toBe("expired"), { timeoutMs: 5_000 });
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 0 });
	});

	it("refuses a late reserve of an expired reference (hold_closed)", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await expiredHold(stub, clock, r, [line(u, 1)]);
		expect(await stub.reserve(r, [line(u, 1)], LONG_TTL)).toEqual({ ok: false, reason: "hold_closed", state: "expired" });
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 0 });
	});

	it("closes an expired hold for good on release: gives nothing back, and a later commit is refused", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await expiredHold(stub, clock, r, [line(u, 2)]);
		const rows = (await ledgerOf(stub)).length;
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: false });
		expect(await stub.release(r)).toEqual({ ok: true, state: "released", replayed: true });
		expect(await stub.commit(r)).toEqual({ ok: false, reason: "hold_released" });
		expect((await stub.hold(r))!.state).toBe("released");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect((await ledgerOf(stub)).length).toBe(rows);
	});
});

describe("a late commit on a cancelled order", () => {
	// The hold expires (no order yet), the decision lands, the order is cancelled
	// (cancelHold), then the in-flight phase 2 or a reconciler row read before the
	// cancel commits: it must not take the units again for a cancelled order.
	it("a cancel of an expired hold closes it: the late commit is refused and takes nothing", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await expiredHold(stub, clock, r, [line(u, 2)]);
		const rows = (await ledgerOf(stub)).length;
		expect(await stub.cancelHold(r)).toEqual({ ok: true, outcome: "nothing", replayed: false, lines: [] });
		expect(await stub.commit(r)).toEqual({ ok: false, reason: "hold_released" });
		expect(await stub.cancelHold(r)).toEqual({ ok: true, outcome: "nothing", replayed: true, lines: [] });
		expect((await stub.hold(r))!.state).toBe("released");
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 5, reserved: 0, available: 5 });
		expect((await ledgerOf(stub)).length).toBe(rows);
		expect((await stub.audit()).ok).toBe(true);
	});
});

describe("commit after expiry", () => {
	it("refuses an expired hold whose units someone else took (insufficient_stock), changing nothing", async () => {
		const { stub, u, clock } = await stocked(1);
		const r = ref("slow-order");
		await expiredHold(stub, clock, r, [line(u, 1)]);
		expect((await stub.reserve(ref("other-order"), [line(u, 1)], LONG_TTL)).ok).toBe(true);
		const rows = (await ledgerOf(stub)).length;
		const res = await stub.commit(r);
		expect(res).toEqual({ ok: false, reason: "insufficient_stock", shortages: [{ ...u, requested: 1, available: 0 }] });
		expect((await stub.hold(r))!.state).toBe("expired");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 1, reserved: 1 });
		expect((await ledgerOf(stub)).length).toBe(rows);
	});

	it("commits an expired hold late when its units are still available: on_hand drops, reserved unchanged", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("slow-order");
		await expiredHold(stub, clock, r, [line(u, 2)]);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect(await stub.commit(r)).toEqual({ ok: true, replayed: false, late: true });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 3, reserved: 0, available: 3 });
		expect((await stub.hold(r))!.state).toBe("committed");
		const commits = (await ledgerOf(stub)).filter((e) => e.ref === r && e.reason === "commit");
		expect(commits).toHaveLength(1);
		expect(commits[0]).toMatchObject({ on_hand_delta: -2, reserved_delta: 0 });
		expect((await stub.audit()).ok).toBe(true);
	});

	it("replays a late commit without taking the units twice", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("slow-order");
		await expiredHold(stub, clock, r, [line(u, 2)]);
		await stub.commit(r);
		const rows = (await ledgerOf(stub)).length;
		expect(await stub.commit(r)).toEqual({ ok: true, replayed: true, late: false });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 3, reserved: 0 });
		expect((await ledgerOf(stub)).length).toBe(rows);
	});

	it("refuses a hold released before its ttl, even once the ttl has passed", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await reserveParked(stub, r, [line(u, 2)], SHORT_TTL);
		await stub.release(r);
		clock.advance(SHORT_TTL + 50);
		await runDurableObjectAlarm(stub);
		expect(await stub.commit(r)).toEqual({ ok: false, reason: "hold_released" });
		expect((await stub.hold(r))!.state).toBe("released");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
	});
});

describe("resolveDue", () => {
	it("resolves the holds due by the given time without the alarm, leaving the others held", async () => {
		const { stub, u } = await stocked(10);
		const a = ref("a");
		const b = ref("b");
		const c = ref("c");
		await stub.reserve(a, [line(u, 1)], LONG_TTL);
		await stub.reserve(b, [line(u, 2)], LONG_TTL);
		await stub.reserve(c, [line(u, 3)], 10 * LONG_TTL);
		expect(await stub.resolveDue(Date.now() + 2 * LONG_TTL)).toEqual({ committed: 0, expired: 2 });
		expect((await stub.hold(a))!.state).toBe("expired");
		expect((await stub.hold(b))!.state).toBe("expired");
		expect((await stub.hold(c))!.state).toBe("held");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 10, reserved: 3 });
		const expires = (await ledgerOf(stub)).filter((e) => e.reason === "expire");
		expect(expires.map((e) => e.ref).sort()).toEqual([a, b].sort());
	});

	it("resolves nothing before any hold is due", async () => {
		const { stub, u } = await stocked(5);
		const r = ref("order");
		await stub.reserve(r, [line(u, 1)], LONG_TTL);
		expect(await stub.resolveDue()).toEqual({ committed: 0, expired: 0 });
		expect((await stub.hold(r))!.state).toBe("held");
	});

	it("finds nothing more on a second run", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 1)], LONG_TTL);
		const later = Date.now() + 2 * LONG_TTL;
		expect(await stub.resolveDue(later)).toEqual({ committed: 0, expired: 1 });
		const rows = (await ledgerOf(stub)).length;
		expect(await stub.resolveDue(later)).toEqual({ committed: 0, expired: 0 });
		expect((await ledgerOf(stub)).length).toBe(rows);
	});

	it("resolves more due holds than one batch holds", async () => {
		const { stub, u } = await stocked(150);
		const refs = Array.from({ length: 150 }, (_, i) => ref(`o${i}`));
		const results = await Promise.all(refs.map((r) => stub.reserve(r, [line(u, 1)], LONG_TTL)));
		expect(results.every((r) => r.ok)).toBe(true);
		expect(await stub.resolveDue(Date.now() + 2 * LONG_TTL)).toEqual({ committed: 0, expired: 150 });
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 150, reserved: 0 });
		expect((await stub.snapshot()).holds.held).toBe(0);
	});
});

describe("the alarm", () => {
	it("is set at the expiry of an open hold", async () => {
		const { stub, u } = await stocked(5);
		expect(await alarmOf(stub)).toBeNull();
		const res = await stub.reserve(ref("order"), [line(u, 1)], LONG_TTL);
		if (!res.ok) throw new Error(res.reason);
		expect(await alarmOf(stub)).toBe(res.expires_at);
	});

	it("follows the earliest open hold", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("late"), [line(u, 1)], 2 * LONG_TTL);
		const early = await stub.reserve(ref("early"), [line(u, 1)], LONG_TTL);
		if (!early.ok) throw new Error(early.reason);
		expect(await alarmOf(stub)).toBe(early.expires_at);
	});

	it("is cleared once every hold has been resolved", async () => {
		const { stub, u } = await stocked(5);
		await stub.reserve(ref("order"), [line(u, 1)], LONG_TTL);
		expect(await alarmOf(stub)).not.toBeNull();
		await stub.resolveDue(Date.now() + 2 * LONG_TTL);
		expect(await alarmOf(stub)).toBeNull();
	});

	it("is left in place when holds close (no alarm write on the hot path), then clears itself when it runs", async () => {
		const { stub, u } = await stocked(5);
		const released = ref("released");
		const committed = ref("committed");
		const first = await stub.reserve(released, [line(u, 1)], LONG_TTL);
		if (!first.ok) throw new Error(first.reason);
		await stub.reserve(committed, [line(u, 1)], LONG_TTL);
		await stub.release(released);
		await stub.commit(committed);
		expect((await stub.snapshot()).holds.held).toBe(0);
		// Never later than the earliest hold that was open; a wake-up with nothing due re-arms exactly.
		expect(await alarmOf(stub)).toBe(first.expires_at);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await alarmOf(stub)).toBeNull();
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 4, reserved: 0 });
	});

	it("after an early wake-up, re-arms at the earliest hold still open", async () => {
		const { stub, u } = await stocked(5);
		const early = ref("early");
		await stub.reserve(early, [line(u, 1)], LONG_TTL);
		const late = await stub.reserve(ref("late"), [line(u, 1)], 2 * LONG_TTL);
		if (!late.ok) throw new Error(late.reason);
		await stub.commit(early);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await alarmOf(stub)).toBe(late.expires_at);
		expect((await stub.snapshot()).holds.held).toBe(1);
	});

	it("is re-armed for the earliest open hold when a restarted object lost it", async () => {
		const name = freshName();
		const { stub, u } = await stocked(5, name);
		const res = await stub.reserve(ref("order"), [line(u, 1)], LONG_TTL);
		if (!res.ok) throw new Error(res.reason);
		await runInDurableObject(stub, (_, state) => state.storage.deleteAlarm());
		expect(await alarmOf(stub)).toBeNull();
		const restarted = await restartWarehouse(name);
		expect((await restarted.snapshot()).holds.held).toBe(1);
		expect(await alarmOf(restarted)).toBe(res.expires_at);
	});

	it("is absent after a restart when no hold is open", async () => {
		const name = freshName();
		const { stub, u } = await stocked(5, name);
		const r = ref("order");
		await stub.reserve(r, [line(u, 1)], LONG_TTL);
		await stub.release(r);
		const restarted = await restartWarehouse(name);
		expect((await restarted.snapshot()).holds.held).toBe(0);
		expect(await alarmOf(restarted)).toBeNull();
	});
});

describe("the alarm during a D1 outage", () => {
	/** Makes the object's read of the decisions fail (D1 down) or work again, through its order port. */
	async function d1Down(stub: WarehouseStub, down: boolean) {
		await useOrders(stub, down ? { decided: async () => Promise.reject(new Error("D1_ERROR: injected outage")) } : d1OrderLookup(env));
	}

	it("catches the failed read and re-arms itself with a growing, capped backoff; the hold is resolved once D1 is back", async () => {
		const { stub, u, clock } = await stocked(5);
		const r = ref("order");
		await reserveParked(stub, r, [line(u, 2)], SHORT_TTL);
		clock.advance(SHORT_TTL + 50);
		await d1Down(stub, true);
		// More failures than the platform's own alarm retries: the alarm must never be dropped.
		const delays: number[] = [];
		for (let i = 0; i < 8; i++) {
			const before = Date.now();
			expect(await runDurableObjectAlarm(stub)).toBe(true);
			const next = await alarmOf(stub);
			expect(next, `alarm after failure ${i + 1}`).not.toBeNull();
			delays.push(next! - before);
		}
		expect((await stub.hold(r))!.state).toBe("held");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 2 });
		expect(delays[0]).toBeGreaterThan(0);
		expect(delays.at(-1)!).toBeGreaterThan(delays[0]!);
		for (const d of delays) expect(d).toBeLessThanOrEqual(60_000 + 1_000);

		await d1Down(stub, false);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect((await stub.hold(r))!.state).toBe("expired");
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 5, reserved: 0 });
		expect(await alarmOf(stub)).toBeNull();
	});
});
