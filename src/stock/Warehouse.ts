/**
 * The Warehouse Durable Object: one per warehouse id, the only writer of that
 * warehouse's stock. Every method is one synchronous `transactionSync` (nothing
 * is awaited between a check and the write that depends on it), which is what
 * serializes concurrent buyers. Every method is idempotent by its reference.
 *
 * Holds (phase 1 of checkout) carry `expires_at`; the alarm is never later than
 * the earliest open hold (a reserve moves it earlier; closing a hold leaves it, so
 * at worst it wakes once for nothing and re-arms exactly), and it is re-armed
 * whenever the object starts, so a hold never outlives its ttl by more than the
 * alarm's slack. An alarm that cannot read D1 re-arms itself with a capped
 * backoff (src/stock/backoff.ts) rather than being dropped after the
 * platform's retries.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { log } from "../http/log";
import { orderStatuses } from "../orders/queries";
import { alarmRetryDelayMs } from "./backoff";
import { assertLines, sumDemand } from "./demand";
import * as store from "./store";
import type { StockgateEvent, StockLow } from "../events/types";
import { UnitChanges } from "./changes";
import { WriteCounter, type WriteCounts } from "./writes";
import type {
	AdjustReason,
	CancelHoldResult,
	AdjustResult,
	ApplyResult,
	BelowReserved,
	CommitResult,
	DeductResult,
	HoldView,
	LedgerPage,
	Level,
	Line,
	ReleaseResult,
	ReserveResult,
	SetLevelsResult,
	Shortage,
	Snapshot,
	StockRow,
	IncomingResult,
	TransferCancelResult,
	TransferInResult,
	TransferOutResult,
	Unit,
} from "./types";

export interface OpOptions {
	/** Who asked: a user id, "checkout", "alarm", "reconciler"... recorded in the ledger. */
	actor?: string;
	note?: string;
}

/** What should happen to a hold whose ttl has passed. */
export type DueDecision = "commit" | "release";

const RESOLVE_BATCH = 100;

