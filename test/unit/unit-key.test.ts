import { describe, expect, it } from "vitest";
import { unitChoices, unitKey, unitOf } from "../../web/src/lib/units";

describe("unit keys of the pages", () => {
	it("writes a unit as product|size, the form the pickers and the browser tests use", () => {
		expect(unitKey({ product_id: "tee-classic", size: "M" })).toBe("tee-classic|M");
	});

	it("reads a key back into the same unit, for every size the API allows", () => {
		for (const size of ["M", "42", "ONE", "10.5", "x_l-2"]) {
			expect(unitOf(unitKey({ product_id: "p-1_a", size }))).toEqual({ product_id: "p-1_a", size });
		}
	});

	it("keeps units apart whose ids and sizes would run together without the separator", () => {
		expect(unitKey({ product_id: "ab", size: "c" })).not.toBe(unitKey({ product_id: "a", size: "bc" }));
	});

	it("refuses a string that is not a unit key", () => {
		expect(() => unitOf("tee-classic")).toThrow(/not a unit key/);
	});

	it("lists every size of every product as a picker option, in order", () => {
		const choices = unitChoices([
			{ product_id: "tee", name: "Tee", sizes: ["S", "M"] },
			{ product_id: "cap", name: "Cap", sizes: ["ONE"] },
		]);
		expect(choices).toEqual([
			{ key: "tee|S", product_id: "tee", size: "S", label: "Tee (tee) / S" },
			{ key: "tee|M", product_id: "tee", size: "M", label: "Tee (tee) / M" },
			{ key: "cap|ONE", product_id: "cap", size: "ONE", label: "Cap (cap) / ONE" },
		]);
	});
});
