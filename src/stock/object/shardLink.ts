/**
 * How a Warehouse object talks to the other objects of its sharded units: at
 * a warehouse, answering a shard's ask (grant, or reclaim from other shards
 * and decide again), gathering every shard's free units, and selling a
 * sharded unit from the pool only after its shards could not cover the write;
 * at a shard, asking the pool before a write is refused for want of units.
 * Both ends resend what the other may not have (grants, give-backs) until it
 * is known applied. A unit's sold-out declaration is revoked at the shards
 * told of it before units come back to its pool. The writes themselves are
 * ./pool.ts and ./quota.ts.
 */
import { log } from "../../shared/log";
import { DEFAULT_ESCROW, demandAt, observeDemand, type Demand } from "../escrow";
import { shardName, type ObjectRole } from "../shardNames";
import { unitKey, type Shortage, type Unit } from "../types";
import type { WarehouseObject } from "./Warehouse";
import * as pool from "./pool";
import * as quota from "./quota";
import * as store from "./store";
import type { Tx } from "./tx";

/** Rounds a write asks or gathers before giving up (each round a grant, a retry or a gathering). */
const ASK_ROUNDS = 8;
/** Rounds a coordinator reclaims from other shards while answering one ask. */
const RECLAIM_ROUNDS = 16;
/** A grant or give-back not known delivered is sent again after this long (the alarm). */
export const DELIVERY_RETRY_MS = 2_000;

/** A coordinator's answer to a shard that lacks units (`sold_out`: the epoch of the unit's sold-out declaration). */
export type AskAnswer = { kind: "grant"; grants: pool.GrantNote[] } | { kind: "retry" } | { kind: "refuse"; sold_out?: number };

export type ShardRole = Extract<ObjectRole, { kind: "shard" }>;

/** What the link needs of its object. */
export interface LinkHost {
	readonly sql: SqlStorage;
	readonly role: ObjectRole;
	now(): number;
	/** One write through the object's `mutate` (transaction, alarm, events). */
	mutate<T>(kind: string, write: (tx: Tx) => T): Promise<T>;
	/** The same, for a write that may bring back units of `units` (./shardLink.ts returningUnits first). */
	returning<T>(kind: string, units: readonly Unit[], write: (tx: Tx) => T): Promise<T>;
	/** A bookkeeping write outside `mutate` (no stock moves). */
	transactionSync<T>(fn: () => T): T;
	armBy(at: number): Promise<void>;
	/** Another Warehouse object by name. */
	object(name: string): DurableObjectStub<WarehouseObject>;
}

/** The units a write was short of, or null when it was not refused for want of stock. */
function shortagesOf(result: { ok: boolean }): Shortage[] | null {
	const r = result as { ok: boolean; reason?: string; shortages?: Shortage[] };
	return !r.ok && r.reason === "insufficient_stock" && r.shortages && r.shortages.length > 0 ? r.shortages : null;
}

export class ShardLink {
	/** At a shard: the ask in flight, if any (one at a time: requests short meanwhile wait for it, then try again). */
	private asking: Promise<unknown> | null = null;
	/** At a shard: units that requests short right now want (what a grant should cover). */
	private wanted = 0;
	/** At a shard: units asked a second here, recently (a grant covers one horizon of it). In memory: a restart starts from none. */
	private demand: Demand | null = null;
	/** At the warehouse: per unit key, writes running that may bring its units back to its pool; no sold-out declaration of it is made meanwhile. */
	private readonly returning = new Map<string, number>();

	constructor(private readonly host: LinkHost) {}

	private get warehouseId(): string {
		return this.host.role.warehouseId;
	}

	/**
	 * At the warehouse: a write short of a sharded unit's units in its pool
	 * gathers the free units of the unit's shards and runs again; it is refused
	 * only when, at one instant, the pool and every shard together could not cover it.
	 */
	async gathered<R extends { ok: boolean }>(kind: string, write: (tx: Tx) => R): Promise<R> {
		for (let round = 0; ; round++) {
			const result = await this.host.mutate(kind, write);
			const shortages = shortagesOf(result);
			if (!shortages) return result;
			const short = shortages.map((s) => ({ s, total: this.freeEverywhere(s) }));
			if (short.some(({ s, total }) => total === null || total < s.requested)) return result;
			if (round >= ASK_ROUNDS) throw new Error(`${kind}: the pool could not gather its shards' units`);
			for (const { s } of short) await this.gather(s);
		}
	}

