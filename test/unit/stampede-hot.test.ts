/**
 * The stampede's figures of a hot unit (bench/lib/hot.mjs): the busiest
 * object from two readings of the request counts, the grants from the
 * ledger, and a pass turned into a history that the checker's no-false-409
 * judgement reads: a refusal while units sat free in the pool is false, one
 * after the last unit was sold is not.
 */
import { describe, expect, it } from "vitest";
import { busiestPerOrder, grantFigures, historyOf, ledgerRows, placeOp, requestsBetween, type LedgerEntry } from "../../bench/lib/hot.mjs";
import { checkFalseRefusals } from "../checker/falseRefusals";
import { DEFAULT_SLACK } from "../checker/timeline";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const drop = { product_id: "drop", size: "M" };

let seq = 0;
function entry(at: number, shard: number | null, reason: string, on_hand_delta: number, reserved_delta: number, ref: string): LedgerEntry {
	return { seq: ++seq, at: iso(at), shard, ...drop, on_hand_delta, reserved_delta, reason, ref };
}

/** 6 units at w over 2 shards: the pool grants 2 to shard 0, which sells them; at 5 s the pool grants its last 4 to shard 1, sold at once. */
const entries: LedgerEntry[] = [
	entry(0, null, "set", 6, 0, "set-1"),
	entry(1000, null, "grant_out", -2, 0, "g1"),
	entry(1001, 0, "grant_in", 2, 0, "g1"),
	entry(1002, 0, "reserve", 0, 2, "o1"),
	entry(1300, 0, "commit", -2, -2, "o1"),
	entry(5000, null, "grant_out", -4, 0, "g2"),
	entry(5001, 1, "grant_in", 4, 0, "g2"),
	entry(5002, 1, "reserve", 0, 4, "o2"),
	entry(5300, 1, "commit", -4, -4, "o2"),
];
const ledger = ledgerRows("w", entries);

function refusal(id: number, from: number, to: number) {
	return placeOp(id, `u${id}`, [{ ...drop, quantity: 1 }], { status: 409, code: "OUT_OF_STOCK", invoke: T0 + from, complete: T0 + to });
}

describe("the stampede's hot-unit figures", () => {
	it("reads the shard of each ledger entry: null is the warehouse's own object (the pool)", () => {
		expect(ledger[0]!.object).toEqual({ warehouse_id: "w" });
		expect(ledger[2]!.object).toEqual({ warehouse_id: "w", shard: 0 });
		expect(ledger[2]!.at).toBe(T0 + 1001);
	});

	it("calls a 409 false while the pool held free units, and not once every unit was sold", () => {
		const ops = [refusal(1, 2000, 2050), refusal(2, 8000, 8050)];
		const h = historyOf({ ops, ledger, warehouseIds: ["w"], readAt: T0 + 10_000 });
		const violations = checkFalseRefusals(h, DEFAULT_SLACK);
		expect(violations.map((v) => v.subject)).toEqual(["op 1 (u1)"]);
	});

	it("never judges a 201, another 409 or an unanswered request", () => {
		const sold = placeOp(1, "u1", [{ ...drop, quantity: 1 }], { status: 201, code: null, invoke: T0 + 2000, complete: T0 + 2050 });
		const limit = placeOp(2, "u2", [{ ...drop, quantity: 1 }], { status: 409, code: "PURCHASE_LIMIT_EXCEEDED", invoke: T0 + 2000, complete: T0 + 2050 });
		const lost = placeOp(3, "u3", [{ ...drop, quantity: 1 }], { status: 0, code: null, invoke: T0 + 2000, complete: T0 + 2050 });
		expect(lost.answer).toBeNull();
		expect(checkFalseRefusals(historyOf({ ops: [sold, limit, lost], ledger, warehouseIds: ["w"], readAt: T0 + 10_000 }), DEFAULT_SLACK)).toEqual([]);
	});

	it("counts the grants made during the buying and their rate", () => {
		expect(grantFigures(ledger, T0, T0 + 2000)).toEqual({ pass: 2, buying: 1, per_s_buying: 0.5, units_granted: 6 });
	});

	it("finds the busiest object from two readings of the request counts, per order placed", () => {
		const objects = [
			{ name: "w", label: "w (pool)", role: "pool" as const },
			{ name: "w#drop#M#0", label: "w shard 0", role: "shard" as const },
			{ name: "w#drop#M#1", label: "w shard 1", role: "shard" as const },
		];
		const before = { w: { requests: { setSharded: 1 } }, "w#drop#M#0": { requests: {} } };
		const after = {
			w: { requests: { setSharded: 1, ask: 3 } },
			"w#drop#M#0": { requests: { reserve: 10, commitMany: 2 } },
			"w#drop#M#1": { requests: { reserve: 6, commitMany: 2 } },
		};
		const per = requestsBetween(objects, before, after);
		expect(per.map((o) => [o.object, o.requests])).toEqual([
			["w shard 0", 12],
			["w shard 1", 8],
			["w (pool)", 3],
		]);
		expect(per[2]).toEqual({ object: "w (pool)", role: "pool", requests: 3, by_method: { ask: 3 } });
		expect(busiestPerOrder(per, 8, 16)).toMatchObject({ object: "w shard 0", requests: 12, per_order: 1.5, per_place_order: 0.75, all_objects_per_order: 2.875, objects: 3 });
		expect(busiestPerOrder(per, 0, 16)).toBeNull();
	});
});
