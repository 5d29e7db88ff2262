// countedD1: every statement run through the handle is counted once, per isolate
// and in the current request's counters (the [http] line's d1_queries); the
// statements still run against the real database, in a batch too.
// withD1Stats: only with D1_STATS "on", each database's statements and the
// durations it reported, per binding name.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { requestCounters, withRequestContext } from "../../src/shared/log";
import type { Env } from "../../src/env";
import { countedD1, d1Queries, d1Stats, withD1Stats } from "../../src/shared/d1Count";

describe("countedD1", () => {
	it("counts first, all, run and raw once each, bound or not, and each statement of a batch", async () => {
		const db = countedD1(env.DB);
		expect(countedD1(env.DB)).toBe(db); // one handle per database
		const before = d1Queries();
		const counters = await withRequestContext("req-d1-count", async () => {
			expect(await db.prepare(`SELECT ? AS n`).bind(7).first<{ n: number }>()).toEqual({ n: 7 });
			expect((await db.prepare(`SELECT 1 AS n UNION ALL SELECT 2`).all<{ n: number }>()).results).toEqual([{ n: 1 }, { n: 2 }]);
			expect((await db.prepare(`SELECT 1`).run()).success).toBe(true);
			expect(await db.prepare(`SELECT 3 AS n`).raw()).toEqual([[3]]);
			const [a, b] = await db.batch<{ n: number }>([db.prepare(`SELECT ? AS n`).bind(1), db.prepare(`SELECT 2 AS n`)]);
			expect([a!.results, b!.results]).toEqual([[{ n: 1 }], [{ n: 2 }]]);
			return requestCounters();
		});
		expect(counters.d1_queries).toBe(6);
		expect(d1Queries() - before).toBe(6);
	});

	it("preparing or binding alone runs nothing and counts nothing", () => {
		const before = d1Queries();
		countedD1(env.DB).prepare(`SELECT ?`).bind(1);
		expect(d1Queries()).toBe(before);
	});
});

describe("withD1Stats", () => {
	it("leaves the bindings untouched unless D1_STATS is on", () => {
		expect(withD1Stats(env)).toBe(env);
		const off = { ...env, D1_STATS: "true" } as Env;
		expect(withD1Stats(off)).toBe(off);
	});

	it("counts each database's statements under its binding name and sums the durations the database reported", async () => {
		const on = withD1Stats({ ...env, D1_STATS: "on" } as Env);
		expect(on.DB).not.toBe(env.DB);
		const shard = (on as unknown as Record<string, D1Database>).ORDERS_1!;
		const before = d1Stats();
		const heavy = `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT sum(x) AS s FROM c`;
		expect(await on.DB.prepare(heavy).first<{ s: number }>()).toEqual({ s: 45_000_150_000 });
		expect(await on.DB.prepare(`SELECT ? AS n`).bind(5).first<number>("n")).toBe(5);
		expect(await on.DB.prepare(`SELECT 1 WHERE 0`).first()).toBeNull();
		const [a] = await shard.batch<{ n: number }>([shard.prepare(`SELECT ? AS n`).bind(1), shard.prepare(`SELECT 2 AS n`)]);
		expect(a!.results).toEqual([{ n: 1 }]);
		expect(await shard.prepare(`SELECT 3`).raw()).toEqual([[3]]);
		const after = d1Stats();
		const db = { statements: after.DB!.statements - (before.DB?.statements ?? 0), ms: after.DB!.ms - (before.DB?.ms ?? 0) };
		expect(db.statements).toBe(3);
		expect(db.ms).toBeGreaterThan(0); // the recursive sum takes the database measurable time
		expect(after.ORDERS_1!.statements - (before.ORDERS_1?.statements ?? 0)).toBe(3);
		expect(after.ORDERS_1!.untimed - (before.ORDERS_1?.untimed ?? 0)).toBe(1); // raw() returns no meta
	});

	it("keeps one wrapper per env, so code keyed on the env object or a database still finds it", () => {
		const raw = { ...env, D1_STATS: "on" } as Env;
		expect(withD1Stats(raw)).toBe(withD1Stats(raw));
		expect(withD1Stats(raw).DB).toBe(withD1Stats(raw).DB);
	});
});
