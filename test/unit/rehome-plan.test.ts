import { describe, expect, it } from "vitest";
import { shardIndexOf } from "../../src/orders/shards";
import { FRESH_PROGRESS, KEYS_KEEP_MS, keysSince, liveUnits, moveOf, movingFrom, nextProgress } from "../../src/ops/rehomePlan";

describe("who moves where", () => {
	it("reads the shard count customers move from, only when it is below N", () => {
		expect(movingFrom("1", 4)).toBe(1);
		expect(movingFrom("4", 8)).toBe(4);
		for (const raw of [undefined, "", " ", "0", "4", "5", "1.5", "x", "-1"]) expect(movingFrom(raw, 4)).toBeUndefined();
	});

	it("from one database, everyone was in shard 0 and moves to the shard they hash to, except who hashes to 0", () => {
		const subs = Array.from({ length: 200 }, (_, i) => `user-${i}`);
		for (const sub of subs) {
			const to = shardIndexOf(sub, 4);
			expect(moveOf(sub, 1, 4)).toEqual(to === 0 ? undefined : { from: 0, to });
		}
		// About three in four customers move.
		const moving = subs.filter((s) => moveOf(s, 1, 4)).length;
		expect(moving).toBeGreaterThan(120);
		expect(moving).toBeLessThan(180);
	});

	it("when N grows, a customer moves from the shard the old count placed them in", () => {
		for (let i = 0; i < 100; i++) {
			const sub = `grow-${i}`;
			const move = moveOf(sub, 4, 8);
			if (move) expect(move).toEqual({ from: shardIndexOf(sub, 4), to: shardIndexOf(sub, 8) });
			else expect(shardIndexOf(sub, 4)).toBe(shardIndexOf(sub, 8));
		}
	});
});

describe("what moves", () => {
	it("counts live orders' units as the purchase counters do: kit lines as the kit and as their components", () => {
		const orders = [
			{ products: JSON.stringify([{ product_id: "p", size: "M", quantity: 2 }]) },
			{ products: JSON.stringify([{ product_id: "kit", size: "One", quantity: 3, components: [{ product_id: "p", size: "M", quantity: 6 }] }, { product_id: "q", size: "S", quantity: 1 }]) },
		];
		expect(new Map(liveUnits(orders))).toEqual(
			new Map([
				["p", 8],
				["kit", 3],
				["q", 1],
			]),
		);
		expect(liveUnits([])).toEqual([]);
	});

	it("keeps idempotency keys of the last day", () => {
		const now = Date.parse("2026-03-01T12:00:00.000Z");
		expect(keysSince(now)).toBe(new Date(now - KEYS_KEEP_MS).toISOString());
		expect(KEYS_KEEP_MS).toBe(86_400_000);
	});
});

describe("the pass's place in its scan", () => {
	const at = "2026-03-01T12:00:00.000Z";

	it("goes on after the last customer scanned until the end, then starts a new round", () => {
		const a = nextProgress(FRESH_PROGRESS, ["u1", "u2"], false, 1, 0, at);
		expect(a).toEqual({ scanned_after: "u2", moved_in_round: 1, moved_total: 1, done_at: null });
		const b = nextProgress(a, ["u3"], true, 1, 0, at);
		expect(b).toEqual({ scanned_after: "", moved_in_round: 0, moved_total: 2, done_at: null });
	});

	it("is done after a whole round that moved nobody, and stays done at the first time", () => {
		const round = nextProgress(nextProgress(FRESH_PROGRESS, ["u1"], false, 0, 0, at), ["u2"], true, 0, 0, at);
		expect(round.done_at).toBe(at);
		expect(nextProgress(round, [], true, 0, 0, "2026-03-01T12:05:00.000Z").done_at).toBe(at);
	});

	it("is not done while a move failed in the round: that customer is tried again", () => {
		const failed = nextProgress(FRESH_PROGRESS, ["u1"], true, 0, 1, at);
		expect(failed.done_at).toBeNull();
		expect(failed.moved_total).toBe(0);
	});
});
