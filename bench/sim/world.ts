/**
 * The simulated shop's state: objects with their stock and holds, the hot
 * unit's shards and coordinator, and, for the judge, every unit's free stock
 * summed over the whole system as it moves in time.
 */
import type { ShardState } from "../../src/stock/escrow";
import type { OrderState } from "../../src/orders/stateMachine";
import type { Line } from "../../src/stock/types";
import type { Store } from "./stores";

export const HOT = "hot";

/**
 * A unit's free stock summed over every object, the pool and escrow moves, over
 * time. Levels are logged only below WATCH (and when crossing it): no request
 * asks for that many units, so a level at or above it can never make a refusal
 * true, and plentiful catalog stock costs no log.
 */
export class UnitBook {
	static readonly WATCH = 10_000;
	free: number;
	readonly loaded: number;
	private times: number[] = [];
	private vals: number[] = [];
	private logged: number;
	/** First instant the free stock reached 0. */
	firstZeroAt: number | null = null;

	constructor(loaded: number, now: number) {
		this.free = loaded;
		this.loaded = loaded;
		this.times.push(now);
		this.vals.push(loaded);
		this.logged = loaded;
	}

	change(now: number, delta: number): void {
		this.free += delta;
		if (this.free < UnitBook.WATCH || this.logged < UnitBook.WATCH) {
			this.times.push(now);
			this.vals.push(this.free);
			this.logged = this.free;
		}
		if (this.free === 0 && this.firstZeroAt === null) this.firstZeroAt = now;
	}

	/** Whether the free stock was at least `units` (at most WATCH) at every instant from `since` to now. */
	alwaysAtLeast(since: number, units: number): boolean {
		const t = this.times;
		let lo = 0;
		let hi = t.length - 1;
		// The last logged change at or before `since` gives the level in force then.
		while (lo < hi) {
			const mid = (lo + hi + 1) >> 1;
			if (t[mid]! <= since) lo = mid;
			else hi = mid - 1;
		}
		for (let i = lo; i < t.length; i++) if (this.vals[i]! < units) return false;
		return true;
	}
}

export interface Hold {
	order: Order;
	obj: Obj;
	lines: Line[];
	state: "held" | "committed" | "released";
	expiresAt: number;
}

/** One Durable Object holding stock: a warehouse's catalog object, or a shard of the hot unit. */
export class Obj {
	readonly free = new Map<string, number>();
	/** Holds still held (neither committed nor released): what the alarm looks at. */
	readonly held = new Set<Hold>();
	/** Per edge location: its cached snapshot of this object (the availability cache), readers waiting on a refresh. */
	readonly cached: Array<{ at: number; hot: number; waiting: Array<() => void> | null } | undefined> = [];
	/** Per isolate: its fresh read in flight here, and the readers waiting for the next one. */
	readonly fresh = new Map<number, { running: boolean; next: Array<(hot: number) => void> | null }>();
	/** Escrow state when this is a shard of the hot unit. */
	shard: (ShardState & { index: number; waiters: Waiter[]; returned: number; returnTimer: boolean; salesThisSecond: number; second: number; salesLastSecond: number }) | null = null;

	constructor(
		readonly name: string,
		readonly store: Store,
		readonly warehouse: number,
		/** Units it holds (the snapshot's size). */
		public units: number,
		readonly catalog: boolean,
	) {}
}

/** A reserve parked at a dry shard while it asks the coordinator. */
export interface Waiter {
	order: Order;
	quantity: number;
	answer: (r: "held" | "refused" | "failed") => void;
}

export interface Coordinator {
	store: Store;
	pool: number;
	reported: number[];
	returning: number;
	soldOut: boolean;
	/** Asks waiting for a reclaim or returning units. */
	parked: Array<{ shard: number; free: number; need: number; want: number }>;
	reclaiming: Set<number>;
	revoking: boolean;
	acks: number;
}

export interface Order {
	id: number;
	key: string;
	shard: number;
	isolate: number;
	loc: number;
	region: number;
	hot: boolean;
	hoarder: boolean;
	/** A paying buyer pays this long after the 201. */
	payAfterMs: number;
	demand: Line[];
	start: number;
	/** Set when decided. */
	state: OrderState | null;
	decidedAt: number;
	holds: Hold[];
	/** Objects whose commit is still owed (the commit outbox rows). */
	owed: Obj[];
	retry: boolean;
}
