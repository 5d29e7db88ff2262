/**
 * The Warehouse Durable Object: one per warehouse id, the only writer of that
 * warehouse's stock. A thin RPC shell: each method checks its arguments and
 * runs one module's write through `mutate` (one synchronous `transactionSync`,
 * so nothing is awaited between a check and the write that depends on it,
 * which is what serializes concurrent buyers; then the alarm and the events).
 * Every write is idempotent by its reference.
 *
 *   ./holds.ts         the hold lifecycle, a pure transition
 *   ./reservations.ts  reserve, commit, release, cancel, expiry over the store
 *   ./moves.ts         set, adjust, deduct, restore, restock
 *   ./transfers.ts     a transfer's steps at either end
 *   ./store.ts         the SQL
 *   ./alarm.ts         the alarm, never later than the earliest open hold
 *   ./outbox.ts        events sent after their transaction
 *   ./pool.ts          a sharded unit's pool, at the warehouse's object
 *   ./quota.ts         a sharded unit's slice, at a shard object (the same class under a derived name)
 *   ./shardLink.ts     asks, grants, give-backs and gatherings between them
 *
 * An alarm that cannot read D1 re-arms itself with a capped backoff
 * (./backoff.ts) rather than being dropped after the platform's retries.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import { log } from "../../shared/log";
import { assertLines } from "../demand";
import type {
	AdjustReason,
	AdjustResult,
	ApplyResult,
	CancelHoldResult,
	CommitResult,
	DeductResult,
	HoldView,
	IncomingResult,
	LedgerPage,
	Level,
	Line,
	ReleaseResult,
	ReserveResult,
	SetLevelsResult,
	Snapshot,
	StockRow,
	TransferCancelResult,
	TransferInResult,
	TransferOutResult,
	Unit,
} from "../types";
import { AlarmSlot } from "./alarm";
import { audit, type Audit } from "./audit";
import { alarmRetryDelayMs } from "./backoff";
import { UnitChanges } from "./changes";
import * as moves from "./moves";
import { EventOutbox } from "./outbox";
import type { Clock, OrderLookup, WarehouseDeps } from "./ports";
import * as holds from "./reservations";
import * as store from "./store";
import * as transfers from "./transfers";
import * as pool from "./pool";
import * as quota from "./quota";
import { roleOf, type ObjectRole } from "../shardNames";
import { DELIVERY_RETRY_MS, ShardLink, type AskAnswer } from "./shardLink";
import { sumDemand } from "../demand";
import { openTx, type Tx, type TxOutcome } from "./tx";
import { WriteCounter, type WriteCounts } from "./writes";
import { countRequests, requestsOf } from "./requests";

export interface OpOptions {
	/** Who asked: a user id, "checkout", "alarm", "reconciler"... recorded in the ledger. */
	actor?: string;
	note?: string;
}

const RESOLVE_BATCH = 100;

/**
 * Writes that may bring units back to a pool (raise its free stock): at the
 * warehouse's object they go through `returning`, naming the units they may
 * bring back, whose sold-out declarations are revoked first (./shardLink.ts
 * returningUnits). The others only take units, or move none.
 */
const RETURNS_UNITS: ReadonlySet<string> = new Set(["release", "cancelHold", "restock", "restore", "setLevels", "adjust", "transferCancel", "receiveTransfer", "giveIn"]);


