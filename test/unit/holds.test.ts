/**
 * The hold lifecycle (src/stock/object/holds.ts) as a table: every state a
 * reference can be in, every command, the decision and the answer the caller
 * gets. Plain data and `now`; no object, no storage.
 */
import { describe, expect, it } from "vitest";
import { cancelAnswer, commitAnswer, releaseAnswer, reserveAnswer, shortagesOf, transition, type HoldCommand, type HoldDecision, type HoldFacts } from "../../src/stock/object/holds";
import type { Level, Line } from "../../src/stock/types";

const NOW = 1_000_000;
const lines: Line[] = [
	{ product_id: "p1", size: "M", quantity: 2 },
	{ product_id: "p2", size: "L", quantity: 1 },
];
const level = (l: Line, available: number): Level => ({ product_id: l.product_id, size: l.size, on_hand: available + 5, reserved: 5, available });
const plenty = lines.map((l) => level(l, 10));
const shortOfP1 = [level(lines[0]!, 1), level(lines[1]!, 10)];

const hold = (state: NonNullable<HoldFacts>["state"], expires_at = NOW + 5_000): HoldFacts => ({ state, expires_at, lines });

type Row = [name: string, hold: HoldFacts, command: HoldCommand, decision: HoldDecision];

const rows: Row[] = [
	// reserve
	["reserve, unknown reference, stock there: held until now + ttl", undefined, { kind: "reserve", lines, ttlMs: 60_000, levels: plenty }, { kind: "hold", expires_at: NOW + 60_000, lines, result: { ok: true, state: "held", expires_at: NOW + 60_000, replayed: false } }],
	["reserve, unknown reference, a line short: refused with the shortage", undefined, { kind: "reserve", lines, ttlMs: 60_000, levels: shortOfP1 }, { kind: "refuse", reason: "insufficient_stock", shortages: [{ product_id: "p1", size: "M", requested: 2, available: 1 }] }],
	["reserve of a held reference: answered as before, whatever the stock", hold("held"), { kind: "reserve", lines, ttlMs: 60_000, levels: shortOfP1 }, { kind: "answer" }],
	["reserve of a committed reference: answered as before", hold("committed"), { kind: "reserve", lines, ttlMs: 60_000, levels: plenty }, { kind: "answer" }],
	["reserve of a released reference (a tombstone): never re-held", hold("released"), { kind: "reserve", lines, ttlMs: 60_000, levels: plenty }, { kind: "refuse", reason: "hold_closed" }],
	["reserve of an expired reference: never re-held", hold("expired"), { kind: "reserve", lines, ttlMs: 60_000, levels: plenty }, { kind: "refuse", reason: "hold_closed" }],
	// commit
	["commit of a held hold: its lines leave on_hand and reserved", hold("held"), { kind: "commit" }, { kind: "commit", lines, late: false, result: { ok: true, replayed: false, late: false } }],
	["commit of a committed hold: a replay", hold("committed"), { kind: "commit" }, { kind: "answer" }],
	["commit of a released hold: refused", hold("released"), { kind: "commit" }, { kind: "refuse", reason: "hold_released" }],
	["commit of an unknown reference: refused", undefined, { kind: "commit" }, { kind: "refuse", reason: "unknown_hold" }],
	["commit of a lapsed hold whose units are there: taken again, late", hold("expired", NOW - 1), { kind: "commit", levels: plenty }, { kind: "commit", lines, late: true, result: { ok: true, replayed: false, late: true } }],
	["commit of a lapsed hold whose units were sold: refused with the shortage", hold("expired", NOW - 1), { kind: "commit", levels: shortOfP1 }, { kind: "refuse", reason: "insufficient_stock", shortages: [{ product_id: "p1", size: "M", requested: 2, available: 1 }] }],
	// release
	["release of a held hold: its units go back, released", hold("held"), { kind: "release" }, { kind: "free", to: "released", lines }],
	["release of an unknown reference: a tombstone", undefined, { kind: "release" }, { kind: "tombstone" }],
	["release of a released hold: a replay", hold("released"), { kind: "release" }, { kind: "answer" }],
	["release of an expired hold: closed for good, nothing moves", hold("expired"), { kind: "release" }, { kind: "close" }],
	["release of a committed hold: refused", hold("committed"), { kind: "release" }, { kind: "refuse", reason: "hold_committed" }],
	// cancel
	["cancel of a held hold: released", hold("held"), { kind: "cancel" }, { kind: "free", to: "released", lines }],
	["cancel of an unknown reference: a tombstone", undefined, { kind: "cancel" }, { kind: "tombstone" }],
	["cancel of a released hold: nothing to do", hold("released"), { kind: "cancel" }, { kind: "answer" }],
	["cancel of an expired hold: closed for good", hold("expired"), { kind: "cancel" }, { kind: "close" }],
	["cancel of a committed hold: its units restocked", hold("committed"), { kind: "cancel" }, { kind: "restock", lines }],
	// the ttl passed (alarm, resolveDue)
	["due hold whose order was decided: committed", hold("held", NOW), { kind: "due", decided: true }, { kind: "commit", lines, late: false, result: { ok: true, replayed: false, late: false } }],
	["due hold whose order is unknown or cancelled: expired (presumed abort)", hold("held", NOW), { kind: "due", decided: false }, { kind: "free", to: "expired", lines }],
	["hold not yet due: left alone", hold("held", NOW + 1), { kind: "due", decided: false }, { kind: "answer" }],
	["due reference released meanwhile: left alone", hold("released", NOW - 1), { kind: "due", decided: true }, { kind: "answer" }],
	["due reference committed meanwhile: left alone", hold("committed", NOW - 1), { kind: "due", decided: true }, { kind: "answer" }],
	["due reference expired by an earlier run: left alone", hold("expired", NOW - 1), { kind: "due", decided: false }, { kind: "answer" }],
	["due reference unknown: left alone", undefined, { kind: "due", decided: true }, { kind: "answer" }],
];

