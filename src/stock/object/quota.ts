/**
 * A shard's side of a sharded unit: it sells only what it holds, gets units by
 * grants from the warehouse's pool and gives units back, each applied once by
 * id. Its `allowance` is what the coordinator may count on it holding: grants
 * raise it, sales lower it; units that come back beyond it (a release, an
 * expiry, a cancel) are given back to the pool at once, so a shard's free stock
 * only ever grows by grants the coordinator made, and the coordinator's view of
 * it is never below the truth.
 *
 * A shard told the unit is sold out (the coordinator found the pool and every
 * shard at zero) refuses by itself, without asking, until the declaration is
 * revoked: the coordinator revokes it before any unit comes back to the pool,
 * and a grant ends it too (the pool had units). Declarations and revocations
 * carry an epoch, so one heard late never undoes a newer one.
 */
import type { Unit } from "../types";
import * as store from "./store";
import type { Tx } from "./tx";

/** The shard's levels for its coordinator. Safety stock stays at the pool: a shard's free stock is on_hand - reserved. */
export function report(sql: SqlStorage, unit: Unit): store.ShardReport {
	const l = store.getLevel(sql, unit);
	return { free: l.on_hand - l.reserved, on_hand: l.on_hand, reserved: l.reserved, granted_in: store.quota(sql, unit).granted_in, version: store.lastSeq(sql) };
}

/** A grant from the pool lands here, once per grant id. */
export function applyGrant(tx: Tx, grantId: string, unit: Unit, units: number): boolean {
	if (!store.claimOp(tx.sql, "grant_in", grantId, tx.now)) return false;
	tx.apply([{ unit, on_hand_delta: units, reserved_delta: 0, reason: "grant_in", ref: grantId, actor: "coordinator", at: tx.now }]);
	const q = store.quota(tx.sql, unit);
	store.setQuota(tx.sql, unit, q.allowance + units, q.granted_in + units);
	const s = store.soldOut(tx.sql, unit);
	if (s.declared > s.revoked) store.raiseSoldOut(tx.sql, unit, 0, s.declared);
	return true;
}

/** Whether this shard holds a live sold-out declaration for the unit. */
export function soldOut(sql: SqlStorage, unit: Unit): boolean {
	const s = store.soldOut(sql, unit);
	return s.declared > s.revoked;
}

/** The coordinator's declaration heard (a stale one, already revoked, stays dead). */
export function hearSoldOut(sql: SqlStorage, unit: Unit, epoch: number): void {
	store.raiseSoldOut(sql, unit, epoch, 0);
}

/** The coordinator revokes every declaration up to `epoch` (one not heard yet is dead on arrival). */
export function hearRevoked(sql: SqlStorage, unit: Unit, epoch: number): void {
	store.raiseSoldOut(sql, unit, 0, epoch);
}

function giveBack(tx: Tx, unit: Unit, units: number, giveId: string, note: string): store.GiveBack {
	tx.apply([{ unit, on_hand_delta: -units, reserved_delta: 0, reason: "give_back", ref: giveId, actor: "shard", note, at: tx.now }]);
	const g = { give_id: giveId, product_id: unit.product_id, size: unit.size, units };
	store.insertGiveBack(tx.sql, g, tx.now);
	return g;
}

/**
 * After every write at a shard, in its transaction: units beyond the allowance
 * came back and go to the pool; a sale lowers the allowance to what is free.
 */
export function settle(tx: Tx, unit: Unit): store.GiveBack | null {
	const { free } = report(tx.sql, unit);
	const q = store.quota(tx.sql, unit);
	if (free > q.allowance) return giveBack(tx, unit, free - q.allowance, `give-${crypto.randomUUID()}`, "returned");
	if (free < q.allowance) store.setQuota(tx.sql, unit, Math.max(0, free), q.granted_in);
	return null;
}

/** The coordinator takes back up to `units` free units, once per reclaim id (a replay answers the same give-back). */
export function reclaim(tx: Tx, reclaimId: string, unit: Unit, units: number): store.GiveBack | null {
	if (!store.claimOp(tx.sql, "reclaim", reclaimId, tx.now)) return store.getGiveBack(tx.sql, reclaimId) ?? null;
	settle(tx, unit);
	const n = Math.min(units, report(tx.sql, unit).free);
	if (n <= 0) return null;
	const g = giveBack(tx, unit, n, reclaimId, "reclaimed");
	const q = store.quota(tx.sql, unit);
	store.setQuota(tx.sql, unit, Math.max(0, q.allowance - n), q.granted_in);
	return g;
}
