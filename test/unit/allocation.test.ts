import { describe, expect, it } from "vitest";
import { allocate, type AllocationInput, type WarehousePlace } from "../../src/checkout/allocation";
import type { Level, Line } from "../../src/stock/types";

const ADDRESS = { postal_code: "94103", region: "CA", country: "US" };

const wh = (warehouse_id: string, postal_code: string, region = "CA", country = "US"): WarehousePlace => ({ warehouse_id, postal_code, region, country });
const NEAR = (id: string) => wh(id, "94107"); // tier_1 for ADDRESS
const REGION = (id: string) => wh(id, "90001"); // tier_2
const FAR = (id: string) => wh(id, "10001", "NY"); // tier_3

const line = (product_id: string, size: string, quantity: number): Line => ({ product_id, size, quantity });

/** Stock as { warehouse: { "product/size": available } }. */
function stock(spec: Record<string, Record<string, number>>): Map<string, Level[]> {
	return new Map(
		Object.entries(spec).map(([id, units]) => [
			id,
			Object.entries(units).map(([key, available]) => {
				const [product_id = "", size = ""] = key.split("/");
				return { product_id, size, on_hand: available, reserved: 0, available };
			}),
		]),
	);
}

function input(demand: Line[], warehouses: WarehousePlace[], levels: Record<string, Record<string, number>>, address: AllocationInput["address"] = ADDRESS): AllocationInput {
	return { demand, warehouses, availability: stock(levels), address };
}

describe("allocate: one warehouse", () => {
	it("ships from the best tier that holds everything", () => {
		const r = allocate(
			input([line("tee", "M", 2), line("cap", "OS", 1)], [FAR("far"), NEAR("near"), REGION("reg")], {
				far: { "tee/M": 50, "cap/OS": 50 },
				near: { "tee/M": 2, "cap/OS": 1 },
				reg: { "tee/M": 10, "cap/OS": 10 },
			}),
		);
		expect(r).toEqual({
			ok: true,
			tier: "tier_1",
			warehouses: ["near"],
			allocations: [
				{ warehouse_id: "near", product_id: "cap", size: "OS", quantity: 1, tier: "tier_1" },
				{ warehouse_id: "near", product_id: "tee", size: "M", quantity: 2, tier: "tier_1" },
			],
		});
	});

	it("prefers one farther warehouse over a split with nearer ones", () => {
		const r = allocate(
			input([line("tee", "M", 2), line("cap", "OS", 1)], [NEAR("a"), NEAR("b"), FAR("z")], {
				a: { "tee/M": 2 },
				b: { "cap/OS": 1 },
				z: { "tee/M": 2, "cap/OS": 1 },
			}),
		);
		expect(r.ok && r.warehouses).toEqual(["z"]);
		expect(r.ok && r.tier).toBe("tier_3");
	});

	it("same tier: more available stock of the demanded units wins", () => {
		const r = allocate(
			input([line("tee", "M", 1)], [NEAR("a"), NEAR("b")], {
				a: { "tee/M": 3, "other/X": 100 },
				b: { "tee/M": 5 },
			}),
		);
		expect(r.ok && r.warehouses).toEqual(["b"]);
	});

	it("deterministic tie-breaking: equal tier and stock goes to the smaller warehouse_id, whatever the input order", () => {
		const levels = { b: { "tee/M": 5 }, a: { "tee/M": 5 }, c: { "tee/M": 5 } };
		const one = allocate(input([line("tee", "M", 1)], [NEAR("c"), NEAR("b"), NEAR("a")], levels));
		const two = allocate(input([line("tee", "M", 1)], [NEAR("a"), NEAR("c"), NEAR("b")], levels));
		expect(one.ok && one.warehouses).toEqual(["a"]);
		expect(two).toEqual(one);
	});
});

