// The shards bench scenario's pure parts: the single-database config and each
// database's share of the work per order.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { busiestShare, perOrder, withoutOrderShards } from "../../bench/lib/shards.mjs";

const CONFIG = `name = "x"
[[d1_databases]]
binding = "DB"
database_name = "orders-db"
migrations_dir = "migrations"

# shards
[[d1_databases]]
binding = "ORDERS_0"
database_name = "o-0"
[[d1_databases]]
binding = "ORDERS_1"
database_name = "o-1"

[[queues.producers]]
binding = "EVENTS"
`;

describe("withoutOrderShards", () => {
	it("drops every ORDERS_i database and keeps DB and the tables after them", () => {
		const out = withoutOrderShards(CONFIG);
		expect(out).toContain('binding = "DB"');
		expect(out).not.toContain("ORDERS_");
		expect(out).toContain('[[queues.producers]]\nbinding = "EVENTS"');
	});

	it("leaves the shipped wrangler.toml with DB alone and every other table", () => {
		const shipped = readFileSync(join(import.meta.dirname, "..", "..", "wrangler.toml"), "utf8");
		const out = withoutOrderShards(shipped);
		expect(shipped).toMatch(/binding = "ORDERS_3"/);
		expect(out).not.toMatch(/binding = "ORDERS_\d+"/);
		expect(out.match(/^\[\[d1_databases\]\]/gm)).toHaveLength(1);
		expect(out).toContain('binding = "DB"');
		expect(out.match(/^\[+[^\]]+\]+$/gm)!.length).toBe(shipped.match(/^\[+[^\]]+\]+$/gm)!.length - 4);
	});

	it("drops a shard that is the file's last table", () => {
		const out = withoutOrderShards(CONFIG.replace(/\[\[queues[^]*$/, ""));
		expect(out).not.toContain("ORDERS_");
		expect(out).toContain('binding = "DB"');
	});
});

describe("perOrder", () => {
	it("divides each database's work between two snapshots by the orders, leaving out idle ones", () => {
		const before = { DB: { statements: 10, ms: 2, untimed: 0 }, ORDERS_0: { statements: 5, ms: 1, untimed: 0 } };
		const after = { DB: { statements: 30, ms: 6, untimed: 1 }, ORDERS_0: { statements: 5, ms: 1, untimed: 0 }, ORDERS_1: { statements: 40, ms: 8, untimed: 0 } };
		expect(perOrder(before, after, 10)).toEqual({ DB: { statements: 2, ms: 0.4, untimed: 1 }, ORDERS_1: { statements: 4, ms: 0.8, untimed: 0 } });
	});

	it("refuses no orders", () => {
		expect(() => perOrder({}, {}, 0)).toThrow(RangeError);
	});
});

describe("busiestShare", () => {
	const single = { DB: { statements: 8, ms: 2, untimed: 0 } };

	it("compares the busiest database of the sharded layout with the single database, by busy time and by statements", () => {
		const sharded = { DB: { statements: 1, ms: 0.2, untimed: 0 }, ORDERS_0: { statements: 2, ms: 0.5, untimed: 0 }, ORDERS_1: { statements: 2.4, ms: 0.6, untimed: 0 } };
		const r = busiestShare(single, sharded);
		expect(r.busiest_shard).toBe("ORDERS_1");
		expect(r.busiest_database).toBe("ORDERS_1");
		expect(r.share).toBe(0.3);
		expect(r.share_by_statements).toBe(0.3);
		expect(r.db).toEqual(sharded.DB);
		expect(r.met).toBe(true);
		expect(r.basis).toBe("busy ms");
	});

	it("reports a miss when DB stays the busiest database above the bound", () => {
		const sharded = { DB: { statements: 4, ms: 0.9, untimed: 0 }, ORDERS_0: { statements: 2, ms: 0.5, untimed: 0 } };
		const r = busiestShare(single, sharded);
		expect(r.busiest_database).toBe("DB");
		expect(r.busiest_shard).toBe("ORDERS_0");
		expect(r.share).toBe(0.45);
		expect(r.met).toBe(false);
	});

	it("judges by statements when too few milliseconds were timed for the busy-time share to mean anything", () => {
		const sharded = { DB: { statements: 0.1, ms: 0, untimed: 0 }, ORDERS_0: { statements: 2, ms: 0.9, untimed: 0 } };
		const timed = busiestShare(single, sharded, 10_000);
		expect(timed.basis).toBe("busy ms");
		expect(timed.share).toBe(0.45);
		expect(timed.met).toBe(false);
		const few = busiestShare(single, sharded, 10);
		expect(few.basis).toBe("statements");
		expect(few.share_by_statements).toBe(0.25);
		expect(few.met).toBe(true);
	});

	it("needs the single database's figure", () => {
		expect(() => busiestShare({}, {})).toThrow(/no work at DB/);
	});
});
