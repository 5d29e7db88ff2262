/**
 * The warehouse object's side of a sharded unit: its stock row is the unit's
 * pool; it grants units to shards that ask and takes back what they give, each
 * applied once by id (grants wait in `grants` until known applied, retried by
 * the alarm). Its decisions come from the escrow policy (../escrow.ts) over
 * each shard's upper bound: its last report plus grants it has not yet seen
 * applied. A shard's free stock only grows by grants (./quota.ts), so that
 * bound is never below the truth, and a refusal is exact: at the instant it is
 * decided, the pool and every shard together hold less than was asked.
 */
import { DEFAULT_ESCROW, decideAsk, grantSize, type EscrowConfig } from "../escrow";
import { MAX_SHARDS } from "../shardNames";
import type { BelowReservedFailure, Level, Unit } from "../types";
import { unitKey } from "../types";
import type { MoveBy } from "./moves";
import * as store from "./store";
import type { Tx } from "./tx";

export interface GrantNote {
	grant_id: string;
	units: number;
}

export type AskStep =
	/** Grants for the asker to apply (idempotent by id): a new one, or those on their way to it already. */
	| { kind: "grant"; grants: GrantNote[] }
	/** Take units back from another shard first, then decide again. */
	| { kind: "reclaim"; from: number; units: number; reclaim_id: string }
	/** Decide again (units are on their way back to the pool). */
	| { kind: "retry" }
	/** `sold_out`: the epoch of the unit's sold-out declaration, for the asker to refuse by itself until it is revoked. */
	| { kind: "refuse"; sold_out?: number };

/** What a shard's ask carries besides its report. */
export interface AskDemand {
	/** Units every request short at the shard wants (a grant covers them if the pool's fair share allows). */
	wanted: number;
	/** Units asked a second at the shard, recently (../escrow.ts observeDemand): a grant covers one horizon of it. */
	ratePerS: number;
	/** False while units are coming back to the pool: no declaration is made or handed out then. */
	mayDeclare: boolean;
}

/** How many shard slots a unit's books span: the widest count it has had. */
export function width(c: store.ShardConfig | undefined): number {
	return c ? Math.max(1, ...c.generations) : 1;
}

function escrowConfig(c: store.ShardConfig | undefined): EscrowConfig {
	return { ...DEFAULT_ESCROW, shards: Math.max(1, c?.shards ?? 1) };
}

/** Each shard's free stock, at most: its report plus the grants it had not applied when it reported. */
export function upperBounds(sql: SqlStorage, unit: Unit, slots: number): number[] {
	return store.shardBooks(sql, unit, slots).map((b) => Math.max(0, b.free + b.granted_out - b.granted_in));
}

/** Records what a shard reported; grants it has applied in full are delivered. */
export function recordReport(tx: Tx, unit: Unit, shard: number, r: store.ShardReport): void {
	store.setReport(tx.sql, unit, shard, r);
	const book = store.shardBooks(tx.sql, unit, shard + 1)[shard]!;
	if (book.granted_in >= book.granted_out) store.markGrantsDelivered(tx.sql, unit, shard);
}

/**
 * One step of answering a shard that lacks units for a request of `quantity`.
 * A refusal when the pool and every shard (the asker too) are at zero declares
 * the unit sold out, or hands out the declaration already made: the asker then
 * refuses by itself until it is revoked (./shardLink.ts revokes it at every
 * shard told before units come back to the pool).
 */
