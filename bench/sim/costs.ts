/**
 * Per-operation busy times (ms a store is occupied per operation), from the
 * floor probe's capacity results (bench/scenarios/capacity.mjs): either a whole
 * `npm run bench` report (its scenarios.floor.primitives.capacity) or the
 * committed transcription in bench/sim/inputs/. Operations the probe does not
 * measure take the cost of the closest one it does, named here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const DEFAULT_INPUTS = join(import.meta.dirname, "inputs", "floor-065b6ad.json");

interface Capacity {
	busy_ms: Record<string, number>;
	commit_many: Record<"hot" | "catalog", Record<string, { k: number; per_hold_ms: number }>>;
}

export interface Inputs {
	source: string;
	capacity: Capacity;
	/** Request p50s at concurrency 1 (the floor table): the Worker's own share of a request, locally. */
	floor_p50_ms: { noop: number; jwt: number; place_order: number; place_order_primitives: number; product_page: number; d1: number };
}

export function loadInputs(path = DEFAULT_INPUTS): Inputs {
	const raw = JSON.parse(readFileSync(path, "utf8"));
	// A full bench report nests the capacity results; the committed file has them at the top.
	const capacity = raw.capacity ?? raw.scenarios?.floor?.primitives?.capacity;
	if (!capacity?.busy_ms || !capacity?.commit_many) throw new Error(`${path}: no floor capacity results (busy_ms, commit_many)`);
	const floor = raw.floor_p50_ms ?? JSON.parse(readFileSync(DEFAULT_INPUTS, "utf8")).floor_p50_ms;
	return { source: raw.source ?? path, capacity, floor_p50_ms: floor };
}

/** Busy ms per operation, as the model uses them. */
export interface Costs {
	/** An object's reserve of n lines (writes a hold). */
	reserve: (lines: number) => number;
	/** A reserve refused for want of stock: a read, no write. */
	refused: number;
	/** commitMany of k holds in one call (k = 1: a lone commit). */
	commitMany: (k: number, catalog: boolean) => number;
	/** A release or a cancelled hold's restock: a write transaction like a reserve. */
	release: number;
	/** A fresh availability read of a few units. */
	availability: number;
	/** The availability cache's snapshot of an object holding `units` units. */
	snapshot: (units: number) => number;
	/** A grant applied at a shard (units onto its slice). */
	grant: number;
	/** A give-back: units off a shard for the pool (a reclaim), and the pool taking them at the coordinator. */
	giveBack: number;
	/** A dry shard's ask, handled at the coordinator (read the pool, decide). */
	ask: number;
	/** Escrow messages that move no units (an answer with nothing, a declaration, its revocation): like an availability read. */
	escrowRead: number;
	/** Where each escrow cost came from: the floor results' own figure, or the operation standing in for it. */
	escrowSources: Record<EscrowOp, string>;
	d1Read: number;
	d1ReadBatch: number;
	d1Write: number;
	d1Batch: number;
	/** The Worker's own CPU per request, only when the whole runtime shares one core (the local machine). */
	workerOrder: number;
	workerView: number;
}

/** Linear through `sorted` (ascending in x), extended past its ends. */
function interpolate(sorted: Array<[number, number]>, x: number): number {
	if (x <= sorted[0]![0]) return sorted[0]![1];
	for (let i = 1; i < sorted.length; i++) {
		const [x0, y0] = sorted[i - 1]!;
		const [x1, y1] = sorted[i]!;
		if (x <= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
	}
	const [xa, ya] = sorted[sorted.length - 2]!;
	const [xb, yb] = sorted[sorted.length - 1]!;
	return yb + ((yb - ya) * (x - xb)) / (xb - xa);
}

export type EscrowOp = "grant" | "giveBack" | "ask";

/**
 * The escrow operations' busy times are read from the floor results under
 * these names (`keys`, config.ts: grantCostKey, giveBackCostKey,
 * askCostKey); a results file without one takes the cost of the operation
 * standing in for it: a grant or a give-back is a write transaction like a
 * reserve, an ask a read like an availability read.
 */
export const ESCROW_STAND_INS: Record<EscrowOp, string> = { grant: "rpc-reserve", giveBack: "rpc-reserve", ask: "rpc-availability" };

/** Costs from the inputs, D1 statements scaled by `d1Multiplier` and object work by `objectMultiplier`. */
export function costsFrom(inputs: Inputs, d1Multiplier = 1, objectMultiplier = 1, escrowKeys: Record<EscrowOp, string> = { grant: "", giveBack: "", ask: "" }): Costs {
	const b = inputs.capacity.busy_ms;
	const need = (name: string): number => {
		const v = b[name];
		if (typeof v !== "number") throw new Error(`floor inputs: missing busy_ms["${name}"]`);
		return v;
	};
	const perCall = (which: "hot" | "catalog"): Array<[number, number]> =>
		Object.values(inputs.capacity.commit_many[which])
			.map((c): [number, number] => [c.k, c.k * c.per_hold_ms])
			.sort((a, b) => a[0] - b[0]);
	const hotCalls = perCall("hot");
	const catalogCalls = perCall("catalog");
	const reserve1 = need("rpc-reserve");
	const reserve2 = need("rpc-reserve-catalog");
	const snap1 = need("rpc-snapshot-1-unit");
	const snapCatalog = need("rpc-snapshot-catalog");
	const snapPoints: Array<[number, number]> = [[1, snap1], [1000, snapCatalog]];
	const o = objectMultiplier;
	const escrowSources = {} as Record<EscrowOp, string>;
	const escrow = (op: EscrowOp): number => {
		const key = escrowKeys[op];
		const own = key ? b[key] : undefined;
		escrowSources[op] = typeof own === "number" ? key : `${ESCROW_STAND_INS[op]} (no ${key || op} in the results)`;
		return o * (typeof own === "number" ? own : need(ESCROW_STAND_INS[op]));
	};
	const d = d1Multiplier;
	const f = inputs.floor_p50_ms;
	// The Worker's share of a request at concurrency 1: the noop request, the token check, and what place-order
	// (or a product page) took beyond the primitives on its path.
	const workerOrder = f.noop + f.jwt + Math.max(0, f.place_order - f.place_order_primitives);
	const workerView = Math.max(f.noop, f.product_page - 2 * f.d1);
	return {
		reserve: (lines) => o * (reserve1 + (reserve2 - reserve1) * Math.max(0, lines - 1)),
		refused: o * need("rpc-availability"),
		commitMany: (k, catalog) => o * interpolate(catalog ? catalogCalls : hotCalls, Math.max(1, k)),
		release: o * reserve1,
		availability: o * need("rpc-availability"),
		snapshot: (units) => o * interpolate(snapPoints, units),
		grant: escrow("grant"),
		giveBack: escrow("giveBack"),
		ask: escrow("ask"),
		escrowRead: o * need("rpc-availability"),
		escrowSources,
		d1Read: d * need("d1-read"),
		d1ReadBatch: d * need("d1-read-batch"),
		d1Write: d * need("d1-write"),
		d1Batch: d * need("d1-batch"),
		workerOrder,
		workerView,
	};
}
