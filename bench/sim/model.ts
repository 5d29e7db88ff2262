/**
 * The discrete-event model of stockgate at scale: buyers run the checkout
 * protocol (context read, purchase-limit read, plan from the cached
 * availability or the nearest warehouse, reserve, the decision batch in the
 * customer's order shard, the 201, gathered commits per isolate window), and
 * after it payments, the payment window's cancellations by the reconciler, the
 * Warehouse alarm on holds past their expiry, and the retry of buyers turned
 * away. A hot unit split over S shard objects runs the escrow policy of
 * src/stock/escrow.ts. Product page views refresh the availability caches per
 * location and read the catalog (at D1, or through its cache).
 *
 * The rules that are pure in src/ are imported: allocation, the nearest
 * warehouse shortcut, demand summing, sortCommits, the order state machine,
 * the payment window and the escrow policy.
 */
import { allocate, type WarehousePlace } from "../../src/checkout/allocation";
import { sortCommits, type WarehouseAnswer } from "../../src/checkout/commitLater";
import { soleNearest } from "../../src/checkout/placeOrder";
import { refHash, shardOf } from "../../src/stock/shardNames";
import type { OrderRecord } from "../../src/orders/queries";
import { overdue, windowCutoff } from "../../src/orders/paymentWindow";
import { transition } from "../../src/orders/stateMachine";
import { sumDemand } from "../../src/stock/demand";
import * as escrow from "../../src/stock/escrow";
import type { CommitResult, Level, Line } from "../../src/stock/types";
import type { SimConfig } from "./config";
import { costsFrom, loadInputs, type Costs } from "./costs";
import { EventQueue } from "./heap";
import { fiveSeconds, pastLimit } from "./limits";
import { Rng } from "./rng";
import { Core, Store, type Outcome, type StoreKind } from "./stores";
import { HOT, Obj, UnitBook, type Coordinator, type Hold, type Order, type Waiter } from "./world";

/** Latency samples (ms) by step. */
export type Steps = "context" | "limits" | "plan" | "reserve" | "decide" | "placed" | "refused" | "commit" | "view";

export interface Counters {
	arrivals: number;
	placed: number;
	refused: number;
	trueRefused: number;
	falseRefused: number;
	unavailable: number;
	overloadedAnswers: number;
	paid: number;
	cancelledByWindow: number;
	unitsRecovered: number;
	refunds: number;
	commitsLeft: number;
	commitsReplayed: number;
	alarmCommits: number;
	alarmReleases: number;
	grants: number;
	reclaims: number;
	giveBacks: number;
	declarations: number;
	views: number;
	retries: number;
	retryPlaced: number;
	retryRefusedUnits: number;
	commitCalls: number;
	commitHolds: number;
}

/** Units returned at a shard within this long go back to the pool in one transfer. */
const RETURN_GATHER_MS = 50;
/** How often the model looks for holds past their expiry (each object's alarm). */
const ALARM_EVERY_MS = 10_000;
/** Cancellations the reconciler runs at once per order shard. */
const RECONCILE_CONCURRENCY = 4;

/** The object's commit is no longer owed by the order; whether it was. */
function unowe(o: Order, obj: Obj): boolean {
	const i = o.owed.indexOf(obj);
	if (i < 0) return false;
	o.owed.splice(i, 1);
	return true;
}

export class Sim {
	readonly q = new EventQueue();
	readonly rand: { arrivals: Rng; orders: Rng; d1Net: Rng; catalogNet: Rng; objectNet: Rng; browsing: Rng; misc: Rng };
	readonly costs: Costs;
	readonly stores: Store[] = [];
	readonly ordersDb: Store[] = [];
	readonly queues: Store[] = [];
	catalogDb!: Store;
	worker: Store | null = null;
	/** objs[warehouse][part] */
	readonly objs: Obj[][] = [];
	readonly shards: Obj[] = [];
	coord: Coordinator | null = null;
	readonly places: WarehousePlace[] = [];
	readonly books = new Map<string, UnitBook>();
	readonly lat: Record<Steps, number[]> = { context: [], limits: [], plan: [], reserve: [], decide: [], placed: [], refused: [], commit: [], view: [] };
	readonly c: Counters = {
		arrivals: 0, placed: 0, refused: 0, trueRefused: 0, falseRefused: 0, unavailable: 0, overloadedAnswers: 0, paid: 0, cancelledByWindow: 0,
		unitsRecovered: 0, refunds: 0, commitsLeft: 0, commitsReplayed: 0, alarmCommits: 0, alarmReleases: 0, grants: 0, reclaims: 0, giveBacks: 0,
		declarations: 0, views: 0, retries: 0, retryPlaced: 0, retryRefusedUnits: 0, commitCalls: 0, commitHolds: 0,
	};
	/** Per second: orders arrived, placed (201), refused (409), unavailable (5xx), grants. */
	readonly perSecond = { arrived: [] as number[], placed: [] as number[], refused: [] as number[], unavailable: [] as number[], grants: [] as number[] };
	/** Units in live orders (decided and not cancelled), per unit: what the judge weighs against what was loaded. */
	readonly live = new Map<string, number>();
	/** The first false refusals, for a reader to follow up. */
	readonly falseSamples: Array<{ atMs: number; startMs: number; hot: boolean; retry: boolean; demand: string }> = [];
	/** Decided orders awaiting payment, per order shard. */
	private readonly unpaid: Array<Set<Order>> = [];
	/** Decided orders with a commit still owed (their commit outbox rows), per order shard. */
	private readonly owing: Array<Set<Order>> = [];
	private readonly windows: Array<{ orders: Order[]; gen: number }> = [];
	private readonly retriers: Order[] = [];
	private nextId = 0;
	arrivalsEndMs = 0;
	endMs = 0;
	/** Set when the run stopped at its first breach of the claim (run({ stopAtBreach })): the second it ended with. */
	stoppedAtS: number | null = null;
	/** When the first buying pass answered its last buyer (closed driver). */
	buyingDoneMs = 0;
	viewsDoneMs = 0;
	private firstPassLeft = 0;

	constructor(readonly cfg: SimConfig) {
		// One stream per kind of draw (common random numbers): a run with one more shard or database draws the same
		// arrivals, orders, and round trips to the stores it does not change, so two runs differ by the knob alone.
		const stream = (k: number) => new Rng((cfg.seed + Math.imul(k, 0x9e3779b9)) >>> 0);
		this.rand = { arrivals: stream(1), orders: stream(2), d1Net: stream(3), objectNet: stream(4), browsing: stream(5), misc: stream(6), catalogNet: stream(7) };
		this.costs = costsFrom(loadInputs(cfg.inputs), cfg.d1Multiplier, cfg.objectMultiplier, { grant: cfg.grantCostKey, giveBack: cfg.giveBackCostKey, ask: cfg.askCostKey });
		this.build();
	}

	// ---------------------------------------------------------------- set-up

	private store(name: string, kind: StoreKind, core: Core): Store {
		const c = this.cfg;
		const floor = kind === "object" && c.softLimitRps > 0 ? 1000 / c.softLimitRps : kind === "queue" ? 1000 / c.queueMsgsPerS : 0;
		const max = kind === "d1" ? c.d1MaxQueue : kind === "object" ? c.objectMaxQueue : Number.MAX_SAFE_INTEGER;
		const s = new Store(name, kind, this.q, core, floor, max);
		this.stores.push(s);
		return s;
	}