	/** A sharded unit's free stock at most, pool and shards together (read at one instant); null for a unit that is not sharded. */
	private freeEverywhere(unit: Unit): number | null {
		const c = store.shardConfig(this.host.sql, unit);
		if (!c || pool.width(c) <= 1) return null;
		return store.getLevel(this.host.sql, unit).available + pool.upperBounds(this.host.sql, unit, pool.width(c)).reduce((a, b) => a + b, 0);
	}

	/**
	 * At a shard: a write short of units (a reserve, a late commit) asks the
	 * coordinator, which grants, reclaims from other shards, or refuses only when
	 * the unit's free stock everywhere is below the request. The grant is applied
	 * in the same transaction as the write that needed it, so no other buyer
	 * here can take it first. One ask at a time per shard: a grant is sized for
	 * the shard's demand, so requests short while an ask is out wait for it and
	 * try again (a crowd arriving at a dry shard costs the pool one ask, not one
	 * each); only a request's own ask can refuse it.
	 */
	async granted<R extends { ok: boolean }>(role: ShardRole, kind: string, write: (tx: Tx) => R, units = 0): Promise<R> {
		if (units > 0) this.demand = observeDemand(this.demand, units, this.host.now(), DEFAULT_ESCROW);
		let counted = 0;
		try {
			return await this.grantedLoop(role, kind, write, (units) => {
				this.wanted += units - counted;
				counted = units;
			});
		} finally {
			this.wanted -= counted;
		}
	}

	private async grantedLoop<R extends { ok: boolean }>(role: ShardRole, kind: string, write: (tx: Tx) => R, want: (units: number) => void): Promise<R> {
		let grants: pool.GrantNote[] = [];
		for (let asked = 0; ; ) {
			const g = grants;
			const result = await this.host.mutate(kind, (tx) => {
				for (const { grant_id, units } of g) quota.applyGrant(tx, grant_id, role.unit, units);
				return write(tx);
			});
			grants = [];
			const shortages = shortagesOf(result);
			if (!shortages) return result;
			want(shortages[0]!.requested);
			if (this.asking) {
				await this.asking.catch(() => undefined);
				continue;
			}
			// Told the unit is sold out (and not told otherwise since): a refusal here is true, no ask needed.
			if (quota.soldOut(this.host.sql, role.unit)) return result;
			if (asked++ >= ASK_ROUNDS) throw new Error(`${kind}: the shard could not settle with its coordinator`);
			const rate = demandAt(this.demand, this.host.now(), DEFAULT_ESCROW);
			const pending = this.host.object(role.warehouseId).ask(role.shard, role.unit, shortages[0]!.requested, quota.report(this.host.sql, role.unit), this.wanted, rate);
			this.asking = pending;
			let answer: AskAnswer;
			try {
				answer = await pending;
			} finally {
				if (this.asking === pending) this.asking = null;
			}
			if (answer.kind === "refuse") {
				const epoch = answer.sold_out;
				if (epoch !== undefined) this.host.transactionSync(() => quota.hearSoldOut(this.host.sql, role.unit, epoch));
				return result;
			}
			if (answer.kind === "grant") grants = answer.grants;
		}
	}

	/** At a shard: the coordinator revokes the unit's sold-out declarations up to `epoch`. */
	revoke(role: ShardRole, epoch: number): void {
		this.host.transactionSync(() => quota.hearRevoked(this.host.sql, role.unit, epoch));
	}

	/**
	 * At the warehouse: runs a write that may bring back units of `units` (a
	 * release, an expiry, a restock, a level set, a give-back...). Each of those
	 * units declared sold out has its declaration revoked at every shard told of
	 * it first, so no shard refuses by itself once the units are there; no new
	 * declaration of them is made until the write is done. Other units'
	 * declarations are left alone: the write cannot bring them back. `write` is
	 * the transaction alone (synchronous), so the guard spans the revocations
	 * and the write, not what is sent after it.
	 */
	async returningUnits<T>(units: readonly Unit[], write: () => T): Promise<T> {
		const keys = new Map(units.map((u) => [unitKey(u), u]));
		for (const k of keys.keys()) this.returning.set(k, (this.returning.get(k) ?? 0) + 1);
		try {
			for (const d of pool.declarationsOf(this.host.sql, [...keys.values()])) {
				await Promise.all(d.told.map((k) => this.host.object(shardName(this.warehouseId, d.unit, k)).revokeSoldOut(d.unit, d.epoch)));
				this.host.transactionSync(() => pool.revoked(this.host.sql, d.unit, d.epoch));
			}
			return write();
		} finally {
			for (const k of keys.keys()) {
				const n = this.returning.get(k)! - 1;
				if (n === 0) this.returning.delete(k);
				else this.returning.set(k, n);
			}
		}
	}

