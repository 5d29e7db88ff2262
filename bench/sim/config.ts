/**
 * The simulation's inputs. Every figure is a parameter; the presets are the
 * configurations the docs and tests use (today's system on this machine, and
 * the scale-out claim). CLI flags override any field (see cli.ts).
 */
import { CATALOG_TTL_MS } from "../../src/catalog/snapshot";
import { AVAILABILITY_TTL_MS } from "../../src/stock/cache";
import { DEFAULT_ESCROW, type EscrowConfig } from "../../src/stock/escrow";

/** The escrow policy the shard objects run: DEFAULT_ESCROW's grants, but no ask at a low-water mark and no idle give-back. */
export const PRODUCT_ESCROW: Omit<EscrowConfig, "shards"> = { ...DEFAULT_ESCROW, lowWater: -1, idleMs: Number.POSITIVE_INFINITY };

export interface Faults {
	/** Restart of the hot unit's busiest object (its first shard, or the warehouse object when S = 1). */
	restart: { atS: number; downMs: number } | null;
	/** An isolate lost after deciding orders: its gathered commits never go out (the reconciler replays them). */
	isolateLost: { atS: number } | null;
}

export interface SimConfig {
	seed: number;
	/** "open": orders arrive on the curve below; "closed": a fixed crowd of buyers, each waiting for its answer (the bench). */
	driver: "open" | "closed";
	/** Open: 0 to peak orders/s over rampS, held for holdS. */
	peakPerS: number;
	rampS: number;
	holdS: number;
	/** Closed: buyers, how many at once; views and how many at once (views only when viewsTotal > 0). */
	buyers: number;
	concurrency: number;
	viewsTotal: number;
	viewConcurrency: number;
	/** Share of orders for the one hot unit. */
	hotShare: number;
	hotStock: number;
	/** Share of hot-unit buyers who take the most one customer may and never pay. */
	hoarderShare: number;
	/** Units a hoarder takes (the product's max_per_customer; paying buyers take 1). */
	hoarderQty: number;
	/** The hot product has a purchase limit, so checkout reads the customer's counters first. */
	hotLimited: boolean;
	/** Catalog orders: lines (1..maxLines), units per line (1..maxQty), over catalogUnits units, each stocked at every warehouse. */
	catalogUnits: number;
	catalogStock: number;
	minLines: number;
	maxLines: number;
	maxQty: number;
	/** Sites (one region each); the hot unit is stocked at the first, or at the first hotWarehouses. */
	warehouses: number;
	hotWarehouses: number;
	/**
	 * Warehouses per site: each site registered as this many warehouses at the
	 * same address, each stocking its own range of the catalog, so the site's
	 * checkout traffic is spread over as many Warehouse objects (an order's lines
	 * at the site reserve at each range's warehouse in parallel, as allocate()
	 * plans them when no single warehouse is nearest). The hot unit, when
	 * sharded, is stocked at a warehouse of its own at the first site (the
	 * shards and their pool: "hot.*").
	 */
	warehousesPerSite: number;
	/** Product page views per order. */
	viewsPerOrder: number;
	/** Product pages read no D1 in steady state (an isolate memo and the Cache API, one D1 read per location per catalogTtlMs). */
	pagesOffD1: boolean;
	catalogTtlMs: number;
	/** Edge locations the traffic comes through; each keeps its own availability cache. */
	locations: number;
	availabilityTtlMs: number;
	/** Order shards (D1 databases), shard objects of the hot unit, isolates. */
	N: number;
	S: number;
	isolates: number;
	/**
	 * A window's commitMany for a warehouse with a sharded unit also goes to the
	 * warehouse's own object, the pool, with every reference of the window,
	 * besides the shards holding them (a routing that ignores the order's units).
	 * Off, as src/stock/sharded.ts routes: a hold is committed where it lives.
	 */
	shardedCommitsAtPool: boolean;
	/** Gathered commits: one window per isolate, flushed after windowMs or at commitMax orders. */
	commitWindowMs: number;
	commitMax: number;
	holdTtlMs: number;
	/** Payment: paying buyers pay this long after their 201; unpaid orders are cancelled by the reconciler after the window. */
	payDelayMs: [number, number];
	paymentWindowMs: number;
	cronMs: number;
	/** Orders cancelled (or commits replayed) per order shard per reconciler run at most. */
	reconcileBatch: number;
	/** Paying buyers turned away come back once after the window (the bench's retry), at the hot arrival rate. */
	retry: boolean;
	/** The floor probe's results (bench/sim/inputs/, or a bench report's JSON). */
	inputs?: string;
	/**
	 * The names under which the floor results give the busy ms of a grant, a
	 * give-back and a dry shard's ask (`capacity.busy_ms`); without them the
	 * stand-ins of costs.ts (a reserve's write; an availability read).
	 */
	grantCostKey: string;
	giveBackCostKey: string;
	askCostKey: string;
	/** Production multipliers: D1 statement time, object busy time. */
	d1Multiplier: number;
	objectMultiplier: number;
	/** Round trips (ms): Worker to D1, Worker to an object, object to object, Worker to the queue. Jittered +-50%. */
	rttD1Ms: number;
	rttObjectMs: number;
	rttObjectObjectMs: number;
	rttQueueMs: number;
	/** Published: an object's soft limit (requests/s); operations past maxQueue waiting are answered "overloaded". */
	softLimitRps: number;
	objectMaxQueue: number;
	d1MaxQueue: number;
	/** Published: a queue takes about this many messages a second; one queue per order shard. */
	queueMsgsPerS: number;
	/** The whole runtime on one core (the local machine): Worker CPU, objects and D1 share one thread. */
	sharedCore: boolean;
	escrow: Omit<EscrowConfig, "shards">;
	faults: Faults;
}