	private build(): void {
		const c = this.cfg;
		const shared = c.sharedCore ? new Core() : null;
		const core = () => shared ?? new Core();
		if (shared) this.worker = new Store("worker", "worker", this.q, shared, 0, Number.MAX_SAFE_INTEGER);
		for (let n = 0; n < c.N; n++) {
			this.ordersDb.push(this.store(`orders-${n}`, "d1", core()));
			this.queues.push(this.store(`queue-${n}`, "queue", core()));
			this.unpaid.push(new Set());
			this.owing.push(new Set());
		}
		// Today (N = 1) the catalog lives in the one database; with order shards it has its own.
		this.catalogDb = c.N === 1 ? this.ordersDb[0]! : this.store("catalog", "d1", core());
		const catalogPerPart = Math.ceil(c.catalogUnits / c.warehousesPerSite);
		for (let w = 0; w < c.warehouses; w++) {
			this.places.push({ warehouse_id: `w${w}`, postal_code: `${10 + w}000`, region: `R${w}`, country: "XX" });
			const parts: Obj[] = [];
			for (let p = 0; p < c.warehousesPerSite; p++) {
				const name = c.warehousesPerSite === 1 ? `w${w}` : `w${w}.${p}`;
				parts.push(new Obj(name, this.store(name, "object", core()), w, c.hotShare < 1 ? catalogPerPart : 0, true));
			}
			this.objs.push(parts);
		}
		for (let u = 0; u < c.catalogUnits && c.hotShare < 1; u++) {
			const key = `c${u}`;
			for (let w = 0; w < c.warehouses; w++) this.objs[w]![u % c.warehousesPerSite]!.free.set(key, c.catalogStock);
			this.books.set(key, new UnitBook(c.catalogStock * c.warehouses, 0));
		}
		this.books.set(HOT, new UnitBook(c.hotStock, 0));
		if (c.S === 1) {
			const per = Math.floor(c.hotStock / c.hotWarehouses);
			for (let w = 0; w < c.hotWarehouses; w++) {
				const o = this.objs[w]![0]!;
				o.free.set(HOT, per + (w === 0 ? c.hotStock - per * c.hotWarehouses : 0));
				o.units += 1;
			}
		} else {
			const cfgE = this.escrowCfg();
			const split = escrow.initialSplit(c.hotStock, cfgE);
			for (let i = 0; i < c.S; i++) {
				const o = new Obj(`hot.${i}`, this.store(`hot.${i}`, "object", core()), 0, 1, false);
				o.free.set(HOT, split.shards[i]!);
				o.shard = { index: i, free: split.shards[i]!, ratePerS: 0, lastSaleAt: null, asking: false, soldOut: false, poolDry: false, returned: 0, returnTimer: false, waiters: [], salesThisSecond: 0, second: 0, salesLastSecond: 0 };
				this.shards.push(o);
			}
			this.coord = {
				store: this.store("hot.pool", "object", core()),
				pool: split.pool,
				reported: [...split.shards],
				returning: 0,
				soldOut: false,
				parked: [],
				reclaiming: new Set(),
				revoking: false,
				acks: 0,
			};
		}
		for (let i = 0; i < c.isolates; i++) this.windows.push({ orders: [], gen: 0 });
	}

	private escrowCfgMemo: escrow.EscrowConfig | null = null;

	private escrowCfg(): escrow.EscrowConfig {
		return (this.escrowCfgMemo ??= { ...this.cfg.escrow, shards: this.cfg.S });
	}

	// ---------------------------------------------------------------- plumbing

	/** A round trip's length, jittered +-50%, drawn from the stream of the calls it belongs to. */
	private jit(ms: number, rng: Rng): number {
		return ms <= 0 ? 0 : ms * (0.5 + rng.next());
	}

	private bucket(arr: number[], t = this.q.now): void {
		const i = Math.floor(t / 1000);
		arr[i] = (arr[i] ?? 0) + 1;
	}

	/**
	 * A call from the Worker (or an object) to a store: `rtt` there and back. `plan`
	 * runs when it reaches the store and gives the busy time and the effect, applied
	 * only if the store admits the operation.
	 */
	private call<R>(store: Store, rtt: number, plan: () => { busy: number; apply: () => R }, done: (o: Outcome, r: R | undefined) => void): void {
		const rng = store.kind === "d1" ? (store === this.catalogDb && this.cfg.N > 1 ? this.rand.catalogNet : this.rand.d1Net) : this.rand.objectNet;
		const go = this.jit(rtt, rng) / 2;
		const back = this.jit(rtt, rng) / 2;
		this.q.after(go, () => {
			const p = plan();
			let r: R | undefined;
			if (store.submit(p.busy, back, (o) => done(o, r))) r = p.apply();
		});
	}

	/** A D1 call; `done` null when nobody waits for its answer. */
	private d1(db: Store, busy: number, done: ((o: Outcome) => void) | null): void {
		const rng = db === this.catalogDb && this.cfg.N > 1 ? this.rand.catalogNet : this.rand.d1Net;
		const go = this.jit(this.cfg.rttD1Ms, rng) / 2;
		if (!done) {
			this.q.after(go, () => db.submit(busy, 0, null));
			return;
		}
		const back = this.jit(this.cfg.rttD1Ms, rng) / 2;
		this.q.after(go, () => db.submit(busy, back, done));
	}

	/** The Worker's own CPU, only when it shares the runtime's core. */
	private cpu(ms: number, then: () => void): void {
		if (!this.worker) return then();
		this.worker.submit(ms, 0, () => then());
	}

	private objOf(unit: string, warehouse: number): Obj {
		if (unit === HOT) return this.objs[warehouse]![0]!;
		return this.objs[warehouse]![Number(unit.slice(1)) % this.cfg.warehousesPerSite]!;
	}

	private freeAt(obj: Obj, unit: string): number {
		return obj.free.get(unit) ?? 0;
	}

	private moveFree(obj: Obj, unit: string, delta: number): void {
		obj.free.set(unit, this.freeAt(obj, unit) + delta);
		if (obj.shard) obj.shard.free += delta;
		this.books.get(unit)!.change(this.q.now, delta);
	}

	// ---------------------------------------------------------------- arrivals

	rate(tMs: number): number {
		const c = this.cfg;
		const t = tMs / 1000;
		if (t >= c.rampS + c.holdS) return 0;
		return c.rampS > 0 && t < c.rampS ? (c.peakPerS * t) / c.rampS : c.peakPerS;
	}

