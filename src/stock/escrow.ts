/**
 * The escrow policy of a unit split over S shard objects, pure (plain data in,
 * a decision out, `now` as an argument). A coordinator keeps the free pool and
 * grants quota to shards; each shard sells only what it holds, so the sum can
 * never be oversold. Holds never move; only free stock does.
 *
 * - A shard sells from its own free stock. Short for a request, it asks the
 *   coordinator before answering; it refuses by itself only while it holds the
 *   coordinator's sold-out declaration.
 * - A shard asks ahead when its free stock falls to the low-water mark, for a
 *   grant sized to its recent demand; idle quota goes back to the pool.
 * - Units that come back to a shard (a release, an expiry, a cancel) go back to
 *   the pool at once, so the coordinator's view of a shard is never below the
 *   truth: a shard's free stock only grows through grants the coordinator made.
 * - The coordinator refuses an ask only when the pool, the asker and every
 *   other shard's last report cannot cover it (so the refusal is exact at that
 *   instant), and declares the unit sold out only when all of them are zero.
 *   Units coming back while it is declared wait until every shard has dropped
 *   the declaration (revoke first), then join the pool.
 */

export interface EscrowConfig {
	/** Shards of the unit (1 to 64). */
	shards: number;
	/** A shard asks ahead when its free stock falls to this many units. */
	lowWater: number;
	/** A grant covers this long of the shard's recent demand. */
	horizonMs: number;
	minGrant: number;
	maxGrant: number;
	/** Quota unsold this long goes back to the pool. */
	idleMs: number;
}

export const DEFAULT_ESCROW: Omit<EscrowConfig, "shards"> = { lowWater: 4, horizonMs: 1000, minGrant: 8, maxGrant: 512, idleMs: 10_000 };

/** What a shard knows of itself. */
export interface ShardState {
	free: number;
	/** Units sold per second at this shard, recently (the shard's own estimate). */
	ratePerS: number;
	/** When it last sold (ms), null before its first sale. */
	lastSaleAt: number | null;
	/** An ask of this shard is in flight (one at a time). */
	asking: boolean;
	/** It holds the coordinator's sold-out declaration. */
	soldOut: boolean;
	/** The coordinator's last answer had nothing to grant: no asks ahead until a grant arrives. */
	poolDry: boolean;
}

export type RequestDecision = { kind: "reserve" } | { kind: "ask"; need: number } | { kind: "refuse" };

export type UpkeepDecision = { kind: "none" } | { kind: "ask"; want: number } | { kind: "give_back"; units: number };

/** The coordinator's view: the pool and each shard's last reported free stock. */
export interface PoolState {
	pool: number;
	/** Last free stock each shard reported, indexed by shard. */
	reported: readonly number[];
	/** Units given back while sold out, waiting for the revocation to finish. */
	returning: number;
	soldOut: boolean;
}

export interface Ask {
	shard: number;
	/** The asker's free stock now. */
	free: number;
	/** Units it lacks for the request it holds (0 for an ask ahead). */
	need: number;
	/** The grant it would like (grantSize of its demand). */
	want: number;
}

export type AskDecision =
	| { kind: "grant"; units: number }
	/** Pool empty but another shard reported stock: take some back from it, then decide again. */
	| { kind: "reclaim"; from: number; units: number }
	/** Units are on their way back to the pool: decide again when they land. */
	| { kind: "wait" }
	/** Nothing to grant for an ask ahead. */
	| { kind: "none" }
	/** The request cannot be covered; `soldOut` when every shard and the pool are at zero. */
	| { kind: "refuse"; soldOut: boolean };

export type GiveBackDecision = { kind: "pool" } | { kind: "revoke_first" };

export function grantSize(ratePerS: number, cfg: EscrowConfig): number {
	const wanted = Math.ceil((Math.max(0, ratePerS) * cfg.horizonMs) / 1000);
	return Math.min(cfg.maxGrant, Math.max(cfg.minGrant, wanted));
}

/** A shard's recent demand: units asked per second, decaying with the grant horizon. */
export interface Demand {
	ratePerS: number;
	/** When it was last observed (ms). */
	at: number;
}

