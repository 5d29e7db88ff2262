/**
 * Plans which warehouses ship which units of an order. Pure and deterministic:
 * equal inputs give equal plans.
 *
 * 1. One warehouse for the whole order if any can: best tier, then most
 *    available stock of the demanded units, then warehouse_id ascending.
 * 2. Otherwise as few warehouses as possible: an exact search over
 *    combinations when at most EXACT_SEARCH_LIMIT warehouses hold any demanded
 *    stock, a greedy cover (then pruned) beyond that. Equal counts prefer the
 *    better worst tier, then more stock, then the smaller sorted id list.
 *    Each unit is then drawn from the better tier first, then the warehouse
 *    with more of that unit.
 * 3. If all the given warehouses together hold too little of some unit, the
 *    answer is the shortages (available summed over the given warehouses).
 *
 * Only warehouses in `warehouses` count; availability for others is ignored.
 * With a null address every warehouse ranks as tier_3, so stock and id decide,
 * and the plan's tiers say tier_3.
 */
import { assertLines, sumDemand } from "../stock/demand";
import { unitKey, type Level, type Line, type Shortage } from "../stock/types";
import { tierFor, tierRank, worstTier, type Place, type Tier } from "./tiers";

export interface WarehousePlace extends Place {
	warehouse_id: string;
}

export interface AllocationInput {
	demand: Line[];
	warehouses: WarehousePlace[];
	availability: Map<string, Level[]>;
	address: Place | null;
}

export interface AllocationLine extends Line {
	warehouse_id: string;
	tier: Tier;
}

export type Allocation =
	| { ok: true; allocations: AllocationLine[]; tier: Tier; warehouses: string[] }
	| { ok: false; shortages: Shortage[] };

/** 2^8 subsets at most: cheap enough to be exact. */
export const EXACT_SEARCH_LIMIT = 8;

interface Candidate {
	id: string;
	tier: Tier;
	/** Available per unit key, demanded units only. */
	stock: Map<string, number>;
	/** Sum of `stock`: the "more stock" tie-breaker. */
	total: number;
}