describe("allocate: split", () => {
	it("a split forced by stock uses two warehouses and takes the worst tier", () => {
		const r = allocate(
			input([line("tee", "M", 5)], [NEAR("near"), FAR("far")], {
				near: { "tee/M": 3 },
				far: { "tee/M": 4 },
			}),
		);
		expect(r).toEqual({
			ok: true,
			tier: "tier_3",
			warehouses: ["far", "near"],
			allocations: [
				{ warehouse_id: "far", product_id: "tee", size: "M", quantity: 2, tier: "tier_3" },
				{ warehouse_id: "near", product_id: "tee", size: "M", quantity: 3, tier: "tier_1" },
			],
		});
	});

	it("uses as few warehouses as possible, even if many small ones are nearer", () => {
		const r = allocate(
			input([line("tee", "M", 6), line("cap", "OS", 2)], [NEAR("n1"), NEAR("n2"), NEAR("n3"), FAR("f1"), FAR("f2")], {
				n1: { "tee/M": 2 },
				n2: { "tee/M": 2 },
				n3: { "tee/M": 2, "cap/OS": 2 },
				f1: { "tee/M": 6 },
				f2: { "cap/OS": 2 },
			}),
		);
		// {f1, f2} and {f1, n3} both cover in two; {f1, n3} holds more of the demanded stock.
		expect(r.ok && r.warehouses).toEqual(["f1", "n3"]);
		expect(r.ok && r.tier).toBe("tier_3");
	});

	it("among minimal splits, the better worst tier wins, then more stock", () => {
		// {a, c} and {b, c} both cover: {a, c} is all tier_1, {b, c} has b at tier_3.
		const r = allocate(
			input([line("tee", "M", 1), line("cap", "OS", 1)], [NEAR("a"), FAR("b"), NEAR("c")], {
				a: { "tee/M": 1 },
				b: { "tee/M": 99 },
				c: { "cap/OS": 1 },
			}),
		);
		expect(r.ok && r.warehouses).toEqual(["a", "c"]);
		expect(r.ok && r.tier).toBe("tier_1");

		const more = allocate(
			input([line("tee", "M", 1), line("cap", "OS", 1)], [NEAR("a"), NEAR("b"), NEAR("c")], {
				a: { "tee/M": 1 },
				b: { "tee/M": 99 },
				c: { "cap/OS": 1 },
			}),
		);
		expect(more.ok && more.warehouses).toEqual(["b", "c"]);
	});

	it("deterministic tie-breaking between equal splits: the lexicographically smaller id list", () => {
		const levels = { a: { "tee/M": 1 }, b: { "tee/M": 1 }, c: { "cap/OS": 1 }, d: { "cap/OS": 1 } };
		const demand = [line("tee", "M", 1), line("cap", "OS", 1)];
		const r = allocate(input(demand, [NEAR("d"), NEAR("c"), NEAR("b"), NEAR("a")], levels));
		expect(r.ok && r.warehouses).toEqual(["a", "c"]);
		expect(allocate(input([...demand].reverse(), [NEAR("b"), NEAR("a"), NEAR("d"), NEAR("c")], levels))).toEqual(r);
	});

	it("draws each unit from the better tier first, then the warehouse with more of it", () => {
		const r = allocate(
			input([line("tee", "M", 6), line("cap", "OS", 2)], [FAR("far"), NEAR("near")], {
				far: { "tee/M": 10 },
				near: { "tee/M": 4, "cap/OS": 2 },
			}),
		);
		expect(r.ok && r.allocations).toEqual([
			{ warehouse_id: "far", product_id: "tee", size: "M", quantity: 2, tier: "tier_3" },
			{ warehouse_id: "near", product_id: "cap", size: "OS", quantity: 2, tier: "tier_1" },
			{ warehouse_id: "near", product_id: "tee", size: "M", quantity: 4, tier: "tier_1" },
		]);
	});

	it("exact search over pairs: the nearer pair wins over the pair a coverage-greedy pick would start from", () => {
		// Greedy by coverage would take "big" (5 of 6 units) and then y: a tier_3 plan. {x, y} is all tier_1.
		const r = allocate(
			input([line("p", "1", 3), line("p", "2", 3)], [FAR("big"), NEAR("x"), NEAR("y")], {
				big: { "p/1": 3, "p/2": 2 },
				x: { "p/1": 3 },
				y: { "p/2": 3 },
			}),
		);
		expect(r.ok && r.warehouses).toEqual(["x", "y"]);
		expect(r.ok && r.tier).toBe("tier_1");
	});

	it("more than eight useful warehouses: greedy cover still ships everything without a redundant warehouse", () => {
		const warehouses = Array.from({ length: 12 }, (_, i) => NEAR(`w${String(i).padStart(2, "0")}`));
		const levels = Object.fromEntries(warehouses.map((w, i) => [w.warehouse_id, { "tee/M": 1 + (i % 3) }]));
		const r = allocate(input([line("tee", "M", 9)], warehouses, levels));
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.allocations.reduce((s, a) => s + a.quantity, 0)).toBe(9);
		expect(r.warehouses).toHaveLength(3); // three holding 3 each
		for (const a of r.allocations) expect(levels[a.warehouse_id]!["tee/M"]).toBeGreaterThanOrEqual(a.quantity);
	});
});