	private newOrder(hot: boolean, hoarder: boolean): Order {
		const c = this.cfg;
		const id = this.nextId++;
		const rng = this.rand.orders;
		let demand: Line[];
		if (hot) demand = [{ product_id: HOT, size: "M", quantity: hoarder ? c.hoarderQty : 1 }];
		else {
			const lines = c.minLines + rng.int(c.maxLines - c.minLines + 1);
			demand = [];
			for (let i = 0; i < lines; i++) demand.push({ product_id: `c${rng.int(c.catalogUnits)}`, size: "M", quantity: 1 + rng.int(c.maxQty) });
			demand = sumDemand(demand);
		}
		const o: Order = {
			id,
			key: String(id),
			shard: rng.int(c.N),
			isolate: rng.int(c.isolates),
			loc: rng.int(c.locations),
			region: rng.int(c.warehouses),
			payAfterMs: rng.between(c.payDelayMs[0], c.payDelayMs[1]),
			hot,
			hoarder,
			demand,
			start: this.q.now,
			state: null,
			decidedAt: 0,
			holds: [],
			owed: [],
			retry: false,
		};
		return o;
	}

	private scheduleArrivals(): void {
		const c = this.cfg;
		const end = (c.rampS + c.holdS) * 1000;
		this.arrivalsEndMs = end;
		const peak = c.peakPerS / 1000;
		const arrivals = this.rand.arrivals;
		const orderAt = (t: number) => {
			if (t >= end) return;
			this.q.at(t, () => {
				if (arrivals.next() * c.peakPerS < this.rate(this.q.now)) {
					const hot = arrivals.next() < c.hotShare;
					this.place(this.newOrder(hot, hot && arrivals.next() < c.hoarderShare), () => {});
				}
				orderAt(this.q.now + arrivals.exp(1 / peak));
			});
		};
		orderAt(arrivals.exp(1 / peak));
		if (!c.pagesOffD1 && c.viewsPerOrder > 0) {
			const vpeak = (c.peakPerS * c.viewsPerOrder) / 1000;
			const views = this.rand.browsing;
			const viewAt = (t: number) => {
				if (t >= end) return;
				this.q.at(t, () => {
					if (views.next() * c.peakPerS < this.rate(this.q.now)) this.view(() => {});
					viewAt(this.q.now + views.exp(1 / vpeak));
				});
			};
			viewAt(views.exp(1 / vpeak));
		}
	}

	/** The bench's crowd: `concurrency` buyers at a time, each starting when one is answered. */
	private scheduleClosed(): void {
		const c = this.cfg;
		let next = 0;
		this.firstPassLeft = c.buyers;
		const hoarders = new Set<number>();
		const ids = Array.from({ length: c.buyers }, (_, i) => i).sort(() => this.rand.misc.next() - 0.5);
		for (const i of ids.slice(0, Math.round(c.buyers * c.hoarderShare))) hoarders.add(i);
		const startOne = () => {
			if (next >= c.buyers) return;
			const i = next++;
			const hot = this.rand.misc.next() < c.hotShare;
			const session = (views: number) => {
				if (views > 0) return this.view(() => session(views - 1));
				const o = this.newOrder(hot, hoarders.has(i));
				o.region = i % c.warehouses;
				this.place(o, () => {
					if (--this.firstPassLeft === 0) this.buyingDoneMs = this.q.now;
					startOne();
				});
			};
			session(c.viewsTotal > 0 ? 0 : c.viewsPerOrder);
		};
		for (let k = 0; k < Math.min(c.concurrency, c.buyers); k++) startOne();
		if (c.viewsTotal > 0) {
			let started = 0;
			let finished = 0;
			const viewOne = () => {
				if (started >= c.viewsTotal) return;
				started++;
				this.view(() => {
					if (++finished === c.viewsTotal) this.viewsDoneMs = this.q.now;
					viewOne();
				});
			};
			for (let k = 0; k < c.viewConcurrency; k++) viewOne();
		}
	}

	// ---------------------------------------------------------------- browsing

	/** One product page view read individually (pages on D1): the catalog rows from D1, availability from the cache. */
	private view(done: () => void): void {
		const t0 = this.q.now;
		this.c.views++;
		this.cpu(this.costs.workerView, () => {
			let left = 2;
			const one = () => {
				if (--left > 0) return;
				this.lat.view.push(this.q.now - t0);
				done();
			};
			if (this.cfg.pagesOffD1) {
				left = 1;
				return one();
			}
			this.d1(this.catalogDb, this.costs.d1Read, one);
			this.d1(this.catalogDb, this.costs.d1Read, one);
		});
	}

	/**
	 * Page views read availability through each location's cache, one snapshot
	 * per warehouse (`Warehouse.snapshot()`): a product page sums its sizes over
	 * every active warehouse, so each (location, warehouse object) is refreshed at
	 * the first view after its entry is older than the TTL. A sharded unit's
	 * level comes in its warehouse object's snapshot (the pool and the shards'
	 * reports): its shards are not read by pages. Views are counted, not
	 * simulated one by one: each entry refreshes at TTL + the wait for the next
	 * view. Likewise the catalog's cache (pages off D1) reads D1 once per
	 * location per catalogTtlMs (src/catalog/snapshot.ts).
	 */
	private scheduleBrowsing(): void {
		const c = this.cfg;
		if (c.viewsPerOrder <= 0 || c.driver !== "open") return;
		const viewRate = (t: number) => this.rate(t) * c.viewsPerOrder;
		// Every warehouse object (a sharded unit's pool object among them), each with its own stream of views.
		const targets: Array<{ obj: Obj | null; rng: Rng }> = this.objs.flat().map((obj) => ({ obj, rng: new Rng(refHash(obj.name) ^ c.seed) }));
		if (this.coord) targets.push({ obj: null, rng: new Rng(refHash("hot.pool") ^ c.seed) });
		const views = this.rand.browsing;
		for (let loc = 0; loc < c.locations; loc++) {
			for (const { obj, rng } of targets) {
				const tick = () => {
					const r = viewRate(this.q.now) / c.locations / 1000;
					if (this.q.now >= this.arrivalsEndMs) return;
					if (r <= 0) return this.q.after(1000, tick);
					this.q.after(rng.exp(1 / r), () => {
						if (obj) this.refresh(loc, obj, () => this.q.after(c.availabilityTtlMs, tick));
						else this.coordRead(() => this.q.after(c.availabilityTtlMs, tick));
					});
				};
				this.q.at(rng.next() * c.availabilityTtlMs, tick);
			}
			if (c.pagesOffD1) {
				const tick = () => {
					const r = viewRate(this.q.now) / c.locations / 1000;
					if (this.q.now >= this.arrivalsEndMs) return;
					if (r <= 0) return this.q.after(1000, tick);
					// One D1 read of the whole catalog (a batch of two statements: the products, the warehouses).
					this.q.after(views.exp(1 / r), () => this.d1(this.catalogDb, this.costs.d1ReadBatch, () => this.q.after(c.catalogTtlMs, tick)));
				};
				this.q.at(views.next() * c.catalogTtlMs, tick);
			}
		}
	}

