import { describe, expect, it } from "vitest";
import { attribute, kitAvailable, physicalDemand, sellable, strandedStock, type KitInfo } from "../../src/catalog/kits";

const kit: KitInfo = {
	product_id: "starter-kit",
	components: [
		{ product_id: "tee", size: "M", quantity: 2 },
		{ product_id: "cap", size: "OS", quantity: 1 },
	],
};
const products = new Map<string, KitInfo>([
	["starter-kit", kit],
	["tee", { product_id: "tee", components: null }],
	["cap", { product_id: "cap", components: null }],
]);

describe("physicalDemand", () => {
	it("adds kit components and plain lines that share a unit before any check", () => {
		const demand = physicalDemand(
			[
				{ product_id: "starter-kit", size: "ONE", quantity: 2 },
				{ product_id: "tee", size: "M", quantity: 1 },
			],
			products,
		);
		expect(demand).toEqual([
			{ product_id: "tee", size: "M", quantity: 5 },
			{ product_id: "cap", size: "OS", quantity: 2 },
		]);
	});

	it("leaves plain lines alone and never includes the kit itself", () => {
		expect(physicalDemand([{ product_id: "cap", size: "OS", quantity: 3 }], products)).toEqual([{ product_id: "cap", size: "OS", quantity: 3 }]);
		expect(physicalDemand([{ product_id: "starter-kit", size: "ONE", quantity: 1 }], products).map((l) => l.product_id)).not.toContain("starter-kit");
	});
});

describe("kitAvailable", () => {
	it("is the minimum over components of floor(available / quantity)", () => {
		const levels: Record<string, number> = { "tee/M": 7, "cap/OS": 10 };
		expect(kitAvailable(kit.components!, (u) => levels[`${u.product_id}/${u.size}`] ?? 0)).toBe(3);
		levels["cap/OS"] = 2;
		expect(kitAvailable(kit.components!, (u) => levels[`${u.product_id}/${u.size}`] ?? 0)).toBe(2);
		levels["tee/M"] = 1;
		expect(kitAvailable(kit.components!, (u) => levels[`${u.product_id}/${u.size}`] ?? 0)).toBe(0);
		expect(kitAvailable([], () => 5)).toBe(0);
	});
});

describe("attribute", () => {
	it("shares a unit's allocations between a plain line and a kit's component, and counts whole kits per warehouse", () => {
		const lines = [
			{ product_id: "tee", size: "M", quantity: 1 },
			{ product_id: "starter-kit", size: "ONE", quantity: 2 },
		];
		const out = attribute(lines, products, [
			{ warehouse_id: "east", product_id: "tee", size: "M", quantity: 3 },
			{ warehouse_id: "west", product_id: "tee", size: "M", quantity: 2 },
			{ warehouse_id: "east", product_id: "cap", size: "OS", quantity: 1 },
			{ warehouse_id: "west", product_id: "cap", size: "OS", quantity: 1 },
		]);
		expect(out[0]!.allocations).toEqual([{ warehouse_id: "east", quantity: 1 }]);
		expect(out[1]!.components).toEqual([
			{ product_id: "tee", size: "M", quantity: 4, allocations: [{ warehouse_id: "east", quantity: 2 }, { warehouse_id: "west", quantity: 2 }] },
			{ product_id: "cap", size: "OS", quantity: 2, allocations: [{ warehouse_id: "east", quantity: 1 }, { warehouse_id: "west", quantity: 1 }] },
		]);
		expect(out[1]!.allocations).toEqual([
			{ warehouse_id: "east", quantity: 1 },
			{ warehouse_id: "west", quantity: 1 },
		]);
	});
});

describe("sellable", () => {
	const active = (ids: string[]) => (id: string) => ids.includes(id);

	it("a plain product is sellable while it is active", () => {
		expect(sellable({ active: true, components: null }, active([]))).toBe(true);
		expect(sellable({ active: false, components: null }, active([]))).toBe(false);
	});

	it("a kit is sellable only while it and every component are active", () => {
		expect(sellable({ active: true, components: kit.components }, active(["tee", "cap"]))).toBe(true);
		expect(sellable({ active: true, components: kit.components }, active(["tee"]))).toBe(false);
		expect(sellable({ active: false, components: kit.components }, active(["tee", "cap"]))).toBe(false);
	});
});

describe("strandedStock", () => {
	it("names each warehouse with units of the product on hand, reserved or incoming, summed over sizes, in warehouse order", () => {
		const row = (product_id: string, on_hand: number, reserved: number, incoming = 0) => ({ product_id, on_hand, reserved, incoming });
		const out = strandedStock(
			"bag",
			new Map([
				["west", [row("bag", 0, 0), row("bag", 4, 1), row("tee", 9, 0)]],
				["east", [row("bag", 2, 0), row("bag", 1, 0)]],
				["north", [row("bag", 0, 0), row("tee", 5, 5)]],
				["south", [row("bag", 0, 0, 3)]],
			]),
		);
		expect(out).toEqual([
			{ warehouse_id: "east", on_hand: 3, reserved: 0, incoming: 0 },
			{ warehouse_id: "south", on_hand: 0, reserved: 0, incoming: 3 },
			{ warehouse_id: "west", on_hand: 4, reserved: 1, incoming: 0 },
		]);
		expect(strandedStock("bag", new Map())).toEqual([]);
	});
});