describe("allocate: shortages", () => {
	it("one unit short by one: requested and available summed over all warehouses", () => {
		const r = allocate(
			input([line("tee", "M", 5), line("cap", "OS", 1)], [NEAR("a"), FAR("b")], {
				a: { "tee/M": 2, "cap/OS": 1 },
				b: { "tee/M": 2 },
			}),
		);
		expect(r).toEqual({ ok: false, shortages: [{ product_id: "tee", size: "M", requested: 5, available: 4 }] });
	});

	it("a unit nobody stocks is short with available 0; shortages come sorted", () => {
		const r = allocate(input([line("zeta", "S", 1), line("alpha", "L", 2), line("tee", "M", 1)], [NEAR("a")], { a: { "tee/M": 1 } }));
		expect(r).toEqual({
			ok: false,
			shortages: [
				{ product_id: "alpha", size: "L", requested: 2, available: 0 },
				{ product_id: "zeta", size: "S", requested: 1, available: 0 },
			],
		});
	});

	it("duplicate demand lines for the same unit add up before the check", () => {
		const levels = { a: { "tee/M": 3 } };
		// Each line alone fits; together they do not.
		expect(allocate(input([line("tee", "M", 2), line("tee", "M", 2)], [NEAR("a")], levels))).toEqual({
			ok: false,
			shortages: [{ product_id: "tee", size: "M", requested: 4, available: 3 }],
		});
		const fits = allocate(input([line("tee", "M", 1), line("tee", "M", 2)], [NEAR("a")], levels));
		expect(fits.ok && fits.allocations).toEqual([{ warehouse_id: "a", product_id: "tee", size: "M", quantity: 3, tier: "tier_1" }]);
	});

	it("only warehouses in the input list are considered, for plans and for shortage sums", () => {
		const r = allocate(input([line("tee", "M", 3)], [NEAR("a")], { a: { "tee/M": 1 }, inactive: { "tee/M": 100 } }));
		expect(r).toEqual({ ok: false, shortages: [{ product_id: "tee", size: "M", requested: 3, available: 1 }] });
	});

	it("a listed warehouse with no availability entry counts as empty", () => {
		const r = allocate(input([line("tee", "M", 1)], [NEAR("a"), NEAR("b")], { b: { "tee/M": 1 } }));
		expect(r.ok && r.warehouses).toEqual(["b"]);
	});
});

describe("allocate: null address", () => {
	it("every warehouse ranks as tier_3, so stock and then id decide", () => {
		const r = allocate(
			input([line("tee", "M", 1)], [NEAR("a"), FAR("b")], { a: { "tee/M": 1 }, b: { "tee/M": 2 } }, null),
		);
		expect(r).toEqual({
			ok: true,
			tier: "tier_3",
			warehouses: ["b"],
			allocations: [{ warehouse_id: "b", product_id: "tee", size: "M", quantity: 1, tier: "tier_3" }],
		});
	});
});

describe("allocate: bad input", () => {
	it("empty demand is a bug, not a plan", () => {
		expect(() => allocate(input([], [NEAR("a")], {}))).toThrow(TypeError);
	});
});