	/** At the warehouse: answers a shard that lacks units for a request of `quantity` (./pool.ts decide, reclaiming as it says). */
	async ask(shard: number, unit: Unit, quantity: number, report: store.ShardReport, wanted: number, ratePerS: number): Promise<AskAnswer> {
		for (let round = 0; round < RECLAIM_ROUNDS; round++) {
			const step = await this.host.mutate("ask", (tx) => pool.decide(tx, unit, shard, quantity, report, { wanted, ratePerS, mayDeclare: !this.returning.has(unitKey(unit)) }));
			if (step.kind === "grant") await this.host.armBy(this.host.now() + DELIVERY_RETRY_MS);
			if (step.kind !== "reclaim") return step;
			await this.reclaimFrom(unit, step.from, step.reclaim_id, step.units);
		}
		return { kind: "retry" };
	}

	/** At the warehouse: takes back up to `units` free units of the unit from one shard, applying what it gave (and any give-back it had pending). */
	private async reclaimFrom(unit: Unit, from: number, reclaimId: string, units: number): Promise<void> {
		const answer = await this.host.object(shardName(this.warehouseId, unit, from)).reclaim(reclaimId, unit, units);
		await this.host.returning("giveIn", [unit], (tx) =>
			pool.hearing(tx, unit, () => {
				for (const g of answer.gives) pool.applyGiveBack(tx, from, g);
				pool.recordReport(tx, unit, from, answer.report);
			}),
		);
	}

	/** At the warehouse: give-backs a shard delivered join the pool once each, with the shard's levels when it sent them. */
	async receive(shard: number, gives: store.GiveBack[], report: store.ShardReport | undefined): Promise<string[]> {
		await this.host.returning("giveIn", gives, (tx) => {
			if (gives.length === 0) return;
			pool.hearing(tx, gives[0]!, () => {
				for (const g of gives) pool.applyGiveBack(tx, shard, g);
				if (report) pool.recordReport(tx, gives[0]!, shard, report);
			});
		});
		return gives.map((g) => g.give_id);
	}

	/** At the warehouse: every shard of the unit gives its free units back to the pool. */
	async gather(unit: Unit): Promise<void> {
		const slots = pool.width(store.shardConfig(this.host.sql, unit));
		if (slots <= 1) return;
		const id = crypto.randomUUID();
		await Promise.all(Array.from({ length: slots }, (_, k) => this.reclaimFrom(unit, k, `gather-${id}-${k}`, Number.MAX_SAFE_INTEGER)));
	}

	/** At the warehouse: the reconciler's sweep reaches its sharded units' shards. */
	async resolveShards(now: number): Promise<{ committed: number; expired: number }> {
		const total = { committed: 0, expired: 0 };
		for (const c of store.shardConfigs(this.host.sql)) {
			const slots = pool.width(c);
			if (slots <= 1) continue;
			const done = await Promise.all(Array.from({ length: slots }, (_, k) => this.host.object(shardName(this.warehouseId, c, k)).resolveDue(now)));
			for (const d of done) {
				total.committed += d.committed;
				total.expired += d.expired;
			}
		}
		return total;
	}

	/** Grants not known applied (at a warehouse) and give-backs not known received (at a shard), sent again. */
	async deliver(): Promise<void> {
		const { role, sql } = this.host;
		try {
			if (role.kind === "shard") {
				const gives = store.pendingGiveBacks(sql, 100);
				if (gives.length === 0) return;
				// With the shard's levels after them, so the pool's bound on the shard drops as its pool rises.
				const { applied } = await this.host.object(role.warehouseId).receiveGiveBacks(role.shard, gives, quota.report(sql, role.unit));
				this.host.transactionSync(() => store.markGiveBacksDelivered(sql, applied));
				return;
			}
			for (const g of store.pendingGrants(sql, this.host.now() - DELIVERY_RETRY_MS, 100)) {
				await this.host.object(shardName(this.warehouseId, g, g.shard)).receiveGrant(g.grant_id, { product_id: g.product_id, size: g.size }, g.units);
				this.host.transactionSync(() => store.markGrantDelivered(sql, g.grant_id));
			}
		} catch (err) {
			log.warn("[warehouse]", "delivery_deferred", { error: String(err), retry_in_ms: DELIVERY_RETRY_MS });
		}
	}

	/** When the alarm must next wake: the earliest open hold's expiry, or sooner for a delivery to retry. */
	nextWake(now: number): number | null {
		const expiry = store.nextExpiry(this.host.sql);
		if (!store.hasPendingDeliveries(this.host.sql)) return expiry;
		const retry = now + DELIVERY_RETRY_MS;
		return expiry === null ? retry : Math.min(expiry, retry);
	}
}
