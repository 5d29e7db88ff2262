import { describe, expect, it } from "vitest";
import { planOrder, releasable } from "../../src/events/sequence";

const entry = (order_id: string, sequence: number, held = false) => ({ order_id, sequence, held });

describe("releasable: which outbox events of an order may go to the queue now", () => {
	it("sends an order's events in sequence, whatever order they were read in", () => {
		expect(releasable([entry("a", 3), entry("a", 1), entry("a", 2)]).map((e) => e.sequence)).toEqual([1, 2, 3]);
	});

	it("holds everything of an order behind its held 'placed' event", () => {
		expect(releasable([entry("a", 2), entry("a", 1, true), entry("b", 1)])).toEqual([entry("b", 1)]);
	});

	it("stops an order at its first held event and keeps the others' events", () => {
		expect(releasable([entry("a", 2), entry("a", 3, true), entry("a", 4), entry("b", 5)])).toEqual([entry("a", 2), entry("b", 5)]);
	});

	it("an order whose earlier events already left sends its next one", () => {
		expect(releasable([entry("a", 4)])).toEqual([entry("a", 4)]);
	});
});

describe("planOrder: what the consumer does with an order's arrived events", () => {
	const seq = (...s: number[]) => s.map((sequence) => ({ sequence }));

	it("delivers the successors of the last delivered one in sequence", () => {
		expect(planOrder(1, seq(3, 2))).toEqual({ deliver: seq(2, 3), duplicate: [], park: [] });
	});

	it("parks what is ahead of a missing earlier event", () => {
		expect(planOrder(0, seq(2, 3))).toEqual({ deliver: [], duplicate: [], park: seq(2, 3) });
		expect(planOrder(0, seq(1, 3))).toEqual({ deliver: seq(1), duplicate: [], park: seq(3) });
	});

	it("counts already delivered sequences and second copies as duplicates", () => {
		expect(planOrder(2, seq(1, 2, 3, 3))).toEqual({ deliver: seq(3), duplicate: seq(1, 2, 3), park: [] });
	});
});
