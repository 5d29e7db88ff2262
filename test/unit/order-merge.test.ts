/** The admin list's merge over shard pages (src/orders/merge.ts), pure. */
import { describe, expect, it } from "vitest";
import { after, mergePages, newerFirst, type Merged, type SortKey } from "../../src/orders/merge";
import { rng } from "../helpers/random";

const row = (created_at: string, order_id: string): SortKey => ({ created_at, order_id });

/** A shard's own keyset read: its first `take` rows after the cursor, newest first. */
function shardPage(shard: SortKey[], cursor: SortKey | null, take: number): SortKey[] {
	return [...shard].sort(newerFirst).filter((r) => after(r, cursor)).slice(0, take);
}

/** Pages through `shards` with `limit` per page as the route does; answers every page. */
function pageThrough(shards: SortKey[][], limit: number): SortKey[][] {
	const pages: SortKey[][] = [];
	let cursor: SortKey | null = null;
	for (let n = 0; n < 10_000; n++) {
		const m: Merged<SortKey> = mergePages(shards.map((s) => shardPage(s, cursor, limit + 1)), cursor, limit);
		pages.push(m.rows);
		if (!m.next) return pages;
		cursor = m.next;
	}
	throw new Error("no last page");
}

describe("merging shard pages", () => {
	it("orders newest first by created_at, ties by order id, and takes `limit`", () => {
		const a = [row("2026-01-03", "ord_0_a"), row("2026-01-01", "ord_0_b")];
		const b = [row("2026-01-03", "ord_1_c"), row("2026-01-02", "ord_1_d")];
		const m = mergePages([a, b], null, 3);
		expect(m.rows).toEqual([row("2026-01-03", "ord_1_c"), row("2026-01-03", "ord_0_a"), row("2026-01-02", "ord_1_d")]);
		expect(m.next).toEqual(row("2026-01-02", "ord_1_d"));
	});

	it("is the last page when no shard has a row beyond `limit`", () => {
		const m = mergePages([[row("2026-01-02", "x")], [], [row("2026-01-01", "y")]], null, 2);
		expect(m.rows.map((r) => r.order_id)).toEqual(["x", "y"]);
		expect(m.next).toBeNull();
		expect(mergePages([[], []], null, 5)).toEqual({ rows: [], next: null });
	});

	it("drops rows at or before the cursor a shard page may carry", () => {
		const cursor = row("2026-01-02", "m");
		const m = mergePages([[row("2026-01-03", "z"), row("2026-01-02", "m"), row("2026-01-02", "a")]], cursor, 5);
		expect(m.rows).toEqual([row("2026-01-02", "a")]);
	});

	it("refuses a limit that is not a positive integer", () => {
		expect(() => mergePages([], null, 0)).toThrow(RangeError);
		expect(() => mergePages([], null, 1.5)).toThrow(RangeError);
	});

	it("pages exactly: every row once, in global order, whatever the shards, ties and page size (seeded)", () => {
		const r = rng(20261207);
		for (let round = 0; round < 200; round++) {
			const n = r.int(1, 5);
			const shards: SortKey[][] = Array.from({ length: n }, () => []);
			const total = r.int(0, 60);
			for (let i = 0; i < total; i++) {
				// Few distinct instants: many ties across shards, broken by id.
				const at = `2026-01-01T00:00:0${r.int(0, 3)}.000Z`;
				const shard = r.int(0, n - 1);
				shards[shard]!.push(row(at, `ord_${shard}_${i.toString(16).padStart(4, "0")}`));
			}
			const limit = r.int(1, 7);
			const seen = pageThrough(shards, limit);
			for (const page of seen.slice(0, -1)) expect(page).toHaveLength(limit);
			expect(seen.flat()).toEqual(shards.flat().sort(newerFirst));
		}
	});
});