export function decide(tx: Tx, unit: Unit, shard: number, quantity: number, r: store.ShardReport, demand: AskDemand): AskStep {
	const c = store.shardConfig(tx.sql, unit);
	hearing(tx, unit, () => recordReport(tx, unit, shard, r));
	const upper = upperBounds(tx.sql, unit, Math.max(width(c), shard + 1));
	const cfg = escrowConfig(c);
	const free = upper[shard]!;
	const need = quantity - free;
	// Grants on their way to the asker cover it: it gets them in this answer too (an answer lost is no wait for the alarm).
	if (need <= 0) return { kind: "grant", grants: store.pendingGrantsTo(tx.sql, unit, shard) };
	const pool = store.getLevel(tx.sql, unit).available;
	const want = Math.max(need, grantSize(demand.ratePerS, cfg), demand.wanted - free);
	const d = decideAsk({ pool, reported: upper, returning: 0, soldOut: false }, { shard, free, need, want }, cfg);
	switch (d.kind) {
		case "grant": {
			const grantId = `grant-${crypto.randomUUID()}`;
			tx.apply([{ unit, on_hand_delta: -d.units, reserved_delta: 0, reason: "grant_out", ref: grantId, actor: "coordinator", note: `to shard ${shard}`, at: tx.now }]);
			store.insertGrant(tx.sql, grantId, unit, shard, d.units, tx.now);
			return { kind: "grant", grants: [{ grant_id: grantId, units: d.units }] };
		}
		case "reclaim":
			return { kind: "reclaim", from: d.from, units: d.units, reclaim_id: `reclaim-${crypto.randomUUID()}` };
		case "wait":
			return { kind: "retry" };
		case "none":
			return { kind: "refuse" };
		case "refuse": {
			const epoch = d.soldOut && demand.mayDeclare ? declare(tx.sql, unit, shard) : null;
			return epoch === null ? { kind: "refuse" } : { kind: "refuse", sold_out: epoch };
		}
	}
}

/** The unit's live declaration (a new one if none), noting the shard told of it; its epoch. */
function declare(sql: SqlStorage, unit: Unit, shard: number): number {
	const s = store.soldOut(sql, unit);
	const epoch = s.declared > s.revoked ? s.declared : Math.max(s.declared, s.revoked) + 1;
	store.raiseSoldOut(sql, unit, epoch, 0);
	store.tellSoldOut(sql, unit, shard);
	return epoch;
}

/** Those of `units` declared sold out here, each with the shards told and the epoch to revoke. */
export function declarationsOf(sql: SqlStorage, units: readonly Unit[]): Array<{ unit: Unit; epoch: number; told: number[] }> {
	return units.flatMap((unit) => {
		const s = store.soldOut(sql, unit);
		return s.declared > s.revoked ? [{ unit: { product_id: unit.product_id, size: unit.size }, epoch: s.declared, told: store.toldSoldOut(sql, unit) }] : [];
	});
}

/** Every shard told of the declaration has dropped it: it is revoked here too. */
export function revoked(sql: SqlStorage, unit: Unit, epoch: number): void {
	store.raiseSoldOut(sql, unit, 0, epoch);
	store.forgetToldSoldOut(sql, unit);
}

/** The unit's on hand as the pool knows it: its own row plus what the shards hold (last reports and grants on their way). */
export function totalOnHand(sql: SqlStorage, unit: Unit): number {
	return store.getLevel(sql, unit).on_hand + atShards(sql, unit).on_hand;
}

/**
 * Runs one step of hearing from a shard (its report, give-backs landing) and
 * queues stock.low if the unit's total fell across its threshold over the
 * whole step: sales at a shard reach the total when the shard reports them.
 */
export function hearing<T>(tx: Tx, unit: Unit, step: () => T): T {
	const before = totalOnHand(tx.sql, unit);
	const result = step();
	const after = totalOnHand(tx.sql, unit);
	if (after < before) tx.totalFell(unit, before, after);
	return result;
}

/** Units a shard gave back join the pool, once per give-back id. */
export function applyGiveBack(tx: Tx, shard: number, g: store.GiveBack): boolean {
	if (!store.claimOp(tx.sql, "give_in", g.give_id, tx.now)) return false;
	tx.apply([{ unit: g, on_hand_delta: g.units, reserved_delta: 0, reason: "give_in", ref: g.give_id, actor: "coordinator", note: `from shard ${shard}`, at: tx.now }]);
	return true;
}