export const DEFAULTS: SimConfig = {
	seed: 20261207,
	inputs: undefined,
	driver: "open",
	peakPerS: 10_000,
	rampS: 5,
	holdS: 60,
	buyers: 0,
	concurrency: 0,
	viewsTotal: 0,
	viewConcurrency: 0,
	hotShare: 0.3,
	hotStock: 100_000,
	hoarderShare: 0.1,
	hoarderQty: 2,
	hotLimited: true,
	catalogUnits: 2000,
	catalogStock: 1_000_000,
	minLines: 1,
	maxLines: 3,
	maxQty: 2,
	warehouses: 8,
	hotWarehouses: 1,
	warehousesPerSite: 1,
	viewsPerOrder: 10,
	pagesOffD1: true,
	catalogTtlMs: CATALOG_TTL_MS,
	locations: 100,
	availabilityTtlMs: AVAILABILITY_TTL_MS,
	N: 1,
	S: 1,
	isolates: 2000,
	shardedCommitsAtPool: false,
	commitWindowMs: 250,
	commitMax: 200,
	holdTtlMs: 120_000,
	payDelayMs: [2000, 20_000],
	paymentWindowMs: 30_000,
	cronMs: 60_000,
	reconcileBatch: 5000,
	retry: true,
	grantCostKey: "rpc-grant",
	giveBackCostKey: "rpc-give-back",
	askCostKey: "rpc-ask",
	d1Multiplier: 1,
	objectMultiplier: 1,
	rttD1Ms: 10,
	rttObjectMs: 10,
	rttObjectObjectMs: 5,
	rttQueueMs: 10,
	softLimitRps: 1000,
	objectMaxQueue: 1000,
	d1MaxQueue: 1000,
	queueMsgsPerS: 5000,
	sharedCore: false,
	// As the shard objects behave: they ask only when dry and keep idle quota (no ask ahead, no idle give-back).
	escrow: PRODUCT_ESCROW,
	faults: { restart: { atS: 30, downMs: 200 }, isolateLost: { atS: 20 } },
};

/** The claim's run: 10,000 orders/s, 30% on one unit, 10 page views per order, pages off D1, with both faults. */
export function claimConfig(over: Partial<SimConfig> = {}): SimConfig {
	return { ...DEFAULTS, ...over };
}

/** The sensitivity run: D1 statements 3x slower, round trips of 50 ms. */
export function sensitivityConfig(over: Partial<SimConfig> = {}): SimConfig {
	return claimConfig({ d1Multiplier: 3, rttD1Ms: 50, rttObjectMs: 50, rttObjectObjectMs: 50, rttQueueMs: 50, ...over });
}
