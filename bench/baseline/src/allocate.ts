/**
 * Which warehouses ship an order, from one read of the stock documents. The
 * same rules as stockgate's planner in spirit (one warehouse when one can ship
 * everything, best delivery tier first; otherwise as few warehouses as a greedy
 * cover finds), so both systems split the same orders the same way.
 */
export type Tier = "tier_1" | "tier_2" | "tier_3";

export interface Line {
	product_id: string;
	size: string;
	quantity: number;
}

export interface Place {
	postal_code: string;
	region: string;
	country: string;
}

export interface StockRow extends Place {
	product_id: string;
	warehouse_id: string;
	/** The JSON text exactly as read: the compare-and-set expects it unchanged. */
	stock: string;
}

export interface Allocation extends Line {
	warehouse_id: string;
	tier: Tier;
}

export type Plan = { ok: true; allocations: Allocation[]; tier: Tier } | { ok: false; shortages: Array<Line & { requested: number; available: number }> };

const RANK: Record<Tier, number> = { tier_1: 0, tier_2: 1, tier_3: 2 };

export function tierFor(w: Place, a: Place): Tier {
	const up = (s: string) => s.trim().toUpperCase();
	if (up(w.country) === "" || up(w.country) !== up(a.country)) return "tier_3";
	const area = (s: string) => s.replace(/\s+/g, "").toUpperCase().slice(0, 3);
	if (area(w.postal_code) !== "" && area(w.postal_code) === area(a.postal_code)) return "tier_1";
	if (up(w.region) !== "" && up(w.region) === up(a.region)) return "tier_2";
	return "tier_3";
}

const key = (p: string, s: string) => `${p}\u0000${s}`;

interface Candidate {
	id: string;
	tier: Tier;
	avail: Map<string, number>;
	total: number;
}

export function plan(demand: Line[], rows: StockRow[], address: Place): Plan {
	const byId = new Map<string, Candidate>();
	for (const r of rows) {
		let c = byId.get(r.warehouse_id);
		if (!c) {
			c = { id: r.warehouse_id, tier: tierFor(r, address), avail: new Map(), total: 0 };
			byId.set(r.warehouse_id, c);
		}
		const doc = JSON.parse(r.stock) as Record<string, number>;
		for (const l of demand) {
			if (l.product_id !== r.product_id) continue;
			const n = Math.max(0, doc[l.size] ?? 0);
			c.avail.set(key(l.product_id, l.size), n);
			c.total += n;
		}
	}
	const cands = [...byId.values()].sort((a, b) => RANK[a.tier] - RANK[b.tier] || b.total - a.total || (a.id < b.id ? -1 : 1));

	const shortages = demand
		.map((l) => ({ ...l, requested: l.quantity, available: cands.reduce((s, c) => s + (c.avail.get(key(l.product_id, l.size)) ?? 0), 0) }))
		.filter((s) => s.available < s.requested);
	if (shortages.length > 0) return { ok: false, shortages };

	const covers = (c: Candidate) => demand.every((l) => (c.avail.get(key(l.product_id, l.size)) ?? 0) >= l.quantity);
	let chosen: Candidate[];
	const single = cands.find(covers);
	if (single) {
		chosen = [single];
	} else {
		chosen = [];
		const left = new Map(demand.map((l) => [key(l.product_id, l.size), l.quantity]));
		while ([...left.values()].some((n) => n > 0)) {
			let best: Candidate | undefined;
			let bestGain = 0;
			for (const c of cands) {
				if (chosen.includes(c)) continue;
				let gain = 0;
				for (const [k, need] of left) gain += Math.min(need, c.avail.get(k) ?? 0);
				if (gain > bestGain) {
					best = c;
					bestGain = gain;
				}
			}
			if (!best) return { ok: false, shortages: [] };
			chosen.push(best);
			for (const [k, need] of left) left.set(k, need - Math.min(need, best.avail.get(k) ?? 0));
		}
	}

	const allocations: Allocation[] = [];
	for (const l of demand) {
		const k = key(l.product_id, l.size);
		let need = l.quantity;
		const order = [...chosen].sort((a, b) => RANK[a.tier] - RANK[b.tier] || (b.avail.get(k) ?? 0) - (a.avail.get(k) ?? 0) || (a.id < b.id ? -1 : 1));
		for (const c of order) {
			if (need === 0) break;
			const take = Math.min(need, c.avail.get(k) ?? 0);
			if (take > 0) {
				allocations.push({ warehouse_id: c.id, product_id: l.product_id, size: l.size, quantity: take, tier: c.tier });
				need -= take;
			}
		}
	}
	const used = new Set(allocations.map((a) => a.warehouse_id));
	const tier = chosen.filter((c) => used.has(c.id)).reduce<Tier>((w, c) => (RANK[c.tier] > RANK[w] ? c.tier : w), "tier_1");
	return { ok: true, allocations, tier };
}