	/** A location's snapshot of the sharded unit's warehouse object: the pool and the shards' reports, one unit. */
	private coordRead(done: () => void): void {
		const co = this.coord!;
		this.call(co.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.snapshot(1), apply: () => co.pool }), () => done());
	}

	/** A location's cached snapshot of an object, refreshed now (readers arriving meanwhile share it). */
	private refresh(loc: number, obj: Obj, done: () => void): void {
		let e = obj.cached[loc];
		if (!e) obj.cached[loc] = e = { at: -Infinity, hot: 0, waiting: null };
		if (e.waiting) {
			e.waiting.push(done);
			return;
		}
		const entry = e;
		entry.waiting = [done];
		this.call(obj.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.snapshot(Math.max(1, obj.units)), apply: () => this.freeAt(obj, HOT) }), (o, hot) => {
			if (o === "ok") {
				entry.at = this.q.now;
				entry.hot = hot ?? 0;
			}
			const w = entry.waiting ?? [];
			entry.waiting = null;
			for (const f of w) f();
		});
	}

	/** Cached levels of the demanded units at every warehouse (refreshing stale entries), as allocate() takes them. */
	private cachedAvailability(o: Order, done: (a: Map<string, Level[]>) => void): void {
		const c = this.cfg;
		let left = 0;
		const stale: Array<{ obj: Obj }> = [];
		const seen = new Set<Obj>();
		for (let w = 0; w < c.warehouses; w++) {
			for (const l of o.demand) {
				const obj = this.objOf(l.product_id, w);
				if (seen.has(obj)) continue;
				seen.add(obj);
				const e = obj.cached[o.loc];
				if (!e || this.q.now - e.at > c.availabilityTtlMs) stale.push({ obj });
			}
		}
		const build = () => {
			const a = new Map<string, Level[]>();
			for (let w = 0; w < c.warehouses; w++) {
				a.set(
					`w${w}`,
					o.demand.map((l) => {
						const obj = this.objOf(l.product_id, w);
						// Catalog stock is plentiful: its level as cached is taken as its level now.
						const av = l.product_id === HOT ? (obj.cached[o.loc]?.hot ?? 0) : this.freeAt(obj, l.product_id);
						return { product_id: l.product_id, size: l.size, on_hand: av, reserved: 0, available: av };
					}),
				);
			}
			done(a);
		};
		if (stale.length === 0) return build();
		left = stale.length;
		for (const { obj } of stale) this.refresh(o.loc, obj, () => --left === 0 && build());
	}

	/** Fresh levels from every warehouse (one read per object; an isolate's readers share one in flight or the next). */
	private freshAvailability(o: Order, done: (a: Map<string, Level[]>) => void): void {
		const c = this.cfg;
		const levels = new Map<Obj, Map<string, number>>();
		const objs = new Set<Obj>();
		for (let w = 0; w < c.warehouses; w++) for (const l of o.demand) objs.add(this.objOf(l.product_id, w));
		let left = objs.size;
		const finish = () => {
			const a = new Map<string, Level[]>();
			for (let w = 0; w < c.warehouses; w++) {
				a.set(
					`w${w}`,
					o.demand.map((l) => {
						const av = levels.get(this.objOf(l.product_id, w))?.get(l.product_id) ?? 0;
						return { product_id: l.product_id, size: l.size, on_hand: av, reserved: 0, available: av };
					}),
				);
			}
			done(a);
		};
		for (const obj of objs) {
			this.freshRead(o.isolate, obj, () => {
				const m = new Map<string, number>();
				for (const l of o.demand) m.set(l.product_id, this.freeAt(obj, l.product_id));
				levels.set(obj, m);
				if (--left === 0) finish();
			});
		}
	}

	private freshRead(isolate: number, obj: Obj, done: (hot: number) => void): void {
		let f = obj.fresh.get(isolate);
		if (!f) obj.fresh.set(isolate, (f = { running: false, next: null }));
		const state = f;
		if (state.running) {
			(state.next ??= []).push(done);
			return;
		}
		const run = (waiters: Array<(hot: number) => void>) => {
			state.running = true;
			this.call(obj.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.availability, apply: () => this.freeAt(obj, HOT) }), (_o, hot) => {
				state.running = false;
				for (const w of waiters) w(hot ?? 0);
				if (state.next) {
					const n = state.next;
					state.next = null;
					run(n);
				}
			});
		};
		run([done]);
	}

	// ---------------------------------------------------------------- checkout

	/** POST /cart/place-order for `o`; `answered` runs with the answer. */
	place(o: Order, answered: () => void): void {
		const c = this.cfg;
		this.c.arrivals++;
		this.bucket(this.perSecond.arrived);
		o.start = this.q.now;
		const db = this.ordersDb[o.shard]!;
		this.cpu(this.costs.workerOrder, () => {
			const t0 = this.q.now;
			this.d1(db, this.costs.d1ReadBatch, (r) => {
				this.lat.context.push(this.q.now - t0);
				if (r !== "ok") return this.unavailable(o, r, answered);
				if (!(o.hot && c.hotLimited)) return this.attempt(o, 1, answered);
				const t1 = this.q.now;
				this.d1(db, this.costs.d1Read, (r2) => {
					this.lat.limits.push(this.q.now - t1);
					if (r2 !== "ok") return this.unavailable(o, r2, answered);
					this.attempt(o, 1, answered);
				});
			});
		});
	}

	private attempt(o: Order, attempt: number, answered: () => void): void {
		const c = this.cfg;
		const t0 = this.q.now;
		// A sharded unit is reserved at a shard straight away: the shard (asking the coordinator when dry) answers exactly.
		if (o.hot && c.S > 1) {
			// The product's rule: a new hold goes to the shard its reference hashes to.
			const shard = this.shards[shardOf(o.key, c.S)]!;
			return this.shardReserve(shard, o, o.demand[0]!.quantity, (r) => {
				this.lat.reserve.push(this.q.now - t0);
				if (r === "held") return this.decide(o, answered);
				if (r === "refused") return this.refuse(o, answered);
				this.unavailable(o, "failed", answered);
			});
		}
		const reserveAt = (plan: Map<Obj, Line[]>, next: (r: "held" | "short" | "failed") => void) => {
			const t1 = this.q.now;
			this.reserveAll(o, plan, (r) => {
				this.lat.reserve.push(this.q.now - t1);
				next(r);
			});
		};
		const afterReserve = (r: "held" | "short" | "failed") => {
			if (r === "held") return this.decide(o, answered);
			if (r === "failed") return this.unavailable(o, "failed", answered);
			if (attempt < 2) return this.attempt(o, attempt + 1, answered);
			// Lost twice: the 409 carries fresh shortages (read again, like shortagesNow).
			this.freshAvailability(o, () => this.refuse(o, answered));
		};
		const planned = (fresh: boolean) => {
			const t1 = this.q.now;
			const withLevels = (availability: Map<string, Level[]>) => {
				const a = allocate({ demand: o.demand, warehouses: this.places, availability, address: this.address(o) });
				if (!a.ok) {
					if (!fresh) return planned(true); // the cache never turns a buyer away
					this.lat.plan.push(this.q.now - t1);
					return this.refuse(o, answered);
				}
				this.lat.plan.push(this.q.now - t1);
				const byObj = new Map<Obj, Line[]>();
				for (const l of a.allocations) {
					const obj = this.objOf(l.product_id, Number(l.warehouse_id.slice(1)));
					const list = byObj.get(obj) ?? [];
					list.push({ product_id: l.product_id, size: l.size, quantity: l.quantity });
					byObj.set(obj, list);
				}
				reserveAt(byObj, afterReserve);
			};
			if (fresh) this.freshAvailability(o, withLevels);
			else this.cachedAvailability(o, withLevels);
		};
		if (attempt === 1) {
			const nearest = this.nearest(o.region);
			if (nearest) {
				const w = Number(nearest.warehouse_id.slice(1));
				const byObj = new Map<Obj, Line[]>();
				for (const l of o.demand) {
					const obj = this.objOf(l.product_id, w);
					const list = byObj.get(obj) ?? [];
					list.push(l);
					byObj.set(obj, list);
				}
				return reserveAt(byObj, (r) => (r === "short" ? planned(false) : afterReserve(r)));
			}
			return planned(false);
		}
		planned(true);
	}

	private readonly nearestByRegion = new Map<number, ReturnType<typeof soleNearest>>();

	/** soleNearest() of the region's address (the same for every buyer there). */
	private nearest(region: number): ReturnType<typeof soleNearest> {
		if (!this.nearestByRegion.has(region)) this.nearestByRegion.set(region, soleNearest(this.places, this.address({ region } as Order)));
		return this.nearestByRegion.get(region);
	}

	private address(o: Pick<Order, "region">) {
		return { postal_code: "99999", region: `R${o.region}`, country: "XX" };
	}

	/** Reserves at every object of the plan in parallel; any shortage or failure releases what was held. */
	private reserveAll(o: Order, plan: Map<Obj, Line[]>, done: (r: "held" | "short" | "failed") => void): void {
		let left = plan.size;
		let short = false;
		let failed = false;
		const held: Hold[] = [];
		for (const [obj, lines] of plan) {
			this.call(
				obj.store,
				this.cfg.rttObjectMs,
				() => {
					const fits = lines.every((l) => this.freeAt(obj, l.product_id) >= l.quantity);
					return {
						busy: fits ? this.costs.reserve(lines.length) : this.costs.refused,
						apply: () => (fits ? this.hold(o, obj, lines) : null),
					};
				},
				(outcome, h) => {
					if (outcome !== "ok") failed = true;
					else if (!h) short = true;
					if (h) held.push(h);
					if (--left > 0) return;
					if (!short && !failed) {
						o.holds.push(...held);
						return done("held");
					}
					// A call that failed may still have held (its effect landed): those are released too.
					for (const h2 of held) this.release(h2);
					done(failed ? "failed" : "short");
				},
			);
		}
	}

	private hold(o: Order, obj: Obj, lines: Line[]): Hold {
		const h: Hold = { order: o, obj, lines, state: "held", expiresAt: this.q.now + this.cfg.holdTtlMs };
		for (const l of lines) this.moveFree(obj, l.product_id, -l.quantity);
		obj.held.add(h);
		return h;
	}

	/** The Worker releases a hold (a lost race, a failure before the decision). */
	private release(h: Hold): void {
		this.call(h.obj.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.release, apply: () => this.unhold(h) }), (o) => {
			// A release that failed is retried by the hold's alarm at expiry.
			if (o !== "ok") return;
		});
	}

	/** A held hold's units back to free stock (at a shard: back to the pool). */
	private unhold(h: Hold): void {
		if (h.state !== "held") return;
		h.state = "released";
		h.obj.held.delete(h);
		for (const l of h.lines) this.moveFree(h.obj, l.product_id, l.quantity);
		if (h.obj.shard) this.shardReturned(h.obj, h.lines.reduce((s, l) => s + l.quantity, 0));
	}

	private decide(o: Order, answered: () => void): void {
		const t0 = this.q.now;
		this.d1(this.ordersDb[o.shard]!, this.costs.d1Batch, (r) => {
			this.lat.decide.push(this.q.now - t0);
			if (r !== "ok") {
				// Not written (the database refused it): every hold is released.
				for (const h of o.holds) this.release(h);
				o.holds = [];
				return this.unavailable(o, r, answered);
			}
			o.state = { status: "pending", payment_status: "pending" };
			o.decidedAt = this.q.now;
			for (const h of o.holds) if (!o.owed.includes(h.obj)) o.owed.push(h.obj);
			this.owing[o.shard]!.add(o);
			this.c.placed++;
			this.countLive(o, 1);
			if (o.retry) this.c.retryPlaced++;
			this.bucket(this.perSecond.placed);
			this.lat.placed.push(this.q.now - o.start);
			this.unpaid[o.shard]!.add(o);
			// The bench's crowd pays after its buying pass; the open curve's buyers pay as they go.
			if (!o.hoarder && this.cfg.driver === "open") this.q.after(o.payAfterMs, () => this.pay(o));
			this.gather(o);
			answered();
		});
	}

	private countLive(o: Order, sign: 1 | -1): void {
		for (const l of o.demand) this.live.set(l.product_id, (this.live.get(l.product_id) ?? 0) + sign * l.quantity);
	}

	private refuse(o: Order, answered: () => void): void {
		this.c.refused++;
		this.bucket(this.perSecond.refused);
		this.lat.refused.push(this.q.now - o.start);
		// False: every demanded unit had enough free stock, over the whole system, at every instant of the request.
		const falsely = o.demand.every((l) => this.books.get(l.product_id)!.alwaysAtLeast(o.start, l.quantity));
		if (falsely) {
			this.c.falseRefused++;
			if (this.falseSamples.length < 20) this.falseSamples.push({ atMs: this.q.now, startMs: o.start, hot: o.hot, retry: o.retry, demand: o.demand.map((l) => `${l.product_id}x${l.quantity}`).join(",") });
		}
		else this.c.trueRefused++;
		if (o.retry) this.c.retryRefusedUnits += o.demand.reduce((s, l) => s + l.quantity, 0);
		else if (o.hot && !o.hoarder) this.retriers.push(o);
		answered();
	}

	private unavailable(o: Order, r: Outcome, answered: () => void): void {
		this.c.unavailable++;
		if (r === "overloaded") this.c.overloadedAnswers++;
		this.bucket(this.perSecond.unavailable);
		if (!o.retry && o.hot && !o.hoarder) this.retriers.push(o);
		answered();
	}

	// ---------------------------------------------------------------- phase 2: gathered commits

	private gather(o: Order): void {
		const win = this.windows[o.isolate]!;
		win.orders.push(o);
		if (win.orders.length >= this.cfg.commitMax) return this.flush(o.isolate);
		if (win.orders.length === 1) {
			const gen = win.gen;
			this.q.after(this.cfg.commitWindowMs, () => win.gen === gen && this.flush(o.isolate));
		}
	}

	private flush(isolate: number): void {
		const win = this.windows[isolate]!;
		const decided = win.orders;
		win.orders = [];
		win.gen++;
		if (decided.length === 0) return;
		const refsAt = new Map<Obj, Order[]>();
		for (const o of decided) {
			for (const h of o.holds) {
				const list = refsAt.get(h.obj);
				if (list) list.push(o);
				else refsAt.set(h.obj, [o]);
			}
		}
		if (this.cfg.shardedCommitsAtPool && this.coord) {
			// The gateway's commitMany for a warehouse with sharded units also goes to the warehouse's own object
			// (the pool) with every reference; it holds none of them, so only its load is modelled.
			let atShards = 0;
			for (const o of decided) if (o.holds.some((h) => h.obj.shard)) atShards++;
			const pool = this.coord.store;
			if (atShards > 0) this.call(pool, this.cfg.rttObjectMs, () => ({ busy: this.costs.commitMany(atShards, false), apply: () => true }), () => {});
		}
		const answers = new Map<string, WarehouseAnswer>();
		let left = refsAt.size;
		for (const [obj, orders] of refsAt) {
			this.c.commitCalls++;
			this.c.commitHolds += orders.length;
			this.call(
				obj.store,
				this.cfg.rttObjectMs,
				() => ({ busy: this.costs.commitMany(orders.length, obj.catalog), apply: () => this.commitHolds(obj, orders) }),
				(outcome, results) => {
					answers.set(obj.name, outcome === "ok" && results ? { ok: true, results } : { ok: false, error: outcome });
					if (--left === 0) this.afterCommits(decided, answers);
				},
			);
		}
	}

	private commitHolds(obj: Obj, orders: Order[]): Record<string, CommitResult> {
		const results: Record<string, CommitResult> = {};
		for (const o of orders) {
			const h = o.holds.find((x) => x.obj === obj);
			if (!h || h.state === "released") results[o.key] = { ok: false, reason: "hold_released" };
			else {
				const replayed = h.state === "committed";
				h.state = "committed";
				obj.held.delete(h);
				results[o.key] = { ok: true, replayed, late: false };
			}
		}
		return results;
	}

	private afterCommits(decided: Order[], answers: Map<string, WarehouseAnswer>): void {
		// sortCommits reads only each order's id.
		const sorted = sortCommits(
			decided.map((o) => ({ order: { order_id: o.key } as OrderRecord, warehouseIds: o.holds.map((h) => h.obj.name) })),
			answers,
		);
		const byKey = new Map(decided.map((o) => [o.key, o]));
		const shardsCleared = new Set<number>();
		for (const p of sorted.cleared) {
			const o = byKey.get(p.order_id)!;
			for (const h of o.holds) if (h.obj.name === p.warehouse_id) unowe(o, h.obj);
			if (o.owed.length === 0) {
				this.owing[o.shard]!.delete(o);
				this.lat.commit.push(this.q.now - o.decidedAt);
			}
			shardsCleared.add(o.shard);
		}
		this.c.commitsLeft += sorted.left.length;
		// One outbox delete per order shard touched; the placed events: one queue send and one delete per shard.
		for (const n of shardsCleared) this.d1(this.ordersDb[n]!, this.costs.d1Write, null);
		const announced = new Map<number, number>();
		for (const rec of sorted.announce) {
			const n = byKey.get(rec.order_id)!.shard;
			announced.set(n, (announced.get(n) ?? 0) + 1);
		}
		for (const [n, msgs] of announced) {
			this.call(this.queues[n]!, this.cfg.rttQueueMs, () => ({ busy: msgs * (1000 / this.cfg.queueMsgsPerS), apply: () => true }), () => {
				this.d1(this.ordersDb[n]!, this.costs.d1Write, null);
			});
		}
	}

	// ---------------------------------------------------------------- after the answer: payments, the window, alarms

	private pay(o: Order): void {
		this.d1(this.ordersDb[o.shard]!, this.costs.d1Batch, (r) => {
			if (r !== "ok" || !o.state) return this.q.after(5000, () => this.pay(o)); // the provider retries the webhook
			const t = transition(o.state, { type: "payment_succeeded" });
			if (!t.ok) return;
			o.state = t.next;
			if (o.state.status !== "pending") this.unpaid[o.shard]!.delete(o);
			if (t.refund) this.c.refunds++;
			else this.c.paid++;
		});
	}

	private scheduleCron(): void {
		const run = () => {
			if (this.q.now > this.endMs) return;
			for (let n = 0; n < this.cfg.N; n++) this.reconcile(n);
			this.q.after(this.cfg.cronMs, run);
		};
		this.q.at(this.cfg.cronMs, run);
		// The Warehouse alarm: holds past their expiry ask D1 whether their order exists, then commit or release.
		const alarm = () => {
			if (this.q.now > this.endMs) return;
			for (const obj of this.allObjs()) for (const h of [...obj.held]) if (h.expiresAt <= this.q.now) this.expire(h);
			this.q.after(ALARM_EVERY_MS, alarm);
		};
		this.q.at(ALARM_EVERY_MS, alarm);
	}

	private allObjs(): Obj[] {
		return [...this.objs.flat(), ...this.shards];
	}

	private expire(h: Hold): void {
		const o = h.order;
		this.d1(this.ordersDb[o.shard]!, this.costs.d1Read, () => {
			const decided = o.state !== null;
			this.call(h.obj.store, 0, () => ({ busy: this.costs.release, apply: () => true }), (r) => {
				if (r !== "ok" || h.state !== "held") return;
				if (decided) {
					h.state = "committed";
					h.obj.held.delete(h);
					unowe(o, h.obj);
					this.c.alarmCommits++;
				} else {
					this.unhold(h);
					this.c.alarmReleases++;
				}
			});
		});
	}

	/** One reconciler run over one order shard: overdue unpaid orders cancelled (units back), owed commits replayed. */
	private reconcile(n: number): void {
		const db = this.ordersDb[n]!;
		this.d1(db, this.costs.d1Read, () => {
			const cutoff = windowCutoff(this.q.now, this.cfg.paymentWindowMs);
			const unpaid = this.unpaid[n]!;
			let budget = this.cfg.reconcileBatch;
			const due: Order[] = [];
			for (const o of unpaid) {
				if (budget <= 0) break;
				if (!o.state || o.state.status !== "pending") {
					unpaid.delete(o);
					continue;
				}
				if (overdue({ ...o.state, created_at: new Date(o.decidedAt).toISOString() }, cutoff)) {
					budget--;
					due.push(o);
					unpaid.delete(o);
				}
			}
			// A few cancellations at a time per shard, each waiting for its database and objects.
			let next = 0;
			const worker = () => {
				if (next < due.length) this.cancelOverdue(due[next++]!, worker);
			};
			for (let i = 0; i < RECONCILE_CONCURRENCY; i++) worker();
			for (const o of [...this.owing[n]!]) {
				if (budget <= 0) break;
				if (this.q.now - o.decidedAt < 10_000) continue;
				budget--;
				for (const obj of [...o.owed]) {
					this.call(obj.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.commitMany(1, obj.catalog), apply: () => this.commitHolds(obj, [o]) }), (r) => {
						if (r !== "ok" || !unowe(o, obj)) return;
						if (o.owed.length === 0) this.owing[n]!.delete(o);
						this.c.commitsReplayed++;
						this.d1(db, this.costs.d1Write, () => {});
					});
				}
			}
		});
	}

	private cancelOverdue(o: Order, next: () => void): void {
		const db = this.ordersDb[o.shard]!;
		this.d1(db, this.costs.d1Batch, (r) => {
			if (r !== "ok" || !o.state) {
				this.unpaid[o.shard]!.add(o); // the next run tries again
				return next();
			}
			const t = transition(o.state, { type: "cancel" });
			if (!t.ok) return next();
			o.state = t.next;
			this.c.cancelledByWindow++;
			this.countLive(o, -1);
			let left = o.holds.length;
			const done = () => {
				if (--left > 0) return;
				this.d1(db, this.costs.d1Write, next);
			};
			if (left === 0) return this.d1(db, this.costs.d1Write, next);
			for (const h of o.holds) this.restockAt(h, done);
		});
	}

	/** The cancelled order's hold at its object, retried until the object answers. */
	private restockAt(h: Hold, done: () => void): void {
		this.call(h.obj.store, this.cfg.rttObjectMs, () => ({ busy: this.costs.release, apply: () => this.restock(h) }), (r) => {
			if (r !== "ok" && h.state !== "released") return this.q.after(1000, () => this.restockAt(h, done));
			done();
		});
	}

	/** A cancelled order's hold: held units released, committed units restocked; at a shard they go back to the pool. */
	private restock(h: Hold): void {
		if (h.state === "released") return;
		const units = h.lines.reduce((s, l) => s + l.quantity, 0);
		if (h.state === "held") {
			this.c.unitsRecovered += units;
			return this.unhold(h);
		}
		h.state = "released";
		for (const l of h.lines) this.moveFree(h.obj, l.product_id, l.quantity);
		unowe(h.order, h.obj);
		if (h.order.owed.length === 0) this.owing[h.order.shard]!.delete(h.order);
		this.c.unitsRecovered += units;
		if (h.obj.shard) this.shardReturned(h.obj, units);
	}

	// ---------------------------------------------------------------- escrow: shards and the coordinator

	private shardReserve(obj: Obj, o: Order, quantity: number, answer: (r: "held" | "refused" | "failed") => void): void {
		const rtt = this.cfg.rttObjectMs;
		const back = this.jit(rtt, this.rand.objectNet) / 2;
		this.q.after(this.jit(rtt, this.rand.objectNet) / 2, () => {
			const s = obj.shard!;
			const d = escrow.onRequest(s, quantity);
			let result: "held" | "refused" | "parked" = "parked";
			const admitted = obj.store.submit(d.kind === "reserve" ? this.costs.reserve(1) : this.costs.escrowRead, back, (out) => {
				if (out !== "ok") return answer("failed");
				if (result !== "parked") answer(result);
			});
			if (!admitted) return;
			if (d.kind === "reserve") {
				o.holds.push(this.hold(o, obj, o.demand));
				this.sold(obj, quantity);
				result = "held";
			} else if (d.kind === "refuse") result = "refused";
			else {
				s.waiters.push({ order: o, quantity, answer: (r) => this.q.after(this.jit(rtt, this.rand.objectNet) / 2, () => answer(r)) });
				if (!s.asking) this.ask(obj, d.need);
			}
		});
	}

	private sold(obj: Obj, units: number): void {
		const s = obj.shard!;
		const sec = Math.floor(this.q.now / 1000);
		if (sec !== s.second) {
			s.salesLastSecond = sec === s.second + 1 ? s.salesThisSecond : 0;
			s.second = sec;
			s.salesThisSecond = 0;
		}
		s.salesThisSecond += units;
		s.ratePerS = Math.max(s.salesLastSecond, s.salesThisSecond);
		s.lastSaleAt = this.q.now;
		this.upkeep(obj);
	}

	private upkeep(obj: Obj): void {
		const d = escrow.upkeep(obj.shard!, this.escrowCfg(), this.q.now);
		if (d.kind === "ask") this.ask(obj, 0, d.want);
		else if (d.kind === "give_back") this.giveBack(obj, d.units);
	}

	/** Units back at a shard go to the pool (escrow.afterReturn), gathered over RETURN_GATHER_MS into one transfer. */
	private shardReturned(obj: Obj, units: number): void {
		const s = obj.shard!;
		const d = escrow.afterReturn(units);
		if (d.kind !== "give_back") return;
		// Off the shard in the same transaction; the transfer message carries what returned within the gather time.
		s.returned += this.takeOut(obj, d.units);
		if (s.returnTimer) return;
		s.returnTimer = true;
		this.q.after(RETURN_GATHER_MS, () => {
			s.returnTimer = false;
			const give = s.returned;
			s.returned = 0;
			if (give > 0) this.sendGiveBack(obj, give);
		});
	}

	/** A shard-to-coordinator message, then the coordinator's operation. */
	private toCoord(busy: number, run: () => void): void {
		const co = this.coord!;
		this.q.after(this.cfg.rttObjectObjectMs / 2, () => {
			// Not admitted (overloaded, restarting): the sender's alarm sends it again.
			if (co.store.submit(busy, 0, null)) run();
			else this.q.after(100, () => this.toCoord(busy, run));
		});
	}

	/** A coordinator-to-shard message, then the shard's operation (`run` at admission; `after` once it is done). */
	private toShard(obj: Obj, busy: number, run: () => void, after: () => void = () => {}): void {
		this.q.after(this.cfg.rttObjectObjectMs / 2, () => {
			if (obj.store.submit(busy, 0, () => after())) run();
			else this.q.after(100, () => this.toShard(obj, busy, run, after));
		});
	}

	private ask(obj: Obj, need: number, want = escrow.grantSize(obj.shard!.ratePerS, this.escrowCfg())): void {
		const s = obj.shard!;
		s.asking = true;
		const a = { shard: s.index, free: s.free, need, want };
		this.toCoord(this.costs.ask, () => {
			this.coord!.reported[a.shard] = a.free;
			this.decideAsk(a);
		});
	}

	private decideAsk(a: { shard: number; free: number; need: number; want: number }): void {
		const co = this.coord!;
		const d = escrow.decideAsk(co, a, this.escrowCfg());
		const obj = this.shards[a.shard]!;
		switch (d.kind) {
			case "grant": {
				this.poolMove(-d.units);
				co.reported[a.shard] = (co.reported[a.shard] ?? 0) + d.units;
				this.c.grants++;
				this.bucket(this.perSecond.grants);
				this.toShard(obj, this.costs.grant, () => {
					this.moveFree(obj, HOT, d.units);
					obj.shard!.asking = false;
					obj.shard!.poolDry = false;
					this.serveWaiters(obj);
				});
				return;
			}
			case "reclaim": {
				co.parked.push(a);
				if (co.reclaiming.has(d.from)) return;
				co.reclaiming.add(d.from);
				this.c.reclaims++;
				const from = this.shards[d.from]!;
				this.toShard(from, this.costs.giveBack, () => {
					const give = Math.min(d.units, from.shard!.free);
					this.moveFree(from, HOT, -give);
					const left = from.shard!.free;
					this.toCoord(this.costs.giveBack, () => {
						this.poolMove(give);
						co.reported[d.from] = left;
						co.reclaiming.delete(d.from);
						this.redecide();
					});
				});
				return;
			}
			case "wait":
				co.parked.push(a);
				return;
			case "none":
				this.toShard(obj, this.costs.escrowRead, () => {
					obj.shard!.asking = false;
					obj.shard!.poolDry = true;
					this.serveWaiters(obj);
				});
				return;
			case "refuse": {
				if (d.soldOut && !co.soldOut) {
					co.soldOut = true;
					this.c.declarations++;
					for (const sh of this.shards) if (sh !== obj) this.toShard(sh, this.costs.escrowRead, () => (sh.shard!.soldOut = co.soldOut));
				}
				this.toShard(obj, this.costs.escrowRead, () => {
					const s = obj.shard!;
					s.asking = false;
					if (d.soldOut && co.soldOut) s.soldOut = true;
					// Refused for `need` units: waiters lacking as many or more are refused too; others ask again.
					const keep: Waiter[] = [];
					for (const w of s.waiters) {
						if (s.free >= w.quantity) keep.push(w);
						else if (w.quantity - s.free >= a.need) w.answer("refused");
						else keep.push(w);
					}
					s.waiters = keep;
					this.serveWaiters(obj);
				});
				return;
			}
		}
	}

	private redecide(): void {
		const co = this.coord!;
		const parked = co.parked;
		co.parked = [];
		for (const a of parked) this.decideAsk({ ...a, free: co.reported[a.shard] ?? a.free });
	}

	/** Waiters at a shard, in order, after its stock or declaration changed. */
	private serveWaiters(obj: Obj): void {
		const s = obj.shard!;
		const keep: Waiter[] = [];
		for (const w of s.waiters) {
			const d = escrow.onRequest(s, w.quantity);
			if (d.kind === "reserve") {
				w.order.holds.push(this.hold(w.order, obj, w.order.demand));
				this.sold(obj, w.quantity);
				w.answer("held");
			} else if (d.kind === "refuse") w.answer("refused");
			else keep.push(w);
		}
		s.waiters = keep;
		if (keep.length > 0 && !s.asking) this.ask(obj, keep[0]!.quantity - s.free);
		else if (keep.length === 0 && !s.asking) this.upkeep(obj);
	}

	/**
	 * Free stock leaves a shard for the pool: off the shard at once (so it is sold by
	 * no one while it travels: in transit is neither a shard's nor the pool's), on
	 * the pool when the coordinator applies it.
	 */
	private takeOut(obj: Obj, units: number): number {
		const give = Math.min(units, obj.shard!.free);
		if (give > 0) this.moveFree(obj, HOT, -give);
		return give;
	}

	private poolMove(delta: number): void {
		this.coord!.pool += delta;
		this.books.get(HOT)!.change(this.q.now, delta);
	}

	private giveBack(obj: Obj, units: number): void {
		const give = this.takeOut(obj, units);
		if (give > 0) this.sendGiveBack(obj, give);
	}

	private sendGiveBack(obj: Obj, give: number): void {
		const s = obj.shard!;
		this.c.giveBacks++;
		const left = s.free;
		const co = this.coord!;
		this.toCoord(this.costs.giveBack, () => {
			co.reported[s.index] = left;
			const d = escrow.onGiveBack(co);
			if (d.kind === "pool") {
				this.poolMove(give);
				return this.redecide();
			}
			co.returning += give;
			if (co.revoking) return;
			co.revoking = true;
			co.acks = 0;
			for (const sh of this.shards) {
				this.toShard(sh, this.costs.escrowRead, () => (sh.shard!.soldOut = false), () =>
					this.toCoord(this.costs.escrowRead, () => {
						if (++co.acks < this.shards.length) return;
						this.poolMove(co.returning);
						co.returning = 0;
						co.soldOut = false;
						co.revoking = false;
						this.redecide();
					}),
				);
			}
		});
	}

	private scheduleShardAlarms(): void {
		for (const obj of this.shards) {
			const tick = () => {
				if (this.q.now > this.endMs) return;
				this.upkeep(obj);
				this.q.after(1000, tick);
			};
			this.q.at(1000, tick);
		}
	}

	// ---------------------------------------------------------------- faults and the retry

	private scheduleFaults(): void {
		const f = this.cfg.faults;
		if (f.restart) {
			const target = this.shards[0] ?? this.objs[0]![0]!;
			this.q.at(f.restart.atS * 1000, () => target.store.restart(f.restart!.downMs));
		}
		if (f.isolateLost) {
			this.q.at(f.isolateLost.atS * 1000, () => {
				// The isolate with the most decided orders waiting: its window never goes out.
				let worst = 0;
				for (let i = 0; i < this.windows.length; i++) if (this.windows[i]!.orders.length > this.windows[worst]!.orders.length) worst = i;
				const w = this.windows[worst]!;
				this.c.commitsLeft += w.orders.length;
				w.orders = [];
				w.gen++;
			});
		}
	}

	/** Paying buyers turned away come back once the window has passed for the last hoarder and the reconciler ran. */
	private scheduleRetry(at: number): void {
		this.q.at(at, () => {
			const list = this.retriers.splice(0);
			const rate = Math.max(1, this.cfg.peakPerS * this.cfg.hotShare) / 1000;
			let t = this.q.now;
			// The run lasts until the retries are answered and one more reconciler run has passed.
			this.endMs = Math.max(this.endMs, t + list.length / rate + this.cfg.cronMs);
			for (const prev of list) {
				t += this.rand.misc.exp(1 / rate);
				this.q.at(t, () => {
					this.c.retries++;
					const o = this.newOrder(true, false);
					o.demand = prev.demand;
					o.retry = true;
					this.place(o, () => {});
				});
			}
		});
	}

	// ---------------------------------------------------------------- run

	/** `stopAtBreach`: stop at the end of the first second the claim is broken in (a run that must fail, cut short). */
	run(opts: { stopAtBreach?: boolean } = {}): void {
		const c = this.cfg;
		if (c.driver === "closed") {
			// The bench's buying pass: until every buyer (and view) has its answer.
			this.scheduleClosed();
			this.endMs = Number.POSITIVE_INFINITY;
			this.q.runUntil(this.endMs);
			return;
		}
		this.scheduleArrivals();
		// Buyers turned away come back once every unit that can come back has: the window has passed for the last
		// order and the reconciler ran, and any hold left by a failed call has expired (the alarm looks every 10 s).
		const lastCron = Math.ceil((this.arrivalsEndMs + c.paymentWindowMs) / c.cronMs) * c.cronMs;
		const retryAt = Math.max(lastCron, this.arrivalsEndMs + c.holdTtlMs + ALARM_EVERY_MS) + 2000;
		this.endMs = retryAt + c.cronMs;
		if (c.retry) this.scheduleRetry(retryAt);
		this.scheduleBrowsing();
		this.scheduleCron();
		this.scheduleShardAlarms();
		this.scheduleFaults();
		// Second by second (the retry's schedule may move endMs later while it runs).
		for (let sec = 1; (sec - 1) * 1000 < this.endMs; sec++) {
			this.q.runUntil(Math.min(sec * 1000, this.endMs));
			if (opts.stopAtBreach && this.breached(sec - 1)) {
				this.stoppedAtS = sec;
				return;
			}
		}
	}

	/**
	 * Whether a store is past its limit over the 5 s ending with second `i` of
	 * the measured window: the claim is then broken whatever the rest of the run
	 * does, since nothing later changes a second already run.
	 */
	private breached(i: number): boolean {
		const c = this.cfg;
		if (i < c.rampS + 4 || i >= c.rampS + c.holdS) return false;
		for (const s of this.stores) {
			const b = s.buckets;
			let req = 0;
			let busy = 0;
			for (let j = i - 4; j <= i; j++) {
				req += b.requests[j] ?? 0;
				busy += b.busyMs[j] ?? 0;
			}
			const five = fiveSeconds(req, busy);
			if (pastLimit(s.kind, five.rps, five.util)) return true;
		}
		return false;
	}
}