export class Warehouse extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	/** Whether events_out may hold events to send. */
	private eventsWaiting = true;
	/** The alarm time this instance last set (undefined: unknown, read it from storage). */
	private armedAt: number | null | undefined;
	/** Alarm runs in a row that could not resolve (D1 unreadable); sets the retry backoff. */
	private alarmFailures = 0;
	/** Gathers stock.changed events (src/stock/changes.ts). */
	private readonly changes: UnitChanges;
	/** This instance's write transactions, by kind (src/stock/writes.ts). */
	private readonly writes: WriteCounter;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.writes = new WriteCounter(ctx.storage.sql);
		// Every statement goes through the counter's SQL, which is how it tells a writing transaction (./writes.ts).
		this.sql = this.writes.sql;
		this.changes = new UnitChanges(ctx.storage, ctx.id.name ?? ctx.id.toString(), () => this.flushEvents(), this.sql);
		void ctx.blockConcurrencyWhile(async () => {
			store.migrate(this.sql);
			// A runtime killed mid-flight may have lost the alarm: re-arm for the earliest open hold.
			this.armedAt = await ctx.storage.getAlarm();
			await this.rearm();
		});
	}

	// ---- phase 1 / phase 2 of checkout -------------------------------------------------------

	async reserve(ref: string, lines: Line[], ttlMs: number, opts: OpOptions = {}): Promise<ReserveResult> {
		assertLines(lines, "reserve");
		if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError("reserve: ttlMs must be positive");
		const now = Date.now();
		const result = this.tx("reserve", (): ReserveResult => {
			// A reference seen before answers as it did, whatever the stock is now.
			const before = (hold: store.HoldRow): ReserveResult =>
				hold.state === "held" || hold.state === "committed"
					? { ok: true, state: hold.state, expires_at: hold.expires_at, replayed: true }
					: { ok: false, reason: "hold_closed", state: hold.state };
			const demand = sumDemand(lines);
			const shortages = this.shortages(demand);
			if (shortages.length > 0) {
				const hold = store.getHold(this.sql, ref);
				return hold ? before(hold) : { ok: false, reason: "insufficient_stock", shortages };
			}
			const expiresAt = now + ttlMs;
			// The hold's insert is also the look-up (a statement less on the usual path): it writes nothing for a known reference.
			if (!store.insertHoldIfNew(this.sql, ref, now, expiresAt, demand)) return before(store.getHold(this.sql, ref)!);
			this.applyAll(demand.map((l) => ({ unit: l, on_hand_delta: 0, reserved_delta: l.quantity, reason: "reserve", ref, actor: opts.actor ?? "checkout", at: now })));
			return { ok: true, state: "held", expires_at: expiresAt, replayed: false };
		});
		if (result.ok && !result.replayed) await this.armBy(result.expires_at);
		await this.flushEvents();
		return result;
	}

	async commit(ref: string, opts: OpOptions = {}): Promise<CommitResult> {
		const now = Date.now();
		const result = this.tx("commit", () => this.commitNow(ref, now, opts.actor ?? "checkout"));
		if (result.ok && !result.replayed) await this.flushEvents();
		return result;
	}

	/**
	 * Phase 2 for many decided orders at once (the gateway gathers them after its
	 * answers): one transaction, each hold committed exactly as `commit` would.
	 */
	async commitMany(refs: string[], opts: OpOptions = {}): Promise<Record<string, CommitResult>> {
		if (!Array.isArray(refs) || refs.some((r) => typeof r !== "string")) throw new TypeError("commitMany: refs must be strings");
		const now = Date.now();
		const out = this.tx("commitMany", () => this.commitAll([...new Set(refs)], now, opts.actor ?? "checkout"));
		if (Object.values(out).some((r) => r.ok && !r.replayed)) await this.flushEvents();
		return out;
	}

	async release(ref: string, opts: OpOptions = {}): Promise<ReleaseResult> {
		const now = Date.now();
		const result = this.tx("release", (): ReleaseResult => {
			const hold = store.getHold(this.sql, ref);
			if (!hold) {
				// A tombstone: a reserve for this reference that arrives late must not hold anything.
				store.insertHold(this.sql, ref, "released", now, now, []);
				return { ok: true, state: "released", replayed: false };
			}
			switch (hold.state) {
				case "committed":
					return { ok: false, reason: "hold_committed" };
				case "released":
					return { ok: true, state: "released", replayed: true };
				case "expired":
					// Its units went back at expiry; closing it for good stops a late commit taking them again.
					store.setHoldState(this.sql, ref, "released", now);
					return { ok: true, state: "released", replayed: false };
				case "held":
					this.freeHold(ref, "release", "released", now, opts.actor ?? "checkout");
					return { ok: true, state: "released", replayed: false };
			}
		});
		await this.flushEvents();
		return result;
	}

	/**
	 * Undoes whatever an order holds here, atomically and once: a held hold is
	 * released, a committed one has its units restocked (idempotent by ref), an
	 * expired one is closed for good (released: a late commit is refused), a
	 * released one needs nothing, an unknown one gets a tombstone so a late
	 * reserve cannot hold stock for a cancelled order.
	 */
	async cancelHold(ref: string, opts: OpOptions = {}): Promise<CancelHoldResult> {
		const now = Date.now();
		const actor = opts.actor ?? "checkout";
		const result = this.tx("cancelHold", (): CancelHoldResult => {
			const hold = store.getHold(this.sql, ref);
			if (!hold) {
				store.insertHold(this.sql, ref, "released", now, now, []);
				return { ok: true, outcome: "nothing", replayed: false, lines: [] };
			}
			const lines = store.holdLines(this.sql, ref);
			switch (hold.state) {
				case "held":
					this.freeHold(ref, "release", "released", now, actor);
					return { ok: true, outcome: "released", replayed: false, lines };
				case "released":
					return { ok: true, outcome: "nothing", replayed: true, lines: [] };
				case "expired":
					// Nothing to give back (the expiry did), but a commit still in flight (phase 2, or a
					// reconciler row read before the cancel) must not take the units for a cancelled order.
					store.setHoldState(this.sql, ref, "released", now);
					return { ok: true, outcome: "nothing", replayed: false, lines: [] };
				case "committed": {
					if (!store.claimOp(this.sql, "restock", ref, now)) return { ok: true, outcome: "restocked", replayed: true, lines };
					for (const l of lines) {
						this.apply({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "restock", ref, actor, note: opts.note, at: now });
					}
					return { ok: true, outcome: "restocked", replayed: false, lines };
				}
			}
		});
		await this.flushEvents();
		return result;
	}

	// ---- order-driven and admin stock changes ----------------------------------------------

	/** Puts back the units of a cancelled order, once per reference. */
	async restock(ref: string, lines: Line[], opts: OpOptions = {}): Promise<ApplyResult> {
		assertLines(lines, "restock");
		const result = this.addOnce("restock", ref, lines, opts);
		await this.flushEvents();
		return result;
	}

	async restore(ref: string, lines: Line[], opts: OpOptions = {}): Promise<ApplyResult> {
		assertLines(lines, "restore");
		const result = this.addOnce("restore", ref, lines, opts);
		await this.flushEvents();
		return result;
	}

	async deduct(ref: string, lines: Line[], opts: OpOptions = {}): Promise<DeductResult> {
		assertLines(lines, "deduct");
		const now = Date.now();
		const demand = sumDemand(lines);
		const result = this.tx("deduct", (): DeductResult => {
			if (this.applied("deduct", ref)) return { ok: true, replayed: true, levels: this.levelsOf(demand) };
			const shortages = this.unreservedShortages(demand);
			if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
			for (const l of demand) {
				this.apply({ unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "deduct", ref, actor: opts.actor ?? "admin", note: opts.note, at: now });
			}
			store.claimOp(this.sql, "deduct", ref, now);
			return { ok: true, replayed: false, levels: this.levelsOf(demand) };
		});
		await this.flushEvents();
		return result;
	}

	/** Sets absolute on-hand levels; all-or-nothing, never below what is reserved. */
	async setLevels(
		ref: string,
		items: Array<Unit & { on_hand: number; low_stock_threshold?: number | null; safety_stock?: number }>,
		opts: OpOptions = {},
	): Promise<SetLevelsResult> {
		for (const i of items) {
			if (!Number.isSafeInteger(i.on_hand) || i.on_hand < 0) throw new TypeError(`setLevels: invalid on_hand ${JSON.stringify(i)}`);
			if (i.safety_stock !== undefined && (!Number.isSafeInteger(i.safety_stock) || i.safety_stock < 0)) throw new TypeError(`setLevels: invalid safety_stock ${JSON.stringify(i)}`);
		}
		const now = Date.now();
		const result = this.tx("setLevels", (): SetLevelsResult => {
			const levels = items.map((i) => store.getLevel(this.sql, i));
			if (this.applied("set", ref)) return { ok: true, replayed: true, levels };
			const conflicts: BelowReserved[] = [];
			items.forEach((i, n) => {
				if (i.on_hand < levels[n]!.reserved) conflicts.push({ product_id: i.product_id, size: i.size, on_hand: i.on_hand, reserved: levels[n]!.reserved });
			});
			if (conflicts.length > 0) return { ok: false, reason: "below_reserved", conflicts };
			for (const i of items) {
				if (i.low_stock_threshold !== undefined) store.setThreshold(this.sql, i, i.low_stock_threshold);
				if (i.safety_stock !== undefined) {
					store.setSafetyStock(this.sql, i, i.safety_stock);
					this.changes.touch(i);
				}
			}
			for (const i of items) {
				// Read again: the same unit may appear twice in one request; the last value wins.
				const current = store.getLevel(this.sql, i);
				this.apply({ unit: i, on_hand_delta: i.on_hand - current.on_hand, reserved_delta: 0, reason: "set", ref, actor: opts.actor ?? "admin", note: opts.note, at: now });
			}
			store.claimOp(this.sql, "set", ref, now);
			return { ok: true, replayed: false, levels: items.map((i) => store.getLevel(this.sql, i)) };
		});
		await this.flushEvents();
		return result;
	}

	async adjust(ref: string, unit: Unit, delta: number, reason: AdjustReason, opts: OpOptions = {}): Promise<AdjustResult> {
		if (!Number.isSafeInteger(delta) || delta === 0) throw new TypeError("adjust: delta must be a non-zero integer");
		const now = Date.now();
		const result = this.tx("adjust", (): AdjustResult => {
			const level = store.getLevel(this.sql, unit);
			if (this.applied("adjust", ref)) return { ok: true, replayed: true, level };
			const next = level.on_hand + delta;
			if (next < level.reserved) {
				return { ok: false, reason: "below_reserved", conflicts: [{ product_id: unit.product_id, size: unit.size, on_hand: next, reserved: level.reserved }] };
			}
			this.apply({ unit, on_hand_delta: delta, reserved_delta: 0, reason, ref, actor: opts.actor ?? "admin", note: opts.note, at: now });
			store.claimOp(this.sql, "adjust", ref, now);
			return { ok: true, replayed: false, level: store.getLevel(this.sql, unit) };
		});
		await this.flushEvents();
		return result;
	}

	// ---- transfers between warehouses (the saga's steps; the D1 record decides) ------------------

	/** At the source: the units leave on_hand (reserved units never; safety stock may), once per transfer. */
	async transferOut(transferId: string, toWarehouseId: string, lines: Line[], opts: OpOptions = {}): Promise<TransferOutResult> {
		assertLines(lines, "transferOut");
		const now = Date.now();
		const demand = sumDemand(lines);
		const result = this.tx("transferOut", (): TransferOutResult => {
			if (this.applied("transfer_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
			if (this.applied("transfer_out", transferId)) return { ok: true, replayed: true };
			const shortages = this.unreservedShortages(demand);
			if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
			for (const l of demand) {
				this.apply({ unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "transfer_out", ref: transferId, actor: opts.actor ?? "admin", note: `to ${toWarehouseId}`, at: now });
			}
			store.claimOp(this.sql, "transfer_out", transferId, now);
			return { ok: true, replayed: false };
		});
		await this.flushEvents();
		return result;
	}

	/**
	 * At the source: closes the transfer here for good. Units that left are put
	 * back once (what the ledger says left, not what the caller says); if none
	 * left yet, the tombstone makes a late `transferOut` refuse.
	 */
	async transferCancel(transferId: string, opts: OpOptions = {}): Promise<TransferCancelResult> {
		const now = Date.now();
		const result = this.tx("transferCancel", (): TransferCancelResult => {
			const wentOut = this.applied("transfer_out", transferId);
			if (!store.claimOp(this.sql, "transfer_cancel", transferId, now)) return { ok: true, restocked: wentOut, replayed: true };
			if (!wentOut) return { ok: true, restocked: false, replayed: false };
			for (const l of store.ledgerLines(this.sql, transferId, "transfer_out")) {
				this.apply({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "transfer_cancel", ref: transferId, actor: opts.actor ?? "admin", at: now });
			}
			return { ok: true, restocked: true, replayed: false };
		});
		await this.flushEvents();
		return result;
	}

	/** At the destination: records the units on their way (shown as incoming, not available). */
	async expectIncoming(transferId: string, fromWarehouseId: string, lines: Line[]): Promise<IncomingResult> {
		assertLines(lines, "expectIncoming");
		const now = Date.now();
		const demand = sumDemand(lines);
		return this.tx("expectIncoming", (): IncomingResult => {
			if (this.applied("transfer_in", transferId)) return { ok: true, replayed: true };
			if (this.applied("incoming_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
			const fresh = store.claimOp(this.sql, "incoming", transferId, now);
			if (fresh) store.expectIncoming(this.sql, transferId, fromWarehouseId, demand);
			return { ok: true, replayed: !fresh };
		});
	}

	/** At the destination: the units arrive in on_hand, once; incoming is cleared. */
	async receiveTransfer(transferId: string, lines: Line[], opts: OpOptions = {}): Promise<TransferInResult> {
		assertLines(lines, "receiveTransfer");
		const now = Date.now();
		const demand = sumDemand(lines);
		const result = this.tx("receiveTransfer", (): TransferInResult => {
			if (this.applied("transfer_in", transferId)) return { ok: true, replayed: true };
			if (this.applied("incoming_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
			for (const l of demand) {
				this.apply({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "transfer_in", ref: transferId, actor: opts.actor ?? "admin", at: now });
			}
			store.dropIncoming(this.sql, transferId);
			store.claimOp(this.sql, "transfer_in", transferId, now);
			return { ok: true, replayed: false };
		});
		await this.flushEvents();
		return result;
	}

	/** At the destination: the transfer will not arrive; a late `expectIncoming` or `receiveTransfer` is refused. */
	async cancelIncoming(transferId: string): Promise<TransferInResult> {
		const now = Date.now();
		return this.tx("cancelIncoming", (): TransferInResult => {
			if (this.applied("transfer_in", transferId)) return { ok: false, reason: "transfer_closed" };
			const fresh = store.claimOp(this.sql, "incoming_cancel", transferId, now);
			store.dropIncoming(this.sql, transferId);
			return { ok: true, replayed: !fresh };
		});
	}

	// ---- reads -------------------------------------------------------------------------------

	async availability(units: Unit[]): Promise<Level[]> {
		return store.getLevels(this.sql, units);
	}

	/** The admin view: every unit with safety stock, incoming units and low-stock threshold, plus open holds. */
	async stockView(): Promise<{ items: StockRow[]; holds: Snapshot["holds"] }> {
		return { items: store.stockRows(this.sql), holds: { held: store.countHeld(this.sql), next_expiry: store.nextExpiry(this.sql) } };
	}

	async snapshot(): Promise<Snapshot> {
		return {
			items: store.allLevels(this.sql),
			holds: { held: store.countHeld(this.sql), next_expiry: store.nextExpiry(this.sql) },
		};
	}

	/**
	 * Whether to produce stock.changed events: true while an active webhook
	 * endpoint subscribes to them (src/webhooks/listeners.ts says so after each
	 * endpoint change and on every reconciler run). `changed` when it was not so.
	 */
	async listenForChanges(on: boolean): Promise<{ changed: boolean }> {
		if (typeof on !== "boolean") throw new TypeError("listenForChanges: on must be a boolean");
		return { changed: this.ctx.storage.transactionSync(() => this.changes.setListening(on)) };
	}

	/** The write transactions this instance ran, by kind (read by `npm run bench`; changes nothing). */
	async writeCounts(): Promise<WriteCounts> {
		return this.writes.view();
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

	/**
	 * The consistency check the invariants ask for: replaying the ledger gives the
	 * stock rows, and `reserved` equals the sum of the open holds' lines.
	 */
	async audit(): Promise<{ ok: boolean; problems: string[]; levels: Level[] }> {
		const levels = store.allLevels(this.sql);
		const totals = new Map(store.ledgerTotals(this.sql).map((t) => [JSON.stringify([t.product_id, t.size]), t]));
		const held = new Map<string, number>();
		for (const r of this.sql
			.exec(`SELECT l.product_id, l.size, SUM(l.quantity) AS q FROM hold_lines l JOIN holds h ON h.ref = l.ref WHERE h.state = 'held' GROUP BY l.product_id, l.size`)
			.toArray()) {
			held.set(JSON.stringify([r.product_id, r.size]), Number(r.q));
		}
		const problems: string[] = [];
		for (const l of levels) {
			const key = JSON.stringify([l.product_id, l.size]);
			const t = totals.get(key);
			if (!t || t.on_hand !== l.on_hand || t.reserved !== l.reserved) problems.push(`${key}: ledger ${JSON.stringify(t)} != stock ${l.on_hand}/${l.reserved}`);
			if ((held.get(key) ?? 0) !== l.reserved) problems.push(`${key}: open holds ${held.get(key) ?? 0} != reserved ${l.reserved}`);
			if (l.reserved < 0 || l.on_hand < l.reserved) problems.push(`${key}: oversold ${l.on_hand}/${l.reserved}`);
		}
		return { ok: problems.length === 0, problems, levels };
	}

	// ---- expiry ------------------------------------------------------------------------------

	override async alarm(): Promise<void> {
		this.armedAt = null; // the runtime cleared it by running it
		try {
			await this.resolveDueAs("alarm", Date.now());
			this.alarmFailures = 0;
		} catch (err) {
			// The platform retries a throwing alarm only a few times, then drops it and the holds stay
			// held: a failed D1 read (an outage) re-arms here instead, with a capped backoff.
			this.alarmFailures++;
			const delay = alarmRetryDelayMs(this.alarmFailures);
			log.warn("[warehouse]", "alarm_deferred", { error: String(err), failures: this.alarmFailures, retry_in_ms: delay });
			const at = Date.now() + delay;
			await this.ctx.storage.setAlarm(at);
			this.armedAt = at;
		}
	}

	/**
	 * Resolves every hold whose ttl has passed: commits it if its order was decided,
	 * else releases it (presumed abort). The decision is read first (an await); the
	 * hold's state is checked again inside the final transaction.
	 */
	async resolveDue(now: number = Date.now()): Promise<{ committed: number; expired: number }> {
		return this.resolveDueAs("resolveDue", now);
	}

	/** Who resolves (the alarm or the reconciler's RPC) only names the transactions in the write counts. */
	private async resolveDueAs(kind: "alarm" | "resolveDue", now: number): Promise<{ committed: number; expired: number }> {
		let committed = 0;
		let expired = 0;
		for (;;) {
			const refs = store.dueHolds(this.sql, now, RESOLVE_BATCH);
			if (refs.length === 0) break;
			const decisions = await this.decide(refs);
			this.tx(kind, () => {
				for (const ref of refs) {
					const hold = store.getHold(this.sql, ref);
					if (!hold || hold.state !== "held") continue;
					if (decisions.get(ref) === "commit") {
						this.commitNow(ref, now, "alarm");
						committed++;
					} else {
						this.freeHold(ref, "expire", "expired", now, "alarm");
						expired++;
					}
				}
			});
			if (refs.length < RESOLVE_BATCH) break;
		}
		if (committed + expired > 0) log.info("[warehouse]", "holds_resolved", { committed, expired });
		this.eventsWaiting = true; // also retries events an earlier send could not deliver
		await this.flushEvents();
		await this.rearm();
		return { committed, expired };
	}

	/**
	 * Presumed abort: a due hold is committed only when D1 has its order (the hold's
	 * ref is the order id) and the order is not cancelled; anything else is released.
	 * A failed D1 read throws, so the alarm is retried rather than guessing.
	 */
	protected async decide(refs: string[]): Promise<Map<string, DueDecision>> {
		const statuses = await orderStatuses(this.env.DB, refs);
		return new Map(refs.map((r) => {
			const status = statuses.get(r);
			return [r, status !== undefined && status !== "cancelled" ? "commit" : "release"] as const;
		}));
	}

	// ---- internals (always called inside a transaction) --------------------------------------

	/** Every mutation's one transaction, counted as a write when it changed a row. */
	private tx<T>(kind: string, fn: () => T): T {
		return this.writes.run(kind, () => this.ctx.storage.transactionSync(fn));
	}

	/**
	 * Every stock change goes through here: the change and its ledger row, plus a
	 * `stock.low` event when on_hand falls from at-or-above the unit's threshold to below it.
	 */
	private apply(c: store.Change): void {
		this.applyAll([c]);
	}

	/**
	 * Several changes of one operation at once (./store.ts applyDeltas: one
	 * statement for the rows, one for the ledger), each unit checked for
	 * falling below its low-stock threshold over the operation as a whole.
	 */
	private applyAll(changes: store.Change[]): void {
		const after = store.applyDeltas(this.sql, changes);
		const taken = new Map<string, { change: store.Change; on_hand_delta: number }>();
		for (const c of changes) {
			this.changes.mark(c);
			const k = store.unitKeyOf(c.unit);
			const t = taken.get(k);
			if (t) t.on_hand_delta += c.on_hand_delta;
			else taken.set(k, { change: c, on_hand_delta: c.on_hand_delta });
		}
		for (const [k, { change: c, on_hand_delta: delta }] of taken) {
			const now = after.get(k);
			const threshold = now?.threshold ?? null;
			if (delta >= 0 || !now || threshold === null) continue;
			const before = now.on_hand - delta;
			if (before < threshold || now.on_hand >= threshold) continue;
			const event: StockLow = {
				event_id: `evt_low_${crypto.randomUUID()}`,
				type: "stock.low",
				occurred_at: new Date(c.at).toISOString(),
				warehouse_id: this.ctx.id.name ?? this.ctx.id.toString(),
				product_id: c.unit.product_id,
				size: c.unit.size,
				on_hand: now.on_hand,
				threshold,
			};
			store.queueEvent(this.sql, event.event_id, event, c.at);
			this.eventsWaiting = true;
		}
	}

	/** Sends queued events; what fails stays in events_out for the next call or the reconciler's resolveDue. */
	private async flushEvents(): Promise<void> {
		if (this.changes.due() && this.writes.run("events", () => this.changes.gatherDue()) > 0) this.eventsWaiting = true;
		if (!this.eventsWaiting) return;
		this.eventsWaiting = false;
		const pending = store.pendingEvents(this.sql, 100);
		if (pending.length === 0) return;
		if (!this.env.EVENTS) {
			log.info("[events]", "no_queue_binding", { events: pending.map((p) => p.event_id) });
			this.writes.run("events", () => store.dropEvents(this.sql, pending.map((p) => p.event_id)));
			return;
		}
		try {
			await this.env.EVENTS.sendBatch(pending.map((p) => ({ body: JSON.parse(p.payload) as StockgateEvent, contentType: "json" as const })));
			this.writes.run("events", () => store.dropEvents(this.sql, pending.map((p) => p.event_id)));
			log.info("[events]", "published", { events: pending.map((p) => p.event_id) });
		} catch (err) {
			this.eventsWaiting = true;
			log.warn("[events]", "publish_deferred", { error: String(err), events: pending.length });
		}
	}

	/**
	 * commitNow for many references in one transaction: the held ones (the usual
	 * case) together, with one statement per step for all of them; any other
	 * (replayed, released, lapsed, unknown) one by one, exactly as commitNow.
	 */
	private commitAll(refs: string[], now: number, actor: string): Record<string, CommitResult> {
		const holds = store.getHolds(this.sql, refs);
		const held = refs.filter((r) => holds.get(r)?.state === "held");
		const results: Record<string, CommitResult> = {};
		if (held.length > 0) {
			const lines = store.holdLinesOf(this.sql, held);
			this.applyAll(held.flatMap((ref) => lines.get(ref)!.map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: -l.quantity, reason: "commit", ref, actor, at: now }))));
			store.setHoldStates(this.sql, held, "committed", now);
			for (const ref of held) results[ref] = { ok: true, replayed: false, late: false };
		}
		for (const ref of refs) if (!(ref in results)) results[ref] = this.commitNow(ref, now, actor);
		return results;
	}

	private commitNow(ref: string, now: number, actor: string): CommitResult {
		const hold = store.getHold(this.sql, ref);
		if (!hold) return { ok: false, reason: "unknown_hold" };
		switch (hold.state) {
			case "committed":
				return { ok: true, replayed: true, late: false };
			case "released":
				return { ok: false, reason: "hold_released" };
			case "held": {
				this.applyAll(store.holdLines(this.sql, ref).map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: -l.quantity, reason: "commit", ref, actor, at: now })));
				store.setHoldState(this.sql, ref, "committed", now);
				return { ok: true, replayed: false, late: false };
			}
			case "expired": {
				// The hold lapsed before its commit arrived: take the units again if they are still there.
				const lines = store.holdLines(this.sql, ref);
				const shortages = this.shortages(lines);
				if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
				this.applyAll(lines.map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "commit", ref, actor, note: "late commit: hold had expired", at: now })));
				store.setHoldState(this.sql, ref, "committed", now);
				return { ok: true, replayed: false, late: true };
			}
		}
	}

	private freeHold(ref: string, reason: "release" | "expire", state: "released" | "expired", now: number, actor: string): void {
		this.applyAll(store.holdLines(this.sql, ref).map((l) => ({ unit: l, on_hand_delta: 0, reserved_delta: -l.quantity, reason, ref, actor, at: now })));
		store.setHoldState(this.sql, ref, state, now);
	}

	private shortages(demand: Line[]): Shortage[] {
		const out: Shortage[] = [];
		const levels = store.getLevels(this.sql, demand);
		demand.forEach((l, i) => {
			const level = levels[i]!;
			if (level.available < l.quantity) out.push({ product_id: l.product_id, size: l.size, requested: l.quantity, available: level.available });
		});
		return out;
	}

	/** Shortages against what is on hand and not reserved (admin moves may take safety stock). */
	private unreservedShortages(demand: Line[]): Shortage[] {
		const out: Shortage[] = [];
		for (const l of demand) {
			const free = store.unreserved(this.sql, l);
			if (free < l.quantity) out.push({ product_id: l.product_id, size: l.size, requested: l.quantity, available: free });
		}
		return out;
	}

	private applied(kind: string, ref: string): boolean {
		return this.sql.exec(`SELECT 1 FROM applied_ops WHERE kind = ? AND ref = ?`, kind, ref).toArray().length > 0;
	}

	private levelsOf(units: Unit[]): Level[] {
		return store.getLevels(this.sql, units);
	}

	private addOnce(kind: "restock" | "restore", ref: string, lines: Line[], opts: OpOptions): ApplyResult {
		const now = Date.now();
		const demand = sumDemand(lines);
		return this.tx(kind, (): ApplyResult => {
			if (!store.claimOp(this.sql, kind, ref, now)) return { ok: true, replayed: true, levels: this.levelsOf(demand) };
			for (const l of demand) {
				this.apply({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: kind, ref, actor: opts.actor ?? "admin", note: opts.note, at: now });
			}
			return { ok: true, replayed: false, levels: this.levelsOf(demand) };
		});
	}

	/**
	 * After a reserve: the alarm must not be later than the new hold's expiry. It is
	 * only ever moved earlier here; closing a hold (commit, release) leaves it, so the
	 * hot path writes no alarm. An alarm that finds nothing due re-arms exactly.
	 */
	private async armBy(expiresAt: number): Promise<void> {
		if (this.armedAt === null || this.armedAt === undefined || expiresAt < this.armedAt) {
			await this.ctx.storage.setAlarm(expiresAt);
			this.armedAt = expiresAt;
		}
	}

	/** Sets the alarm exactly at the earliest open hold's expiry, or clears it (at start and after resolving). */
	private async rearm(): Promise<void> {
		const next = store.nextExpiry(this.sql);
		if (next === null) {
			if (this.armedAt !== null) {
				await this.ctx.storage.deleteAlarm();
				this.armedAt = null;
			}
			return;
		}
		if (next !== this.armedAt) {
			await this.ctx.storage.setAlarm(next);
			this.armedAt = next;
		}
	}
}