function cmp(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

function cmpIdLists(a: readonly string[], b: readonly string[]): number {
	for (let i = 0; i < Math.min(a.length, b.length); i++) {
		const c = cmp(a[i]!, b[i]!);
		if (c !== 0) return c;
	}
	return a.length - b.length;
}

function candidates(input: AllocationInput, demand: Line[]): Candidate[] {
	const wanted = new Set(demand.map(unitKey));
	const seen = new Set<string>();
	const out: Candidate[] = [];
	for (const w of input.warehouses) {
		if (seen.has(w.warehouse_id)) continue;
		seen.add(w.warehouse_id);
		const stock = new Map<string, number>();
		for (const level of input.availability.get(w.warehouse_id) ?? []) {
			const key = unitKey(level);
			// A negative `available` would let one warehouse cancel another's stock in the sums.
			if (wanted.has(key)) stock.set(key, (stock.get(key) ?? 0) + Math.max(0, level.available));
		}
		let total = 0;
		for (const n of stock.values()) total += n;
		out.push({ id: w.warehouse_id, tier: input.address ? tierFor(w, input.address) : "tier_3", stock, total });
	}
	return out.sort((a, b) => cmp(a.id, b.id));
}

function covers(set: readonly Candidate[], demand: readonly Line[]): boolean {
	return demand.every((line) => {
		const key = unitKey(line);
		let sum = 0;
		for (const c of set) sum += c.stock.get(key) ?? 0;
		return sum >= line.quantity;
	});
}

/** Negative when `a` is the better set of warehouses (same size assumed). */
function cmpSets(a: readonly Candidate[], b: readonly Candidate[]): number {
	const tierA = tierRank(worstTier(a.map((c) => c.tier)));
	const tierB = tierRank(worstTier(b.map((c) => c.tier)));
	if (tierA !== tierB) return tierA - tierB;
	const totalA = a.reduce((s, c) => s + c.total, 0);
	const totalB = b.reduce((s, c) => s + c.total, 0);
	if (totalA !== totalB) return totalB - totalA;
	return cmpIdLists(
		a.map((c) => c.id),
		b.map((c) => c.id),
	);
}

/** Calls `visit` with every k-subset of `items`, in index order (items are id-sorted, so subsets are too). */
function combinations<T>(items: readonly T[], k: number, visit: (subset: T[]) => void): void {
	const pick: T[] = [];
	const walk = (start: number): void => {
		if (pick.length === k) {
			visit([...pick]);
			return;
		}
		for (let i = start; i <= items.length - (k - pick.length); i++) {
			pick.push(items[i]!);
			walk(i + 1);
			pick.pop();
		}
	};
	walk(0);
}

function bestOfSize(pool: readonly Candidate[], k: number, demand: readonly Line[]): Candidate[] | undefined {
	let best: Candidate[] | undefined;
	combinations(pool, k, (set) => {
		if (covers(set, demand) && (!best || cmpSets(set, best) < 0)) best = set;
	});
	return best;
}

/** Picks the warehouse covering the most outstanding units each round, then drops any that turned out redundant. */
function greedyCover(pool: readonly Candidate[], demand: readonly Line[]): Candidate[] {
	const outstanding = new Map(demand.map((l) => [unitKey(l), l.quantity]));
	const chosen: Candidate[] = [];
	const gain = (c: Candidate): number => {
		let g = 0;
		for (const [key, need] of outstanding) g += Math.min(need, c.stock.get(key) ?? 0);
		return g;
	};
	while ([...outstanding.values()].some((n) => n > 0)) {
		let best: Candidate | undefined;
		let bestGain = 0;
		for (const c of pool) {
			if (chosen.includes(c)) continue;
			const g = gain(c);
			if (g > bestGain || (g === bestGain && g > 0 && best && cmpSets([c], [best]) < 0)) {
				best = c;
				bestGain = g;
			}
		}
		// Unreachable when the caller checked total availability first; guards an endless loop.
		if (!best) throw new Error("greedyCover: demand cannot be covered");
		chosen.push(best);
		for (const [key, need] of outstanding) outstanding.set(key, need - Math.min(need, best.stock.get(key) ?? 0));
	}
	// Try dropping the worst-ranked first, so what remains is the better part.
	const byRank = [...chosen].sort((a, b) => cmpSets([b], [a]));
	let kept = chosen;
	for (const c of byRank) {
		const without = kept.filter((x) => x !== c);
		if (covers(without, demand)) kept = without;
	}
	return kept;
}

function chooseWarehouses(pool: readonly Candidate[], demand: readonly Line[]): Candidate[] {
	const single = bestOfSize(pool, 1, demand);
	if (single) return single;
	// A warehouse with none of the demanded units can never shorten a split.
	const useful = pool.filter((c) => c.total > 0);
	if (useful.length <= EXACT_SEARCH_LIMIT) {
		for (let k = 2; k <= useful.length; k++) {
			const best = bestOfSize(useful, k, demand);
			if (best) return best;
		}
		throw new Error("chooseWarehouses: demand cannot be covered");
	}
	return greedyCover(useful, demand);
}

function assign(chosen: readonly Candidate[], demand: readonly Line[]): AllocationLine[] {
	const out: AllocationLine[] = [];
	for (const line of demand) {
		const key = unitKey(line);
		const order = [...chosen].sort(
			(a, b) => tierRank(a.tier) - tierRank(b.tier) || (b.stock.get(key) ?? 0) - (a.stock.get(key) ?? 0) || cmp(a.id, b.id),
		);
		let left = line.quantity;
		for (const c of order) {
			if (left === 0) break;
			const take = Math.min(left, c.stock.get(key) ?? 0);
			if (take > 0) {
				out.push({ warehouse_id: c.id, product_id: line.product_id, size: line.size, quantity: take, tier: c.tier });
				left -= take;
			}
		}
	}
	return out.sort((a, b) => cmp(a.warehouse_id, b.warehouse_id) || cmp(a.product_id, b.product_id) || cmp(a.size, b.size));
}

export function allocate(input: AllocationInput): Allocation {
	assertLines(input.demand, "allocate");
	const demand = sumDemand(input.demand);
	const pool = candidates(input, demand);

	const shortages: Shortage[] = [];
	for (const line of demand) {
		const key = unitKey(line);
		const available = pool.reduce((s, c) => s + (c.stock.get(key) ?? 0), 0);
		if (available < line.quantity) shortages.push({ product_id: line.product_id, size: line.size, requested: line.quantity, available });
	}
	if (shortages.length > 0) {
		shortages.sort((a, b) => cmp(a.product_id, b.product_id) || cmp(a.size, b.size));
		return { ok: false, shortages };
	}

	const allocations = assign(chooseWarehouses(pool, demand), demand);
	// Only warehouses that actually ship something decide the ids and the tier.
	const shipping = new Map(allocations.map((a) => [a.warehouse_id, a.tier]));
	return {
		ok: true,
		allocations,
		tier: worstTier([...shipping.values()]),
		warehouses: [...shipping.keys()].sort(cmp),
	};
}
