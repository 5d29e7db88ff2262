/**
 * Many buyers at once on one warehouse: the object serializes every mutation,
 * so a flood of concurrent requests can never take more than there is, and
 * concurrent repeats of one reference still apply once.
 */
import { describe, expect, it } from "vitest";
import type { Unit } from "../../src/stock/types";
import { freshWarehouse, ledgerOf, levelOf, line, ref, unit, type WarehouseStub } from "../helpers/stock";

const LONG_TTL = 60_000;

async function stocked(onHand: number): Promise<{ stub: WarehouseStub; u: Unit }> {
	const stub = freshWarehouse();
	const u = unit();
	expect((await stub.setLevels(ref("set"), [{ ...u, on_hand: onHand }])).ok).toBe(true);
	return { stub, u };
}

/** Settles every call; a rejection (a method that threw) is kept as its message. */
async function settleAll<T>(calls: Array<Promise<T>>): Promise<{ values: T[]; errors: string[] }> {
	const settled = await Promise.allSettled(calls);
	const values: T[] = [];
	const errors: string[] = [];
	for (const s of settled) {
		if (s.status === "fulfilled") values.push(s.value);
		else errors.push(String(s.reason));
	}
	return { values, errors };
}

function tally(results: Array<{ ok: boolean; reason?: string }>): Record<string, number> {
	const out: Record<string, number> = {};
	for (const r of results) {
		const key = r.ok ? "ok" : (r.reason ?? "?");
		out[key] = (out[key] ?? 0) + 1;
	}
	return out;
}

describe("concurrent deducts", () => {
	it("200 deducts of 1 against on_hand 50 end with exactly 50 ok, 150 insufficient_stock, on_hand 0", async () => {
		const { stub, u } = await stocked(50);
		const { values, errors } = await settleAll(Array.from({ length: 200 }, async (_, i) => stub.deduct(ref(`d${i}`), [line(u, 1)])));
		expect(errors).toEqual([]);
		expect(tally(values)).toEqual({ ok: 50, insufficient_stock: 150 });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 0, reserved: 0, available: 0 });
		expect((await ledgerOf(stub)).filter((e) => e.reason === "deduct")).toHaveLength(50);
		expect((await stub.audit()).ok).toBe(true);
	});

	it("serializes them: each accepted deduct leaves a distinct level, each refused one saw none available", async () => {
		const { stub, u } = await stocked(50);
		const { values } = await settleAll(Array.from({ length: 200 }, async (_, i) => stub.deduct(ref(`d${i}`), [line(u, 1)])));
		const left = values.flatMap((r) => (r.ok ? [r.levels[0]!.on_hand] : [])).sort((a, b) => a - b);
		expect(left).toEqual(Array.from({ length: 50 }, (_, i) => i));
		for (const r of values) if (!r.ok) expect(r.shortages).toEqual([{ ...u, requested: 1, available: 0 }]);
	});

	it("20 concurrent repeats of one deduct reference apply once", async () => {
		const { stub, u } = await stocked(50);
		const r = ref("deduct");
		const { values, errors } = await settleAll(Array.from({ length: 20 }, async () => stub.deduct(r, [line(u, 3)])));
		expect(errors).toEqual([]);
		expect(values.filter((v) => v.ok && !v.replayed)).toHaveLength(1);
		expect(values.filter((v) => v.ok && v.replayed)).toHaveLength(19);
		expect(await levelOf(stub, u)).toMatchObject({ on_hand: 47 });
	});
});

describe("concurrent reserves", () => {
	it("100 reserves of 1 against 30 end with exactly 30 held", async () => {
		const { stub, u } = await stocked(30);
		const refs = Array.from({ length: 100 }, (_, i) => ref(`o${i}`));
		const { values, errors } = await settleAll(refs.map(async (r) => stub.reserve(r, [line(u, 1)], LONG_TTL)));
		expect(errors).toEqual([]);
		expect(tally(values)).toEqual({ ok: 30, insufficient_stock: 70 });
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 30, reserved: 30, available: 0 });
		expect((await stub.snapshot()).holds.held).toBe(30);
		const audit = await stub.audit();
		expect(audit.problems).toEqual([]);
	});

	it("the 30 winners can all commit and the losers hold nothing", async () => {
		const { stub, u } = await stocked(30);
		const refs = Array.from({ length: 100 }, (_, i) => ref(`o${i}`));
		const results = await Promise.all(refs.map(async (r) => stub.reserve(r, [line(u, 1)], LONG_TTL)));
		const winners = refs.filter((_, i) => results[i]!.ok);
		const losers = refs.filter((_, i) => !results[i]!.ok);
		const commits = await Promise.all(winners.map((r) => stub.commit(r)));
		expect(commits.every((c) => c.ok && !c.replayed)).toBe(true);
		expect(await Promise.all(losers.map((r) => stub.hold(r)))).toEqual(losers.map(() => null));
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 0, reserved: 0, available: 0 });
	});

	it("20 concurrent repeats of one reserve reference hold once", async () => {
		const { stub, u } = await stocked(30);
		const r = ref("order");
		const { values, errors } = await settleAll(Array.from({ length: 20 }, async () => stub.reserve(r, [line(u, 2)], LONG_TTL)));
		expect(errors).toEqual([]);
		expect(values.filter((v) => v.ok && !v.replayed)).toHaveLength(1);
		expect(values.filter((v) => v.ok && v.replayed)).toHaveLength(19);
		expect(await levelOf(stub, u)).toMatchObject({ reserved: 2 });
	});
});

describe("concurrent commit and release of the same hold", () => {
	it("exactly one of them wins for each hold, and the stock says which", async () => {
		const { stub, u } = await stocked(20);
		const refs = Array.from({ length: 20 }, (_, i) => ref(`o${i}`));
		await Promise.all(refs.map(async (r) => stub.reserve(r, [line(u, 1)], LONG_TTL)));
		const outcomes = await Promise.all(refs.map((r) => Promise.all([stub.commit(r), stub.release(r)])));
		let committed = 0;
		for (const [c, rel] of outcomes) {
			// Commit first: the release is refused. Release first: the commit is refused.
			expect(c.ok !== rel.ok).toBe(true);
			if (c.ok) committed++;
		}
		expect(await levelOf(stub, u)).toEqual({ ...u, on_hand: 20 - committed, reserved: 0, available: 20 - committed });
		expect((await stub.audit()).ok).toBe(true);
	});
});
