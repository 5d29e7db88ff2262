import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogBinding, d1Blocks, isPlaceholderId, planShards, shardBindings, withShardBindings } from "../../scripts/lib/shard-config.mjs";
import { databasesOf } from "../../scripts/lib/migrations.mjs";

const shipped = readFileSync(join(import.meta.dirname, "..", "..", "wrangler.toml"), "utf8");

const SINGLE = `name = "shop"
main = "src/index.ts"

[[d1_databases]]
binding = "DB"
database_name = "orders-db"
database_id = "6f1c2d3e-0000-4000-8000-00000000abcd" # the shop's database
migrations_dir = "migrations"

[triggers]
crons = ["* * * * *"]
`;

const id = (n: number) => `a0000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("reading the shard bindings", () => {
	it("finds the shipped ORDERS_0..3 on placeholder ids and DB", () => {
		const bound = shardBindings(shipped);
		expect(bound.map((b) => b.index)).toEqual([0, 1, 2, 3]);
		expect(bound.every((b) => isPlaceholderId(b.id))).toBe(true);
		expect(catalogBinding(shipped)?.name).toBe("orders-db");
	});

	it("tells a placeholder id from a real one", () => {
		expect(isPlaceholderId("00000000-0000-0000-0000-000000000003")).toBe(true);
		expect(isPlaceholderId(id(3))).toBe(false);
		expect(isPlaceholderId(undefined)).toBe(true);
	});
});

describe("planning the shards", () => {
	it("creates every shard of a new shop, named after the Worker", () => {
		const plan = planShards({ toml: shipped, count: 4, worker: "stockgate" });
		expect(plan.shards?.map((s) => [s.name, s.from])).toEqual([
			["stockgate-orders-0", "create"],
			["stockgate-orders-1", "create"],
			["stockgate-orders-2", "create"],
			["stockgate-orders-3", "create"],
		]);
	});

	it("keeps shard 0 on the shop's own database when upgrading from one database", () => {
		const plan = planShards({ toml: SINGLE, count: 4, worker: "shop", upgrade: true });
		expect(plan.shards?.[0]).toEqual({ index: 0, name: "orders-db", id: "6f1c2d3e-0000-4000-8000-00000000abcd", from: "catalog" });
		expect(plan.shards?.slice(1).map((s) => s.from)).toEqual(["create", "create", "create"]);
	});

	it("finds a database a stopped run created instead of creating it again", () => {
		const plan = planShards({ toml: SINGLE, count: 3, worker: "shop", upgrade: true, remote: [{ name: "shop-orders-1", id: id(1) }] });
		expect(plan.shards?.map((s) => s.from)).toEqual(["catalog", "found", "create"]);
		expect(plan.shards?.[1]?.id).toBe(id(1));
	});

	it("refuses fewer shards than are bound: customers would change shards", () => {
		const toml = withShardBindings(SINGLE, [0, 1, 2].map((i) => ({ index: i, name: `shop-orders-${i}`, id: id(i) })));
		expect(planShards({ toml, count: 2, worker: "shop" }).error).toMatch(/drop ORDERS_2/);
	});

	it("refuses to upgrade a shop without a database id, or one already sharded", () => {
		expect(planShards({ toml: shipped, count: 4, worker: "stockgate", upgrade: true }).error).toMatch(/DB has no database_id/);
		const sharded = withShardBindings(SINGLE, [{ index: 0, name: "shop-orders-0", id: id(0) }]);
		expect(planShards({ toml: sharded, count: 4, worker: "shop", upgrade: true }).error).toMatch(/already sharded/);
	});

	it("refuses a count that is not a whole number from 1 to 256", () => {
		for (const count of [0, -1, 2.5, 257, Number.NaN]) expect(planShards({ toml: SINGLE, count, worker: "shop" }).error).toMatch(/--count/);
	});
});

describe("writing the shard bindings", () => {
	it("adds the missing blocks after the last D1 binding and leaves the rest as it was", () => {
		const shards = [0, 1].map((i) => ({ index: i, name: `shop-orders-${i}`, id: id(i) }));
		const out = withShardBindings(SINGLE, shards);
		expect(out).toBe(
			SINGLE.replace(
				'migrations_dir = "migrations"\n',
				`migrations_dir = "migrations"
[[d1_databases]]
binding = "ORDERS_0"
database_name = "shop-orders-0"
database_id = "${id(0)}"
migrations_dir = "migrations"
[[d1_databases]]
binding = "ORDERS_1"
database_name = "shop-orders-1"
database_id = "${id(1)}"
migrations_dir = "migrations"
`,
			),
		);
		expect(shardBindings(out)).toEqual(shards);
	});

	it("rewrites a bound shard's name and id in place, keeping its comments", () => {
		const out = withShardBindings(shipped, [{ index: 2, name: "stockgate-orders-2", id: id(2) }]);
		const before = shipped.split("\n");
		const after = out.split("\n");
		expect(after).toHaveLength(before.length);
		expect(after.filter((l, i) => l !== before[i])).toEqual([`database_id = "${id(2)}"`]);
	});

	it("is idempotent: writing the same bindings again changes nothing", () => {
		const shards = [0, 1, 2, 3].map((i) => ({ index: i, name: `stockgate-orders-${i}`, id: id(i) }));
		const once = withShardBindings(shipped, shards);
		expect(withShardBindings(once, shards)).toBe(once);
		expect(planShards({ toml: once, count: 4, worker: "stockgate" }).shards?.every((s) => s.from === "kept")).toBe(true);
	});

	it("binds an upgraded shop's ORDERS_0 to DB's database, which is migrated once", () => {
		const out = withShardBindings(SINGLE, [
			{ index: 0, name: "orders-db", id: "6f1c2d3e-0000-4000-8000-00000000abcd" },
			{ index: 1, name: "shop-orders-1", id: id(1) },
		]);
		const bindings = d1Blocks(out).map((b) => ({ binding: b.keys.binding!, database_name: b.keys.database_name, database_id: b.keys.database_id }));
		expect(bindings.map((b) => b.binding)).toEqual(["DB", "ORDERS_0", "ORDERS_1"]);
		expect(databasesOf(bindings).map((d) => d.bindings)).toEqual([["DB", "ORDERS_0"], ["ORDERS_1"]]);
	});
});
