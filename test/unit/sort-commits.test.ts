/**
 * What a gathered commit window's answers mean (src/checkout/commitLater.ts
 * sortCommits): outbox rows cleared only for confirmed commits, an order
 * announced only when every one of its warehouses confirmed, and a warehouse
 * whose call failed (or that refused) leaving its pairs to the reconciler.
 */
import { describe, expect, it } from "vitest";
import { sortCommits, type WarehouseAnswer } from "../../src/checkout/commitLater";
import type { OrderRecord } from "../../src/orders/queries";

const order = (id: string) => ({ order_id: id }) as OrderRecord;
const ok = { ok: true as const, replayed: false, late: false };

describe("sortCommits", () => {
	it("a warehouse that failed in a window of several: its orders stay unannounced, the others' rows are cleared", () => {
		const decided = [
			{ order: order("o1"), warehouseIds: ["east"] },
			{ order: order("o2"), warehouseIds: ["east", "west"] },
			{ order: order("o3"), warehouseIds: ["west"] },
		];
		const answers = new Map<string, WarehouseAnswer>([
			["east", { ok: true, results: { o1: ok, o2: ok } }],
			["west", { ok: false, error: new Error("object reset") }],
		]);
		const sorted = sortCommits(decided, answers);
		expect(sorted.cleared).toEqual([
			{ order_id: "o1", warehouse_id: "east" },
			{ order_id: "o2", warehouse_id: "east" },
		]);
		expect(sorted.announce.map((o) => o.order_id)).toEqual(["o1"]);
		expect(sorted.left).toEqual([
			{ order_id: "o2", warehouse_id: "west", result: null, error: "Error: object reset" },
			{ order_id: "o3", warehouse_id: "west", result: null, error: "Error: object reset" },
		]);
	});

	it("a refused or missing result is left with what the warehouse said; a replayed commit counts as confirmed", () => {
		const decided = [
			{ order: order("o1"), warehouseIds: ["east"] },
			{ order: order("o2"), warehouseIds: ["east"] },
			{ order: order("o3"), warehouseIds: ["east"] },
		];
		const refused = { ok: false as const, reason: "hold_released" as const };
		const answers = new Map<string, WarehouseAnswer>([["east", { ok: true, results: { o1: { ok: true, replayed: true, late: false }, o2: refused } }]]);
		const sorted = sortCommits(decided, answers);
		expect(sorted.cleared).toEqual([{ order_id: "o1", warehouse_id: "east" }]);
		expect(sorted.announce.map((o) => o.order_id)).toEqual(["o1"]);
		expect(sorted.left).toEqual([
			{ order_id: "o2", warehouse_id: "east", result: refused },
			{ order_id: "o3", warehouse_id: "east", result: null },
		]);
	});
});
