/**
 * A seeded pseudo-random run of 500 mutations over a few units, with references
 * reused on purpose. A small in-test model of the Warehouse predicts every
 * outcome; after every step the stock must match the model and never be oversold,
 * and at the end the ledger (read page by page), audit() and the holds must all
 * agree with snapshot(). No method may ever throw (the CHECK constraint never fires).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ADJUST_REASONS, type AdjustReason, type HoldState, type Level, type Line, type Unit, unitKey } from "../../src/stock/types";
import { freshWarehouse, ledgerOf, line, mulberry32, pick, randInt, type WarehouseStub } from "../helpers/stock";

const SEED = 0x5eed_2026;
const STEPS = 500;
const START_ON_HAND = 10;

/** What the test expects the Warehouse to answer, reduced to what the model can predict exactly. */
type Outcome = Record<string, unknown>;

interface ModelHold {
	state: HoldState;
	lines: Line[];
	expires_at: number;
}

/** The Warehouse's documented rules, replayed in memory. */
class Model {
	readonly levels = new Map<string, { unit: Unit; on_hand: number; reserved: number }>();
	readonly holds = new Map<string, ModelHold>();
	private readonly applied = new Set<string>();

	constructor(units: Unit[], onHand: number) {
		for (const u of units) this.levels.set(unitKey(u), { unit: u, on_hand: onHand, reserved: 0 });
	}

	private level(u: Unit) {
		return this.levels.get(unitKey(u))!;
	}

	private sum(lines: Line[]): Line[] {
		const by = new Map<string, Line>();
		for (const l of lines) {
			const seen = by.get(unitKey(l));
			if (seen) seen.quantity += l.quantity;
			else by.set(unitKey(l), { ...l });
		}
		return [...by.values()];
	}

	private shortages(demand: Line[]) {
		return demand
			.map((l) => ({ product_id: l.product_id, size: l.size, requested: l.quantity, available: this.level(l).on_hand - this.level(l).reserved }))
			.filter((s) => s.available < s.requested);
	}

	private once(kind: string, ref: string): boolean {
		return this.applied.has(`${kind}:${ref}`);
	}

	reserve(ref: string, lines: Line[], expiresAt: () => number): Outcome {
		const hold = this.holds.get(ref);
		if (hold) {
			if (hold.state === "held" || hold.state === "committed") return { ok: true, state: hold.state, replayed: true };
			return { ok: false, reason: "hold_closed", state: hold.state };
		}
		const demand = this.sum(lines);
		const shortages = this.shortages(demand);
		if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
		for (const l of demand) this.level(l).reserved += l.quantity;
		// The object keeps a hold's lines ordered by unit.
		const ordered = [...demand].sort((a, b) => (unitKey(a) < unitKey(b) ? -1 : 1));
		this.holds.set(ref, { state: "held", lines: ordered, expires_at: expiresAt() });
		return { ok: true, state: "held", replayed: false };
	}

	commit(ref: string): Outcome {
		const hold = this.holds.get(ref);
		if (!hold) return { ok: false, reason: "unknown_hold" };
		switch (hold.state) {
			case "committed":
				return { ok: true, replayed: true, late: false };
			case "released":
				return { ok: false, reason: "hold_released" };
			case "held":
				for (const l of hold.lines) {
					this.level(l).on_hand -= l.quantity;
					this.level(l).reserved -= l.quantity;
				}
				hold.state = "committed";
				return { ok: true, replayed: false, late: false };
			case "expired": {
				const shortages = this.shortages(hold.lines);
				if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
				for (const l of hold.lines) this.level(l).on_hand -= l.quantity;
				hold.state = "committed";
				return { ok: true, replayed: false, late: true };
			}
		}
	}

	release(ref: string): Outcome {
		const hold = this.holds.get(ref);
		if (!hold) {
			this.holds.set(ref, { state: "released", lines: [], expires_at: 0 });
			return { ok: true, state: "released", replayed: false, unknown: true };
		}
		if (hold.state === "committed") return { ok: false, reason: "hold_committed" };
		if (hold.state === "released") return { ok: true, state: "released", replayed: true };
		// An expired hold gave its units back already; releasing it only closes it for good (no late commit).
		if (hold.state === "expired") {
			hold.state = "released";
			return { ok: true, state: "released", replayed: false };
		}
		for (const l of hold.lines) this.level(l).reserved -= l.quantity;
		hold.state = "released";
		return { ok: true, state: "released", replayed: false };
	}

