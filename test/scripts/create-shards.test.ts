import { describe, expect, it } from "vitest";
import { createdId, createShards, listed, type D1Runner } from "../../scripts/lib/create-shards.mjs";
import { shardBindings } from "../../scripts/lib/shard-config.mjs";

const SINGLE = `name = "shop"

[[d1_databases]]
binding = "DB"
database_name = "orders-db"
database_id = "6f1c2d3e-0000-4000-8000-00000000abcd"
migrations_dir = "migrations"
`;

/** wrangler, mocked: an account holding `existing` databases; every call recorded. */
function fakeWrangler(existing: Array<{ name: string; id: string }> = []) {
	const calls: string[] = [];
	const dbs = [...existing];
	const d1: D1Runner = {
		list: async () => {
			calls.push("list");
			return [...dbs];
		},
		create: async (name) => {
			calls.push(`create ${name}`);
			if (dbs.some((d) => d.name === name)) throw new Error(`A database with that name already exists: ${name}`);
			const id = `b0000000-0000-4000-8000-${String(dbs.length + 1).padStart(12, "0")}`;
			dbs.push({ name, id });
			return id;
		},
	};
	return { d1, calls, dbs };
}

describe("creating the shards", () => {
	it("upgrades a single-database shop: ORDERS_0 is its database, the others are created and bound", async () => {
		const w = fakeWrangler();
		const out = await createShards({ toml: SINGLE, count: 4, worker: "shop", upgrade: true, d1: w.d1 });
		expect(w.calls).toEqual(["list", "create shop-orders-1", "create shop-orders-2", "create shop-orders-3"]);
		expect(shardBindings(out.toml).map((b) => [b.index, b.name])).toEqual([
			[0, "orders-db"],
			[1, "shop-orders-1"],
			[2, "shop-orders-2"],
			[3, "shop-orders-3"],
		]);
		expect(shardBindings(out.toml)[0]?.id).toBe("6f1c2d3e-0000-4000-8000-00000000abcd");
		expect(out.lines[0]).toMatch(/^ORDERS_0: orders-db .*today's orders stay in shard 0/);
	});

	it("is idempotent: a second run creates nothing and asks wrangler nothing", async () => {
		const w = fakeWrangler();
		const first = await createShards({ toml: SINGLE, count: 3, worker: "shop", upgrade: true, d1: w.d1 });
		w.calls.length = 0;
		const again = await createShards({ toml: first.toml, count: 3, worker: "shop", upgrade: true, d1: w.d1 });
		expect(w.calls).toEqual([]);
		expect(again.toml).toBe(first.toml);
	});

	it("after a run stopped before writing wrangler.toml, binds what it created instead of creating it twice", async () => {
		const w = fakeWrangler([{ name: "shop-orders-1", id: "c0000000-0000-4000-8000-000000000001" }]);
		const out = await createShards({ toml: SINGLE, count: 3, worker: "shop", upgrade: true, d1: w.d1 });
		expect(w.calls).toEqual(["list", "create shop-orders-2"]);
		expect(shardBindings(out.toml)[1]?.id).toBe("c0000000-0000-4000-8000-000000000001");
	});

	it("grows: keeps the bound shards and adds the new ones", async () => {
		const w = fakeWrangler();
		const two = await createShards({ toml: SINGLE, count: 2, worker: "shop", d1: w.d1 });
		const four = await createShards({ toml: two.toml, count: 4, worker: "shop", d1: w.d1 });
		expect(shardBindings(four.toml).slice(0, 2)).toEqual(shardBindings(two.toml));
		expect(w.dbs.map((d) => d.name)).toEqual(["shop-orders-0", "shop-orders-1", "shop-orders-2", "shop-orders-3"]);
	});

	it("writes nothing when wrangler fails midway", async () => {
		const w = fakeWrangler();
		let n = 0;
		const failing: D1Runner = { list: w.d1.list, create: async (name) => (++n === 2 ? Promise.reject(new Error("quota")) : w.d1.create(name)) };
		await expect(createShards({ toml: SINGLE, count: 3, worker: "shop", d1: failing })).rejects.toThrow("quota");
		// The one created is found by name on the next run.
		const out = await createShards({ toml: SINGLE, count: 3, worker: "shop", d1: w.d1 });
		expect(shardBindings(out.toml).map((b) => b.name)).toEqual(["shop-orders-0", "shop-orders-1", "shop-orders-2"]);
		expect(w.dbs).toHaveLength(3);
	});
});

describe("reading wrangler's output", () => {
	it("takes the id from d1 create's TOML or JSON snippet", () => {
		const id = "0b7a61c2-5f3e-4d8b-9a10-2c4e6f8a0b1d";
		expect(createdId(`✅ Successfully created DB 'shop-orders-1'\n\n[[d1_databases]]\nbinding = "shop_orders_1"\ndatabase_name = "shop-orders-1"\ndatabase_id = "${id}"\n`)).toBe(id);
		expect(createdId(`{\n  "d1_databases": [\n    {\n      "binding": "x",\n      "database_name": "x",\n      "database_id": "${id}"\n    }\n  ]\n}`)).toBe(id);
		expect(() => createdId("Authentication error")).toThrow(/no database_id/);
	});

	it("reads d1 list --json", () => {
		expect(listed('[{"uuid":"u1","name":"a","created_at":"x"}]')).toEqual([{ name: "a", id: "u1" }]);
	});
});