/**
 * Demand after `units` more were asked at `now`: an exponentially decaying
 * average with the grant horizon as its time constant, so a steady stream of
 * r units a second reads r, and a shard gone quiet decays towards zero.
 */
export function observeDemand(d: Demand | null, units: number, now: number, cfg: Pick<EscrowConfig, "horizonMs">): Demand {
	const elapsed = d ? Math.max(0, now - d.at) : 0;
	const decayed = d ? d.ratePerS * Math.exp(-elapsed / cfg.horizonMs) : 0;
	return { ratePerS: decayed + (Math.max(0, units) * 1000) / cfg.horizonMs, at: d ? Math.max(d.at, now) : now };
}

/** Demand as it reads at `now`, with nothing asked since it was observed. */
export function demandAt(d: Demand | null, now: number, cfg: Pick<EscrowConfig, "horizonMs">): number {
	return d ? d.ratePerS * Math.exp(-Math.max(0, now - d.at) / cfg.horizonMs) : 0;
}

/** Stock at the start: each shard gets a slice (half the total over the shards at most, capped at maxGrant), the rest is the pool. */
export function initialSplit(total: number, cfg: EscrowConfig): { shards: number[]; pool: number } {
	const each = Math.min(cfg.maxGrant, Math.floor(total / (2 * cfg.shards)));
	return { shards: Array.from({ length: cfg.shards }, () => each), pool: total - each * cfg.shards };
}

/** A reserve of `quantity` units arriving at a shard. */
export function onRequest(shard: Pick<ShardState, "free" | "soldOut">, quantity: number): RequestDecision {
	if (shard.free >= quantity) return { kind: "reserve" };
	if (shard.soldOut) return { kind: "refuse" };
	return { kind: "ask", need: quantity - shard.free };
}

/** After each sale and on the shard's alarm: ask ahead, give idle quota back, or nothing. */
export function upkeep(shard: ShardState, cfg: EscrowConfig, now: number): UpkeepDecision {
	if (shard.asking) return { kind: "none" };
	if (shard.free > 0 && shard.lastSaleAt !== null && now - shard.lastSaleAt >= cfg.idleMs) return { kind: "give_back", units: shard.free };
	if (!shard.soldOut && !shard.poolDry && shard.free <= cfg.lowWater) return { kind: "ask", want: grantSize(shard.ratePerS, cfg) };
	return { kind: "none" };
}

/** Units back at a shard (a release, an expired or cancelled hold): they go to the pool. */
export function afterReturn(units: number): UpkeepDecision {
	return units > 0 ? { kind: "give_back", units } : { kind: "none" };
}

/** The coordinator's answer to an ask (the ask's `free` is the asker's report). */
export function decideAsk(state: PoolState, ask: Ask, cfg: EscrowConfig): AskDecision {
	if (state.pool > 0) {
		const fair = Math.ceil(state.pool / cfg.shards);
		return { kind: "grant", units: Math.min(state.pool, Math.max(ask.need, Math.min(ask.want, fair))) };
	}
	if (ask.need === 0) return { kind: "none" };
	if (state.returning > 0) return { kind: "wait" };
	let from = -1;
	let most = 0;
	let elsewhere = 0;
	for (let i = 0; i < state.reported.length; i++) {
		if (i === ask.shard) continue;
		const r = state.reported[i]!;
		elsewhere += r;
		if (r > most) {
			most = r;
			from = i;
		}
	}
	if (elsewhere >= ask.need) {
		// Take what this ask lacks, or half of what the other shard reported if more: it was selling too.
		return { kind: "reclaim", from, units: Math.min(most, Math.max(ask.need, Math.ceil(most / 2))) };
	}
	return { kind: "refuse", soldOut: ask.free === 0 && elsewhere === 0 };
}

/** Units given back to the coordinator: to the pool, or held until the sold-out declaration is revoked everywhere. */
export function onGiveBack(state: Pick<PoolState, "soldOut">): GiveBackDecision {
	return state.soldOut ? { kind: "revoke_first" } : { kind: "pool" };
}