	add(kind: "restock" | "restore", ref: string, lines: Line[]): Outcome {
		if (this.once(kind, ref)) return { ok: true, replayed: true };
		this.applied.add(`${kind}:${ref}`);
		for (const l of this.sum(lines)) this.level(l).on_hand += l.quantity;
		return { ok: true, replayed: false };
	}

	deduct(ref: string, lines: Line[]): Outcome {
		if (this.once("deduct", ref)) return { ok: true, replayed: true };
		const demand = this.sum(lines);
		const shortages = this.shortages(demand);
		if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
		for (const l of demand) this.level(l).on_hand -= l.quantity;
		this.applied.add(`deduct:${ref}`);
		return { ok: true, replayed: false };
	}

	setLevels(ref: string, items: Array<Unit & { on_hand: number }>): Outcome {
		if (this.once("set", ref)) return { ok: true, replayed: true };
		const conflicts = items
			.filter((i) => i.on_hand < this.level(i).reserved)
			.map((i) => ({ product_id: i.product_id, size: i.size, on_hand: i.on_hand, reserved: this.level(i).reserved }));
		if (conflicts.length > 0) return { ok: false, reason: "below_reserved", conflicts };
		for (const i of items) this.level(i).on_hand = i.on_hand;
		this.applied.add(`set:${ref}`);
		return { ok: true, replayed: false };
	}

	adjust(ref: string, u: Unit, delta: number): Outcome {
		if (this.once("adjust", ref)) return { ok: true, replayed: true };
		const level = this.level(u);
		const next = level.on_hand + delta;
		if (next < level.reserved) return { ok: false, reason: "below_reserved", conflicts: [{ product_id: u.product_id, size: u.size, on_hand: next, reserved: level.reserved }] };
		level.on_hand = next;
		this.applied.add(`adjust:${ref}`);
		return { ok: true, replayed: false };
	}

	resolveDue(now: number): Outcome {
		let expired = 0;
		for (const hold of this.holds.values()) {
			if (hold.state !== "held" || hold.expires_at > now) continue;
			for (const l of hold.lines) this.level(l).reserved -= l.quantity;
			hold.state = "expired";
			expired++;
		}
		return { committed: 0, expired };
	}

	sortedLevels(): Level[] {
		return [...this.levels.values()]
			.map(({ unit, on_hand, reserved }) => ({ ...unit, on_hand, reserved, available: on_hand - reserved }))
			.sort((a, b) => (a.product_id === b.product_id ? (a.size < b.size ? -1 : 1) : a.product_id < b.product_id ? -1 : 1));
	}
}

/** Keeps only the fields the model predicts. */
function comparable(result: object): Outcome {
	const { levels: _levels, level: _level, expires_at: _expiresAt, ...rest } = result as Record<string, unknown>;
	return rest;
}

interface Run {
	stub: WarehouseStub;
	model: Model;
	units: Unit[];
	thrown: Array<{ step: number; op: string; error: string }>;
	mismatches: Array<{ step: number; op: string; expected: Outcome; actual: Outcome }>;
	oversold: Array<{ step: number; levels: Level[] }>;
	drift: Array<{ step: number; expected: Level[]; actual: Level[] }>;
	counts: Map<string, number>;
}