/** The unit's shard count from now on; every count it has had is remembered (holds may be open at them). */
export function configure(tx: Tx, unit: Unit, shards: number): store.ShardConfig {
	if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new TypeError(`configure: shards must be 1..${MAX_SHARDS}`);
	const c = store.shardConfig(tx.sql, unit);
	const generations = c ? c.generations : [1];
	const next = { product_id: unit.product_id, size: unit.size, shards, generations: generations.includes(shards) ? generations : [...generations, shards] };
	store.setShardConfig(tx.sql, next);
	tx.touch(unit);
	return next;
}

/** Units at the shards, as far as the pool knows: their last reports plus grants on their way. */
export function atShards(sql: SqlStorage, unit: Unit): { on_hand: number; reserved: number; free: number } {
	const c = store.shardConfig(sql, unit);
	const books = store.shardBooks(sql, unit, width(c));
	return books.reduce(
		(t, b) => ({ on_hand: t.on_hand + b.on_hand + Math.max(0, b.granted_out - b.granted_in), reserved: t.reserved + b.reserved, free: t.free + Math.max(0, b.free + b.granted_out - b.granted_in) }),
		{ on_hand: 0, reserved: 0, free: 0 },
	);
}

export interface ShardedItem extends Unit {
	on_hand: number;
	shards: number;
	safety_stock?: number;
	low_stock_threshold?: number | null;
}

/**
 * Sets a sharded unit's total on hand (the pool's row takes the difference with
 * what the shards hold, after they gave their free units back), its safety
 * stock and threshold (both kept at the pool) and its shard count; once per ref.
 */
export function setSharded(tx: Tx, ref: string, item: ShardedItem, by: MoveBy): { ok: true; replayed: boolean } | BelowReservedFailure {
	if (store.applied(tx.sql, "set", ref)) return { ok: true, replayed: true };
	const pool = store.getLevel(tx.sql, item);
	const shards = atShards(tx.sql, item);
	const target = item.on_hand - shards.on_hand;
	if (target < pool.reserved) {
		return { ok: false, reason: "below_reserved", conflicts: [{ product_id: item.product_id, size: item.size, on_hand: item.on_hand, reserved: pool.reserved + shards.reserved }] };
	}
	if (item.low_stock_threshold !== undefined) store.setThreshold(tx.sql, item, item.low_stock_threshold);
	if (item.safety_stock !== undefined) store.setSafetyStock(tx.sql, item, item.safety_stock);
	tx.apply([{ unit: item, on_hand_delta: target - pool.on_hand, reserved_delta: 0, reason: "set", ref, actor: by.actor, note: by.note, at: tx.now }]);
	configure(tx, item, item.shards);
	store.claimOp(tx.sql, "set", ref, tx.now);
	return { ok: true, replayed: false };
}

/** A sharded unit's level as the pool sees it: the pool plus each shard at most (reads may show more than is there, never less). */
export function summedLevel(sql: SqlStorage, pool: Level): Level {
	const s = atShards(sql, pool);
	return { ...pool, on_hand: pool.on_hand + s.on_hand, reserved: pool.reserved + s.reserved, available: pool.available + s.free };
}

/** An answer's levels with each sharded unit summed over its pool and shards (as the stock view shows it). */
export function summed(sql: SqlStorage, levels: Level[]): Level[] {
	const sharded = new Set(store.shardConfigs(sql).map(unitKey));
	return sharded.size === 0 ? levels : levels.map((l) => (sharded.has(unitKey(l)) ? summedLevel(sql, l) : l));
}

export function summedIn<R extends { ok: boolean; levels?: Level[] }>(sql: SqlStorage, r: R): R {
	return r.ok && r.levels ? { ...r, levels: summed(sql, r.levels) } : r;
}

/** Levels as reads show them: a sharded unit's is its pool plus what its shards hold at most, with its shard counts (how the gateway routes it). */
export function withShards(sql: SqlStorage, levels: Level[]): Level[] {
	const configs = new Map(store.shardConfigs(sql).map((c) => [unitKey(c), c]));
	if (configs.size === 0) return levels;
	return levels.map((l) => {
		const c = configs.get(unitKey(l));
		return c ? { ...summedLevel(sql, l), shards: c.shards, shard_generations: c.generations } : l;
	});
}
