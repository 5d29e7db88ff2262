import { describe, expect, it } from "vitest";
import { Coalescer, coalescerPer } from "../../src/shared/coalescer";

/** A coalescer recording its flushes, plus a waitUntil that keeps the work to await. */
function harness(opts: { windowMs?: number; maxItems?: number; failOn?: (items: number[]) => boolean } = {}) {
	const flushes: number[][] = [];
	const errors: number[][] = [];
	const work: Promise<unknown>[] = [];
	const c = new Coalescer<number>({
		flush: async (items) => {
			if (opts.failOn?.(items)) throw new Error("boom");
			flushes.push(items);
		},
		onError: (_err, items) => errors.push(items),
		windowMs: opts.windowMs ?? 20,
		maxItems: opts.maxItems ?? 100,
	});
	const waitUntil = (p: Promise<unknown>) => void work.push(p);
	const settle = async () => {
		while (work.length > 0) await Promise.all(work.splice(0));
	};
	return { c, flushes, errors, work, waitUntil, settle };
}

describe("Coalescer", () => {
	it("flushes everything added within one window once, in order, through the first adder's waitUntil", async () => {
		const h = harness();
		h.c.add([1], h.waitUntil);
		h.c.add([2, 3], h.waitUntil);
		h.c.add([4], h.waitUntil);
		expect(h.work).toHaveLength(1);
		expect(h.flushes).toEqual([]);
		expect(h.c.size).toBe(4);
		await h.settle();
		expect(h.flushes).toEqual([[1, 2, 3, 4]]);
		expect(h.c.size).toBe(0);
	});

	it("opens a new window after a flush", async () => {
		const h = harness();
		h.c.add([1], h.waitUntil);
		await h.settle();
		h.c.add([2], h.waitUntil);
		await h.settle();
		expect(h.flushes).toEqual([[1], [2]]);
	});

	it("a full window is flushed at once, in chunks of at most maxItems", async () => {
		const h = harness({ windowMs: 60_000, maxItems: 3 });
		h.c.add([1, 2], h.waitUntil);
		h.c.add([3, 4, 5, 6, 7], h.waitUntil);
		await Promise.all(h.work.slice(1));
		expect(h.flushes).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
	});

	it("flushWith sends what is waiting first, then its own items, and resolves when they are done", async () => {
		const h = harness({ windowMs: 60_000 });
		h.c.add([1, 2], h.waitUntil);
		await h.c.flushWith([3]);
		expect(h.flushes).toEqual([[1, 2, 3]]);
		expect(h.c.size).toBe(0);
	});

	it("a flush takes only what was waiting when it started; items added during it wait for their own window", async () => {
		const flushes: number[][] = [];
		const work: Promise<unknown>[] = [];
		const waitUntil = (p: Promise<unknown>) => void work.push(p);
		const c: Coalescer<number> = new Coalescer<number>({
			flush: async (items) => {
				flushes.push(items);
				// Another request adds while this flush is sending.
				if (items.includes(1)) c.add([9], waitUntil);
			},
			onError: () => {},
			windowMs: 5,
			maxItems: 100,
		});
		await c.flushWith([1]);
		expect(flushes).toEqual([[1]]);
		expect(c.size).toBe(1);
		while (work.length > 0) await Promise.all(work.splice(0));
		expect(flushes).toEqual([[1], [9]]);
	});

	it("a failed flush goes to onError and does not stop the next window", async () => {
		const h = harness({ failOn: (items) => items.includes(1) });
		h.c.add([1], h.waitUntil);
		await h.settle();
		h.c.add([2], h.waitUntil);
		await h.settle();
		expect(h.errors).toEqual([[1]]);
		expect(h.flushes).toEqual([[2]]);
	});

	it("adding nothing schedules nothing", () => {
		const h = harness();
		h.c.add([], h.waitUntil);
		expect(h.work).toEqual([]);
	});
});

describe("coalescerPer", () => {
	it("keeps one coalescer per key object", () => {
		const of = coalescerPer((_key: object) => new Coalescer<number>({ flush: async () => {}, onError: () => {}, windowMs: 1, maxItems: 1 }));
		const a = {};
		const b = {};
		expect(of(a)).toBe(of(a));
		expect(of(a)).not.toBe(of(b));
	});
});