async function randomRun(seed: number, steps: number): Promise<Run> {
	const rand = mulberry32(seed);
	const stub = freshWarehouse();
	const product = `p-${seed.toString(16)}`;
	const units: Unit[] = ["S", "M", "L"].map((size) => ({ product_id: product, size }));
	const model = new Model(units, START_ON_HAND);
	const init = await stub.setLevels("init", units.map((u) => ({ ...u, on_hand: START_ON_HAND })));
	if (!init.ok) throw new Error("init failed");
	const run: Run = { stub, model, units, thrown: [], mismatches: [], oversold: [], drift: [], counts: new Map() };

	const pools = new Map<string, string[]>();
	let fresh = 0;
	const refFor = (kind: string, reuse = 0.25): string => {
		const pool = pools.get(kind) ?? [];
		pools.set(kind, pool);
		if (pool.length > 0 && rand() < reuse) return pick(rand, pool);
		const r = `${kind}-${fresh++}`;
		pool.push(r);
		return r;
	};
	const randomLines = (): Line[] => Array.from({ length: randInt(rand, 1, 3) }, () => line(pick(rand, units), randInt(rand, 1, 4)));
	const count = (key: string) => run.counts.set(key, (run.counts.get(key) ?? 0) + 1);

	/** The operation under way, named before its call so that a throw can be reported. */
	let current = "";
	const named = (name: string) => {
		current = name;
		return name;
	};
	const ops: Array<[number, () => Promise<[string, Outcome, Outcome]>]> = [
		[
			24,
			async () => {
				const r = refFor("hold");
				const lines = randomLines();
				const ttl = randInt(rand, 6, 15) * 10_000;
				const name = named(`reserve ${r}`);
				const actual = await stub.reserve(r, lines, ttl);
				const expected = model.reserve(r, lines, () => (actual.ok ? actual.expires_at : Number.NaN));
				return [name, expected, comparable(actual)];
			},
		],
		[
			12,
			async () => {
				const r = refFor("hold", 0.85);
				return [named(`commit ${r}`), model.commit(r), comparable(await stub.commit(r))];
			},
		],
		[
			10,
			async () => {
				const r = refFor("hold", 0.85);
				return [named(`release ${r}`), model.release(r), comparable(await stub.release(r))];
			},
		],
		[
			8,
			async () => {
				const r = refFor("restock");
				const lines = randomLines();
				return [named(`restock ${r}`), model.add("restock", r, lines), comparable(await stub.restock(r, lines))];
			},
		],
		[
			5,
			async () => {
				const r = refFor("restore");
				const lines = randomLines();
				return [named(`restore ${r}`), model.add("restore", r, lines), comparable(await stub.restore(r, lines))];
			},
		],
		[
			12,
			async () => {
				const r = refFor("deduct");
				const lines = randomLines();
				return [named(`deduct ${r}`), model.deduct(r, lines), comparable(await stub.deduct(r, lines))];
			},
		],
		[
			8,
			async () => {
				const r = refFor("set");
				const items = Array.from({ length: randInt(rand, 1, 2) }, () => ({ ...pick(rand, units), on_hand: randInt(rand, 0, 15) }));
				return [named(`setLevels ${r}`), model.setLevels(r, items), comparable(await stub.setLevels(r, items))];
			},
		],
		[
			12,
			async () => {
				const r = refFor("adjust");
				const u = pick(rand, units);
				const magnitude = randInt(rand, 1, 6);
				const delta = rand() < 0.5 ? -magnitude : magnitude;
				const reason: AdjustReason = pick(rand, ADJUST_REASONS);
				return [named(`adjust ${r} ${delta}`), model.adjust(r, u, delta), comparable(await stub.adjust(r, u, delta, reason))];
			},
		],
		[
			4,
			async () => {
				const now = Date.now() + randInt(rand, 0, 150_000);
				return [named(`resolveDue +${now}`), model.resolveDue(now), comparable(await stub.resolveDue(now))];
			},
		],
	];
	const totalWeight = ops.reduce((s, [w]) => s + w, 0);

	for (let step = 0; step < steps; step++) {
		let roll = rand() * totalWeight;
		const op = ops.find(([w]) => (roll -= w) < 0)![1];
		current = "?";
		try {
			const [name, expected, actual] = await op();
			count(`${name.split(" ")[0]}:${actual.ok === false ? String(actual.reason) : actual.replayed ? "replayed" : "ok"}`);
			if (JSON.stringify(expected) !== JSON.stringify(actual)) {
				// Compare structurally (key order differs between the model and the object).
				try {
					expect(actual).toEqual(expected);
				} catch {
					run.mismatches.push({ step, op: name, expected, actual });
				}
			}
		} catch (e) {
			run.thrown.push({ step, op: current, error: `${(e as Error).name}: ${(e as Error).message}` });
			break; // the model cannot follow an object that failed halfway
		}
		const levels = (await stub.snapshot()).items;
		if (levels.some((l) => l.reserved < 0 || l.on_hand < l.reserved)) run.oversold.push({ step, levels });
		const expectedLevels = model.sortedLevels();
		if (JSON.stringify(levels) !== JSON.stringify(expectedLevels)) run.drift.push({ step, expected: expectedLevels, actual: levels });
		if (run.mismatches.length + run.drift.length > 0) break; // the first divergence is the useful one
	}
	return run;
}

