// countedD1: every statement run through the handle is counted once, per isolate
// and in the current request's counters (the [http] line's d1_queries); the
// statements still run against the real database, in a batch too.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { requestCounters, withRequestContext } from "../../src/shared/log";
import { countedD1, d1Queries } from "../../src/shared/d1Count";

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
