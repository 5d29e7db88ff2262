import { describe, expect, it } from "vitest";
import { ApiError } from "../../web/src/api/error";
import { explain, limitsOf, shortagesOf } from "../../web/src/shop/messages";

const name = (id: string) => ({ "cap-logo": "Logo Cap" })[id] ?? id;

describe("the shop's words for a checkout's 409s", () => {
	it("reads each short unit of an OUT_OF_STOCK answer", () => {
		const err = new ApiError(409, "OUT_OF_STOCK", "Some items are out of stock.", [{ product_id: "tee", size: "M", requested: 3, available: 1 }]);
		expect(shortagesOf(err)).toEqual([{ product_id: "tee", size: "M", requested: 3, available: 1 }]);
	});

	it("skips details entries that lack a field or have one of another type, and details that are not a list", () => {
		const details = [{ product_id: "tee", size: "M", requested: "3", available: 1 }, { product_id: "tee", size: "L" }, null, "tee", { product_id: "cap", size: "ONE", requested: 2, available: 0 }];
		expect(shortagesOf(new ApiError(409, "OUT_OF_STOCK", "", details))).toEqual([{ product_id: "cap", size: "ONE", requested: 2, available: 0 }]);
		expect(shortagesOf(new ApiError(409, "OUT_OF_STOCK", "", { product_id: "tee" }))).toEqual([]);
	});

	it("reads no shortages from another code's details", () => {
		expect(shortagesOf(new ApiError(409, "PURCHASE_LIMIT", "", [{ product_id: "tee", size: "M", requested: 3, available: 1 }]))).toEqual([]);
	});

	it("names a purchase limit with what the customer already holds", () => {
		const err = new ApiError(409, "PURCHASE_LIMIT", "At most 2 units of cap-logo per customer.", [{ product_id: "cap-logo", limit: 2, already: 1, requested: 3 }]);
		expect(limitsOf(err)).toHaveLength(1);
		expect(explain(err, name)).toBe("Logo Cap is limited to 2 per customer. You already have 1 in open orders, so you can add 1 more.");
	});

	it("keeps the API's sentence for a purchase limit whose details it cannot read", () => {
		const err = new ApiError(409, "PURCHASE_LIMIT", "At most 2 units of cap-logo per customer.", [{ product_id: "cap-logo" }]);
		expect(explain(err, name)).toBe("At most 2 units of cap-logo per customer.");
	});
});