describe(`a seeded random run of ${STEPS} operations (seed ${SEED})`, () => {
	let run: Run;

	beforeAll(async () => {
		run = await randomRun(SEED, STEPS);
	}, 60_000);

	it("never sees a method throw (the CHECK constraint never fired)", () => {
		expect(run.thrown).toEqual([]);
	});

	it("answers every operation as the model predicts", () => {
		expect(run.mismatches).toEqual([]);
	});

	it("matches the model's stock after every step", () => {
		expect(run.drift).toEqual([]);
	});

	it("keeps 0 <= reserved <= on_hand for every unit after every step", () => {
		expect(run.oversold).toEqual([]);
	});

	it("exercised replays, refusals and both kinds of hold closing", () => {
		const seen = (prefix: string) => [...run.counts.entries()].filter(([k]) => k.startsWith(prefix)).reduce((s, [, n]) => s + n, 0);
		const total = [...run.counts.values()].reduce((s, n) => s + n, 0);
		expect(total).toBe(STEPS);
		for (const kind of ["reserve", "commit", "release", "restock", "restore", "deduct", "setLevels", "adjust"]) {
			expect(seen(`${kind}:replayed`), `${kind} replays`).toBeGreaterThan(0);
		}
		expect(seen("reserve:insufficient_stock")).toBeGreaterThan(0);
		expect(seen("deduct:insufficient_stock")).toBeGreaterThan(0);
		expect(seen("adjust:below_reserved")).toBeGreaterThan(0);
		expect(seen("reserve:hold_closed")).toBeGreaterThan(0);
		expect(seen("commit:unknown_hold")).toBeGreaterThan(0);
		expect(seen("resolveDue")).toBeGreaterThan(0);
	});

	it("passes audit(): ledger sums and open holds agree with the stock rows", async () => {
		const audit = await run.stub.audit();
		expect(audit.problems).toEqual([]);
		expect(audit.ok).toBe(true);
	});

	it("keeps 0 <= reserved <= on_hand for every unit at the end", async () => {
		const { items } = await run.stub.snapshot();
		expect(items).toHaveLength(run.units.length);
		for (const l of items) {
			expect(l.reserved).toBeGreaterThanOrEqual(0);
			expect(l.on_hand).toBeGreaterThanOrEqual(l.reserved);
			expect(l.available).toBe(l.on_hand - l.reserved);
		}
	});

	it("gives snapshot() back when the full ledger, read page by page, is summed per unit", async () => {
		const entries = await ledgerOf(run.stub, undefined, 37);
		const seqs = entries.map((e) => e.seq);
		expect(new Set(seqs).size).toBe(seqs.length);
		expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
		const sums = new Map<string, { on_hand: number; reserved: number }>();
		for (const e of entries) {
			const s = sums.get(unitKey(e)) ?? { on_hand: 0, reserved: 0 };
			s.on_hand += e.on_hand_delta;
			s.reserved += e.reserved_delta;
			sums.set(unitKey(e), s);
		}
		const { items } = await run.stub.snapshot();
		expect(items.map((l) => [unitKey(l), l.on_hand, l.reserved])).toEqual(items.map((l) => [unitKey(l), sums.get(unitKey(l))?.on_hand, sums.get(unitKey(l))?.reserved]));
		expect(sums.size).toBe(items.length);
	});

	it("has reserved equal to the sum of the open holds, hold by hold as the model has them", async () => {
		const open = new Map<string, number>();
		for (const [r, hold] of run.model.holds) {
			const actual = await run.stub.hold(r);
			expect(actual?.state, r).toBe(hold.state);
			if (hold.state !== "held") continue;
			for (const l of actual!.lines) open.set(unitKey(l), (open.get(unitKey(l)) ?? 0) + l.quantity);
		}
		const { items, holds } = await run.stub.snapshot();
		expect(holds.held).toBe([...run.model.holds.values()].filter((h) => h.state === "held").length);
		for (const l of items) expect(l.reserved, unitKey(l)).toBe(open.get(unitKey(l)) ?? 0);
	});
});