describe("the hold transition", () => {
	it.each(rows)("%s", (_name, facts, command, decision) => {
		expect(transition(facts, command, NOW)).toEqual(decision);
	});

	it("covers every state under every command", () => {
		const states = [undefined, "held", "committed", "released", "expired"] as const;
		for (const kind of ["reserve", "commit", "release", "cancel", "due"] as const) {
			const seen = new Set(rows.filter(([, , c]) => c.kind === kind).map(([, h]) => h?.state));
			for (const s of states) expect(seen.has(s), `${kind} on ${s ?? "unknown"}`).toBe(true);
		}
	});
});

describe("the answers a decision gives", () => {
	it("reserve: a new hold, a shortage, a replay with the original expiry, a closed reference", () => {
		const reserve: HoldCommand = { kind: "reserve", lines, ttlMs: 1_000, levels: plenty };
		expect(reserveAnswer(undefined, transition(undefined, reserve, NOW))).toEqual({ ok: true, state: "held", expires_at: NOW + 1_000, replayed: false });
		const short = transition(undefined, { ...reserve, levels: shortOfP1 }, NOW);
		expect(reserveAnswer(undefined, short)).toMatchObject({ ok: false, reason: "insufficient_stock" });
		const held = hold("held", NOW + 42);
		expect(reserveAnswer(held, transition(held, reserve, NOW))).toEqual({ ok: true, state: "held", expires_at: NOW + 42, replayed: true });
		const expired = hold("expired");
		expect(reserveAnswer(expired, transition(expired, reserve, NOW))).toEqual({ ok: false, reason: "hold_closed", state: "expired" });
	});

	it("commit: replayed, refused, late", () => {
		expect(commitAnswer(transition(hold("committed"), { kind: "commit" }, NOW))).toEqual({ ok: true, replayed: true, late: false });
		expect(commitAnswer(transition(hold("released"), { kind: "commit" }, NOW))).toEqual({ ok: false, reason: "hold_released" });
		expect(commitAnswer(transition(undefined, { kind: "commit" }, NOW))).toEqual({ ok: false, reason: "unknown_hold" });
		expect(commitAnswer(transition(hold("expired"), { kind: "commit", levels: plenty }, NOW))).toEqual({ ok: true, replayed: false, late: true });
	});

	it("release: released (freshly or replayed; a reference never seen, as unknown), or refused once committed", () => {
		expect(releaseAnswer(transition(hold("held"), { kind: "release" }, NOW))).toEqual({ ok: true, state: "released", replayed: false });
		expect(releaseAnswer(transition(hold("expired"), { kind: "release" }, NOW))).toEqual({ ok: true, state: "released", replayed: false });
		expect(releaseAnswer(transition(undefined, { kind: "release" }, NOW))).toEqual({ ok: true, state: "released", replayed: false, unknown: true });
		expect(releaseAnswer(transition(hold("released"), { kind: "release" }, NOW))).toEqual({ ok: true, state: "released", replayed: true });
		expect(releaseAnswer(transition(hold("committed"), { kind: "release" }, NOW))).toEqual({ ok: false, reason: "hold_committed" });
	});

	it("cancel: released with its lines, nothing, or restocked (replayed when an earlier cancel did it)", () => {
		expect(cancelAnswer(transition(hold("held"), { kind: "cancel" }, NOW))).toEqual({ ok: true, outcome: "released", replayed: false, lines });
		expect(cancelAnswer(transition(hold("expired"), { kind: "cancel" }, NOW))).toEqual({ ok: true, outcome: "nothing", replayed: false, lines: [] });
		expect(cancelAnswer(transition(hold("released"), { kind: "cancel" }, NOW))).toEqual({ ok: true, outcome: "nothing", replayed: true, lines: [] });
		const restock = transition(hold("committed"), { kind: "cancel" }, NOW);
		expect(cancelAnswer(restock, true)).toEqual({ ok: true, outcome: "restocked", replayed: false, lines });
		expect(cancelAnswer(restock, false)).toEqual({ ok: true, outcome: "restocked", replayed: true, lines });
	});
});

describe("shortagesOf", () => {
	it("lists each line its level cannot cover, with what is available; a missing level counts as none", () => {
		expect(shortagesOf(lines, plenty)).toEqual([]);
		expect(shortagesOf(lines, [level(lines[0]!, 2)])).toEqual([{ product_id: "p2", size: "L", requested: 1, available: 0 }]);
	});
});