export class WarehouseObject extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private readonly warehouseId: string;
	/** A warehouse (its stock, and its sharded units' pools) or one shard of a unit (../shardNames.ts). */
	private readonly role: ObjectRole;
	private orders: OrderLookup;
	private clock: Clock;
	/** Events waiting in events_out to be sent (./outbox.ts). */
	private readonly outbox: EventOutbox;
	/** The hold alarm (./alarm.ts). */
	private readonly alarmSlot: AlarmSlot;
	/** Alarm runs in a row that could not resolve (D1 unreadable); sets the retry backoff. */
	private alarmFailures = 0;
	/** Its sharded units' other objects (./shardLink.ts). */
	private readonly link: ShardLink;
	/** A shard's write gave units back: deliver them after the transaction. */
	private gaveBack = false;
	/** Gathers stock.changed events (./changes.ts). */
	private readonly changes: UnitChanges;
	/** This instance's write transactions, by kind (./writes.ts). */
	private readonly writes: WriteCounter;

	constructor(ctx: DurableObjectState, env: Env, deps: WarehouseDeps) {
		super(ctx, env);
		this.orders = deps.orders;
		this.clock = deps.clock;
		this.role = roleOf(ctx.id.name ?? ctx.id.toString());
		this.warehouseId = this.role.warehouseId;
		this.writes = new WriteCounter(ctx.storage.sql);
		// Every statement goes through the counter's SQL, which is how it tells a writing transaction (./writes.ts).
		this.sql = this.writes.sql;
		this.outbox = new EventOutbox(this.sql, this.writes, () => this.env.EVENTS);
		this.alarmSlot = new AlarmSlot(ctx.storage);
		this.link = new ShardLink({
			sql: this.sql,
			role: this.role,
			now: () => this.clock.now(),
			mutate: (kind, write) => this.mutate(kind, write),
			returning: (kind, units, write) => this.returning(kind, units, write),
			transactionSync: (fn) => ctx.storage.transactionSync(fn),
			armBy: (at) => this.alarmSlot.armBy(at),
			object: (name) => this.env.WAREHOUSE.getByName(name),
		});
		this.changes = new UnitChanges(
			ctx.storage,
			this.warehouseId,
			() => this.outbox.flush(this.changes),
			this.sql,
			() => this.clock.now(),
			(unit) => pool.withShards(this.sql, [store.getLevel(this.sql, unit)])[0]!,
		);
		void ctx.blockConcurrencyWhile(async () => {
			store.migrate(this.sql);
			// A runtime killed mid-flight may have lost the alarm: re-arm for the earliest open hold.
			await this.alarmSlot.load();
			await this.alarmSlot.armAt(this.link.nextWake(this.clock.now()));
		});
	}

	/**
	 * Replaces the clock or the order port of one live instance (a restarted one
	 * has the real ones again). Static, so no RPC caller can reach it: tests call
	 * it inside the object, through runInDurableObject.
	 */
	static replaceDeps(instance: WarehouseObject, deps: Partial<WarehouseDeps>): void {
		if (deps.clock) instance.clock = deps.clock;
		if (deps.orders) instance.orders = deps.orders;
	}

	// ---- phase 1 / phase 2 of checkout -------------------------------------------------------

	async reserve(ref: string, lines: Line[], ttlMs: number, opts: OpOptions = {}): Promise<ReserveResult> {
		assertLines(lines, "reserve");
		if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError("reserve: ttlMs must be positive");
		const actor = opts.actor ?? "checkout";
		if (this.role.kind === "shard") {
			const unit = this.role.unit;
			const demand = sumDemand(lines);
			if (demand.length !== 1 || demand[0]!.product_id !== unit.product_id || demand[0]!.size !== unit.size) throw new TypeError("reserve: a shard holds one unit only");
			return this.link.granted(this.role, "reserve", (tx) => holds.reserve(tx, ref, demand, ttlMs, actor), demand[0]!.quantity);
		}
		return this.link.gathered("reserve", (tx) => holds.reserve(tx, ref, lines, ttlMs, actor));
	}

	async commit(ref: string, opts: OpOptions = {}): Promise<CommitResult> {
		const write = (tx: Tx) => holds.commit(tx, ref, opts.actor ?? "checkout");
		// A late commit takes its units again: at a shard it may need a grant, at the warehouse its shards' units.
		return this.role.kind === "shard" ? this.link.granted(this.role, "commit", write) : this.link.gathered("commit", write);
	}

	/**
	 * Phase 2 for many decided orders at once (the gateway gathers them after its
	 * answers): one transaction, each hold committed exactly as `commit` would.
	 */
	async commitMany(refs: string[], opts: OpOptions = {}): Promise<Record<string, CommitResult>> {
		if (!Array.isArray(refs) || refs.some((r) => typeof r !== "string")) throw new TypeError("commitMany: refs must be strings");
		const results = await this.mutate("commitMany", (tx) => holds.commitMany(tx, [...new Set(refs)], opts.actor ?? "checkout"));
		// A late commit short of units here takes them as `commit` does: a grant at a shard, the shards' free units at the warehouse.
		for (const [ref, r] of Object.entries(results)) if (!r.ok && r.reason === "insufficient_stock") results[ref] = await this.commit(ref, opts);
		return results;
	}

	async release(ref: string, opts: OpOptions = {}): Promise<ReleaseResult> {
		return this.returning("release", this.heldUnits(ref), (tx) => holds.release(tx, ref, opts.actor ?? "checkout"));
	}

	/** Undoes whatever an order holds here, atomically and once (./reservations.ts cancel). */
	async cancelHold(ref: string, opts: OpOptions = {}): Promise<CancelHoldResult> {
		return this.returning("cancelHold", this.heldUnits(ref), (tx) => holds.cancel(tx, ref, opts.actor ?? "checkout", opts.note));
	}

	// ---- order-driven and admin stock changes ----------------------------------------------

	/** Puts back the units of a cancelled order, once per reference. */
	async restock(ref: string, lines: Line[], opts: OpOptions = {}): Promise<ApplyResult> {
		assertLines(lines, "restock");
		return this.returning("restock", lines, (tx) => moves.addOnce(tx, "restock", ref, lines, by(opts)));
	}

	async restore(ref: string, lines: Line[], opts: OpOptions = {}): Promise<ApplyResult> {
		assertLines(lines, "restore");
		return pool.summedIn(this.sql, await this.returning("restore", lines, (tx) => moves.addOnce(tx, "restore", ref, lines, by(opts))));
	}

	async deduct(ref: string, lines: Line[], opts: OpOptions = {}): Promise<DeductResult> {
		assertLines(lines, "deduct");
		return pool.summedIn(this.sql, await this.link.gathered("deduct", (tx) => moves.deduct(tx, ref, lines, by(opts))));
	}

	/** Sets absolute on-hand levels; all-or-nothing, never below what is reserved. */
	async setLevels(ref: string, items: moves.LevelItem[], opts: OpOptions = {}): Promise<SetLevelsResult> {
		for (const i of items) {
			if (!Number.isSafeInteger(i.on_hand) || i.on_hand < 0) throw new TypeError(`setLevels: invalid on_hand ${JSON.stringify(i)}`);
			if (i.safety_stock !== undefined && (!Number.isSafeInteger(i.safety_stock) || i.safety_stock < 0)) throw new TypeError(`setLevels: invalid safety_stock ${JSON.stringify(i)}`);
		}
		return this.returning("setLevels", items, (tx) => moves.setLevels(tx, ref, items, by(opts)));
	}

	async adjust(ref: string, unit: Unit, delta: number, reason: AdjustReason, opts: OpOptions = {}): Promise<AdjustResult> {
		if (!Number.isSafeInteger(delta) || delta === 0) throw new TypeError("adjust: delta must be a non-zero integer");
		// Units taken from a sharded unit come from its pool: its shards' free units are gathered there first.
		if (delta < 0 && this.role.kind === "warehouse" && !store.applied(this.sql, "adjust", ref)) await this.link.gather(unit);
		const r = await this.returning("adjust", delta > 0 ? [unit] : [], (tx) => moves.adjust(tx, ref, unit, delta, reason, by(opts)));
		return r.ok ? { ...r, level: pool.summed(this.sql, [r.level])[0]! } : r;
	}

	// ---- transfers between warehouses (the saga's steps; the D1 record decides) ------------------

	async transferOut(transferId: string, toWarehouseId: string, lines: Line[], opts: OpOptions = {}): Promise<TransferOutResult> {
		assertLines(lines, "transferOut");
		return this.link.gathered("transferOut", (tx) => transfers.transferOut(tx, transferId, toWarehouseId, lines, by(opts).actor));
	}

	async transferCancel(transferId: string, opts: OpOptions = {}): Promise<TransferCancelResult> {
		return this.returning("transferCancel", store.ledgerLines(this.sql, transferId, "transfer_out"), (tx) => transfers.transferCancel(tx, transferId, by(opts).actor));
	}

	async expectIncoming(transferId: string, fromWarehouseId: string, lines: Line[]): Promise<IncomingResult> {
		assertLines(lines, "expectIncoming");
		return this.mutate("expectIncoming", (tx) => transfers.expectIncoming(tx, transferId, fromWarehouseId, lines));
	}

	async receiveTransfer(transferId: string, lines: Line[], opts: OpOptions = {}): Promise<TransferInResult> {
		assertLines(lines, "receiveTransfer");
		return this.returning("receiveTransfer", lines, (tx) => transfers.receiveTransfer(tx, transferId, lines, by(opts).actor));
	}

	async cancelIncoming(transferId: string): Promise<TransferInResult> {
		return this.mutate("cancelIncoming", (tx) => transfers.cancelIncoming(tx, transferId));
	}

	// ---- a unit split over shard objects (./pool.ts at the warehouse, ./quota.ts at a shard) ------------

	/**
	 * At the warehouse: a shard of `unit` lacks units for a request of
	 * `quantity`. Grants from the pool, else reclaims from the other shards and
	 * decides again; refuses only when, at that instant, the pool and every
	 * shard together hold less than `quantity`.
	 */
	async ask(shard: number, unit: Unit, quantity: number, report: store.ShardReport, wanted = quantity, ratePerS = 0): Promise<AskAnswer> {
		this.assertWarehouse("ask");
		if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new TypeError("ask: quantity must be positive");
		if (!Number.isSafeInteger(wanted) || wanted < 0) throw new TypeError("ask: wanted must be a whole number");
		if (!Number.isFinite(ratePerS) || ratePerS < 0) throw new TypeError("ask: ratePerS must be a finite rate, at least 0");
		return this.link.ask(shard, unit, quantity, report, wanted, ratePerS);
	}

	/** At a shard: the coordinator revokes the unit's sold-out declarations up to `epoch` (before units come back to its pool). */
	async revokeSoldOut(unit: Unit, epoch: number): Promise<void> {
		this.assertShard("revokeSoldOut", unit);
		if (!Number.isSafeInteger(epoch) || epoch <= 0) throw new TypeError("revokeSoldOut: epoch must be positive");
		if (this.role.kind === "shard") this.link.revoke(this.role, epoch);
	}

	/** At the warehouse: every shard of the unit gives its free units back to the pool (before a new count or level is set). */
	async gather(unit: Unit): Promise<Level> {
		this.assertWarehouse("gather");
		await this.link.gather(unit);
		return store.getLevel(this.sql, unit);
	}

	/** At the warehouse: sets a sharded unit's total on hand, safety stock, threshold and shard count (after gathering its shards' free units). */
	async setSharded(ref: string, item: pool.ShardedItem, opts: OpOptions = {}): Promise<SetLevelsResult> {
		this.assertWarehouse("setSharded");
		if (!Number.isSafeInteger(item.on_hand) || item.on_hand < 0) throw new TypeError("setSharded: invalid on_hand");
		if (store.shardConfig(this.sql, item)) await this.gather(item);
		const r = await this.returning("setLevels", [item], (tx) => pool.setSharded(tx, ref, item, by(opts)));
		return r.ok ? { ok: true, replayed: r.replayed, levels: [pool.summedLevel(this.sql, store.getLevel(this.sql, item))] } : r;
	}

	/** At the warehouse: give-backs from a shard join the pool once each; answers their ids (all known applied). */
	async receiveGiveBacks(shard: number, gives: store.GiveBack[], report?: store.ShardReport): Promise<{ applied: string[] }> {
		this.assertWarehouse("receiveGiveBacks");
		return { applied: await this.link.receive(shard, gives, report) };
	}

	/** Each sharded unit's shard count and the counts it has had. */
	async shardConfigs(): Promise<store.ShardConfig[]> {
		return store.shardConfigs(this.sql);
	}

	/** At a shard: a grant from the pool, applied once (the alarm's redelivery of one the asker already applied changes nothing). */
	async receiveGrant(grantId: string, unit: Unit, units: number): Promise<{ applied: boolean }> {
		this.assertShard("receiveGrant", unit);
		return { applied: await this.mutate("grantIn", (tx) => quota.applyGrant(tx, grantId, unit, units)) };
	}

	/** At a shard: gives back up to `units` free units, once per reclaim id; answers every give-back not yet known delivered and its levels. */
	async reclaim(reclaimId: string, unit: Unit, units: number): Promise<{ gives: store.GiveBack[]; report: store.ShardReport }> {
		this.assertShard("reclaim", unit);
		// The coordinator applies the give-backs from this answer; the alarm tells it again if the answer was lost.
		await this.alarmSlot.armBy(this.clock.now() + DELIVERY_RETRY_MS);
		return this.mutate("reclaim", (tx) => {
			quota.reclaim(tx, reclaimId, unit, units);
			return { gives: store.pendingGiveBacks(tx.sql, 100), report: quota.report(tx.sql, unit) };
		});
	}

	private assertWarehouse(method: string): void {
		if (this.role.kind !== "warehouse") throw new TypeError(`${method}: only a warehouse's own object keeps a pool`);
	}

	private assertShard(method: string, unit: Unit): void {
		if (this.role.kind !== "shard" || this.role.unit.product_id !== unit.product_id || this.role.unit.size !== unit.size) throw new TypeError(`${method}: not a shard of that unit`);
	}

	// ---- reads -------------------------------------------------------------------------------

	async availability(units: Unit[]): Promise<Level[]> {
		return pool.withShards(this.sql, store.getLevels(this.sql, units));
	}

	/** The admin view: every unit with safety stock, incoming units and low-stock threshold, plus open holds. */
	async stockView(): Promise<{ items: StockRow[]; holds: Snapshot["holds"] }> {
		return { items: store.stockRows(this.sql), holds: { held: store.countHeld(this.sql), next_expiry: store.nextExpiry(this.sql) } };
	}

	async snapshot(): Promise<Snapshot> {
		return { items: pool.withShards(this.sql, store.allLevels(this.sql)), holds: { held: store.countHeld(this.sql), next_expiry: store.nextExpiry(this.sql) } };
	}

	/**
	 * Whether to produce stock.changed events: true while an active webhook
	 * endpoint subscribes to them (src/webhooks/listeners.ts says so after each
	 * endpoint change and on every reconciler run). `changed` when it was not so.
	 */
	async listenForChanges(on: boolean): Promise<{ changed: boolean }> {
		if (typeof on !== "boolean") throw new TypeError("listenForChanges: on must be a boolean");
		// A setting, not a stock write: not counted among the write transactions.
		return { changed: this.ctx.storage.transactionSync(() => this.changes.setListening(on)) };
	}

	/** The write transactions this instance ran, by kind (read by `npm run bench`; changes nothing). */
	async writeCounts(): Promise<WriteCounts> {
		return this.writes.view();
	}

	/** The requests this instance served, by method (./requests.ts; read by `npm run bench`; changes nothing). */
	async requestCounts(): Promise<Record<string, number>> {
		return requestsOf(this);
	}

	async ledger(after: number, limit: number): Promise<LedgerPage> {
		const rows = store.ledgerPage(this.sql, after, limit + 1);
		const entries = rows.slice(0, limit);
		return { entries, next_after: rows.length > limit ? entries[entries.length - 1]!.seq : null };
	}

	async hold(ref: string): Promise<HoldView | null> {
		const h = store.getHold(this.sql, ref);
		return h ? { ...h, lines: store.holdLines(this.sql, ref) } : null;
	}

	async audit(): Promise<Audit> {
		return audit(this.sql);
	}

	// ---- expiry ------------------------------------------------------------------------------

	override async alarm(): Promise<void> {
		this.alarmSlot.fired();
		await this.link.deliver();
		try {
			await this.resolveDueAs("alarm", this.clock.now());
			this.alarmFailures = 0;
		} catch (err) {
			// The platform retries a throwing alarm only a few times, then drops it and the holds stay
			// held: a failed D1 read (an outage) re-arms here instead, with a capped backoff.
			this.alarmFailures++;
			const delay = alarmRetryDelayMs(this.alarmFailures);
			log.warn("[warehouse]", "alarm_deferred", { error: String(err), failures: this.alarmFailures, retry_in_ms: delay });
			await this.alarmSlot.armAt(this.clock.now() + delay);
		}
	}

	/**
	 * Resolves every hold whose ttl has passed by `now`: commits it if its order
	 * was decided, else releases it (presumed abort). The decisions are read first
	 * (an await, through the OrderLookup port); the hold's state is checked again
	 * inside the transaction.
	 */
	async resolveDue(now?: number): Promise<{ committed: number; expired: number }> {
		const at = now ?? this.clock.now();
		const total = await this.resolveDueAs("resolveDue", at);
		// The reconciler asks warehouses only: a warehouse asks its sharded units' shards in turn (their alarms are the first line).
		if (this.role.kind === "warehouse") {
			await this.link.deliver();
			const shards = await this.link.resolveShards(at);
			total.committed += shards.committed;
			total.expired += shards.expired;
		}
		return total;
	}

	/** Who resolves (the alarm or the reconciler's RPC) only names the transactions in the write counts. */
	private async resolveDueAs(kind: "alarm" | "resolveDue", now: number): Promise<{ committed: number; expired: number }> {
		const total = { committed: 0, expired: 0 };
		for (;;) {
			const refs = store.dueHolds(this.sql, now, RESOLVE_BATCH);
			if (refs.length === 0) break;
			const decided = await this.orders.decided(refs);
			// Expired holds bring their units back: at the warehouse's object, those units' sold-out declarations are revoked first.
			const resolve = () => this.transact(kind, now, (tx) => holds.resolveDue(tx, refs, (ref) => decided.has(ref)));
			const { result } = this.role.kind === "warehouse" ? await this.link.returningUnits([...store.holdLinesOf(this.sql, refs).values()].flat(), resolve) : resolve();
			total.committed += result.committed;
			total.expired += result.expired;
			if (refs.length < RESOLVE_BATCH) break;
		}
		if (total.committed + total.expired > 0) log.info("[warehouse]", "holds_resolved", total);
		// eventsQueued: also retries events an earlier send could not deliver.
		await this.settle({ armBy: null, eventsQueued: true }, true);
		return total;
	}

	// ---- the write path ----------------------------------------------------------------------

	/** Every write: one transaction at the clock's time, then the alarm (no later than a new hold's expiry) and the events. */
	private async mutate<T>(kind: string, write: (tx: Tx) => T): Promise<T> {
		if (this.role.kind === "warehouse" && RETURNS_UNITS.has(kind)) throw new Error(`${kind}: a write that may bring units back names them (returning)`);
		const { result, outcome } = this.transact(kind, this.clock.now(), write);
		await this.settle(outcome, false);
		return result;
	}

	/**
	 * A write that may bring back units of `units`: at the warehouse's object,
	 * their sold-out declarations are revoked at the shards told before the
	 * transaction (./shardLink.ts returningUnits); the alarm and events follow.
	 */
	private async returning<T>(kind: string, units: readonly Unit[], write: (tx: Tx) => T): Promise<T> {
		const run = () => this.transact(kind, this.clock.now(), write);
		const { result, outcome } = this.role.kind === "warehouse" ? await this.link.returningUnits(units, run) : run();
		await this.settle(outcome, false);
		return result;
	}

	/** The units a hold here holds (read before a write that may free them; a hold's lines never change). */
	private heldUnits(ref: string): Line[] {
		return this.role.kind === "warehouse" ? store.holdLines(this.sql, ref) : [];
	}

	/** One transaction, counted as a write when it changed a row. */
	private transact<T>(kind: string, now: number, write: (tx: Tx) => T): { result: T; outcome: TxOutcome } {
		const { tx, outcome } = openTx(this.sql, now, this.warehouseId, this.changes);
		const role = this.role;
		const result = this.writes.run(kind, () =>
			this.ctx.storage.transactionSync(() => {
				const r = write(tx);
				// At a shard, units that came back go to the pool in the same transaction (./quota.ts).
				if (role.kind === "shard" && quota.settle(tx, role.unit)) this.gaveBack = true;
				return r;
			}),
		);
		return { result, outcome };
	}

	/** After a write: the alarm (moved earlier for a new hold, or set exactly after resolving), then the events. */
	private async settle(outcome: TxOutcome, exactAlarm: boolean): Promise<void> {
		if (this.gaveBack) {
			this.gaveBack = false;
			await this.alarmSlot.armBy(this.clock.now() + DELIVERY_RETRY_MS);
			await this.link.deliver();
		}
		if (outcome.eventsQueued) this.outbox.markWaiting();
		if (outcome.armBy !== null) await this.alarmSlot.armBy(outcome.armBy);
		await this.outbox.flush(this.changes);
		if (exactAlarm) await this.alarmSlot.armAt(this.link.nextWake(this.clock.now()));
	}
}

countRequests(WarehouseObject.prototype);

/** Who asked, for the ledger: an admin unless the caller says otherwise. */
function by(opts: OpOptions): moves.MoveBy {
	return { actor: opts.actor ?? "admin", note: opts.note };
}
