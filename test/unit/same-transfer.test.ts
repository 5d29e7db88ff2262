/**
 * sameTransfer(): whether a transfer found by a create's reference was made by
 * the same request (a replay, 200) or by another one (422 IDEMPOTENCY_KEY_REUSED).
 */
import { describe, expect, it } from "vitest";
import type { TransferRecord } from "../../src/transfers/queries";
import { sameTransfer, type CreateTransferInput } from "../../src/transfers/saga";

const stored: TransferRecord = {
	transfer_id: "trf_1",
	from_warehouse_id: "wh-a",
	to_warehouse_id: "wh-b",
	items: [
		{ product_id: "tee", size: "M", quantity: 3 },
		{ product_id: "cap", size: "ONE", quantity: 1 },
	],
	status: "in_transit",
	reference: "po-1",
	note: "rebalance",
	created_by: "admin-1",
	created_at: "2026-06-01T12:00:00.000Z",
	updated_at: "2026-06-01T12:00:00.000Z",
	step: "done",
	attempts: 0,
	next_attempt_at: "2026-06-01T12:00:00.000Z",
};
const input: CreateTransferInput = { from_warehouse_id: "wh-a", to_warehouse_id: "wh-b", items: stored.items, reference: "po-1", note: "rebalance" };

describe("sameTransfer", () => {
	it("is the same request with its lines in another order or split", () => {
		expect(sameTransfer(stored, input)).toBe(true);
		expect(sameTransfer(stored, { ...input, items: [{ product_id: "cap", size: "ONE", quantity: 1 }, { product_id: "tee", size: "M", quantity: 2 }, { product_id: "tee", size: "M", quantity: 1 }] })).toBe(true);
	});

	it("is another request when the route, a quantity, a unit or the note differs", () => {
		expect(sameTransfer(stored, { ...input, to_warehouse_id: "wh-c" })).toBe(false);
		expect(sameTransfer(stored, { ...input, from_warehouse_id: "wh-b", to_warehouse_id: "wh-a" })).toBe(false);
		expect(sameTransfer(stored, { ...input, items: [{ product_id: "tee", size: "M", quantity: 3 }] })).toBe(false);
		expect(sameTransfer(stored, { ...input, items: [{ product_id: "tee", size: "L", quantity: 3 }, { product_id: "cap", size: "ONE", quantity: 1 }] })).toBe(false);
		expect(sameTransfer(stored, { ...input, note: undefined })).toBe(false);
		expect(sameTransfer({ ...stored, note: null }, { ...input, note: undefined })).toBe(true);
	});
});
