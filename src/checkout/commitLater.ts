/**
 * Phase 2 after the answer. The order row is the commit decision, so the 201
 * goes out right after the D1 batch; the holds are committed afterwards,
 * gathered: the orders an isolate decides within one window are committed by
 * one `commitMany` RPC per warehouse (one Warehouse transaction each, all
 * warehouses in parallel). Then one D1 statement per order shard touched
 * clears the window's confirmed outbox rows there, and one send announces each order whose every warehouse
 * has confirmed (its "placed" event).
 *
 * Nothing depends on the window for correctness: every commit is promised by an
 * outbox row written with the decision. If the isolate dies first, or a commit
 * fails, the cron reconciler replays it (idempotent), and the Warehouse alarm
 * commits any hold whose order exists at its expiry; a hold that can no longer
 * be filled is cancelled as unfulfillable there, unannounced.
 */
import * as sharded from "../stock/sharded";
import type { Env } from "../env";
import { publish } from "../events/outbox";
import { log } from "../shared/log";
import { deleteOutboxRows, linesByWarehouse, type OrderRecord } from "../orders/queries";
import { Coalescer, coalescerPer, type WaitUntil } from "../shared/coalescer";
import type { CommitResult, Unit } from "../stock/types";
import { groupByOrderShard } from "../orders/fanout";
import { placedEvent } from "../orders/placement";
import { orderDb } from "../orders/shards";

/**
 * How long a decided order waits for company before its commits go out. The
 * contract allows one second; a longer window means fewer, larger commits (a
 * commitMany's cost per hold falls from 0.85 ms alone to 0.24 ms at 10 holds,
 * docs/SCALING.md) and fewer D1 calls after the answers.
 */
export const COMMIT_WINDOW_MS = 250;
/** Orders per window at most (a full window is flushed at once). */
const COMMIT_MAX = 200;

interface Decided {
	order: OrderRecord;
	warehouseIds: string[];
}

/** What one warehouse answered for its part of a window: its results, or the error that left them unknown. */
export type WarehouseAnswer = { ok: true; results: Record<string, CommitResult> } | { ok: false; error: unknown };

export interface SortedCommits {
	/** Confirmed (order, warehouse) pairs: their outbox rows can go. */
	cleared: Array<{ order_id: string; warehouse_id: string }>;
	/** Orders whose every warehouse confirmed in this window: announce them. */
	announce: OrderRecord[];
	/** Pairs left to the reconciler (refused, or the warehouse's call failed). */
	left: Array<{ order_id: string; warehouse_id: string; result: CommitResult | null; error?: string }>;
}

/**
 * Pure: what a window's answers mean for each decided order. A pair is cleared
 * only on a confirmed commit; an order is announced only when all its pairs
 * are; a warehouse that failed leaves its pairs (and so its orders) unannounced.
 */
export function sortCommits(decided: ReadonlyArray<{ order: OrderRecord; warehouseIds: string[] }>, answers: ReadonlyMap<string, WarehouseAnswer>): SortedCommits {
	const out: SortedCommits = { cleared: [], announce: [], left: [] };
	for (const { order, warehouseIds } of decided) {
		let all = true;
		for (const w of warehouseIds) {
			const a = answers.get(w);
			const result = a?.ok ? (a.results[order.order_id] ?? null) : null;
			if (result?.ok) out.cleared.push({ order_id: order.order_id, warehouse_id: w });
			else {
				all = false;
				out.left.push({ order_id: order.order_id, warehouse_id: w, result, ...(a && !a.ok ? { error: String(a.error) } : {}) });
			}
		}
		if (all) out.announce.push(order);
	}
	return out;
}

/** Each order's units at warehouse `w`, from its allocations. */
function unitsAt(decided: readonly Decided[], w: string): Map<string, Unit[]> {
	return new Map(
		decided.flatMap((d) => {
			const lines = linesByWarehouse(d.order).get(w);
			return lines ? [[d.order.order_id, lines] as const] : [];
		}),
	);
}

class GatheredCommits {
	private readonly window: Coalescer<Decided>;

	constructor(private readonly env: Env) {
		this.window = new Coalescer<Decided>({
			flush: (decided) => this.flush(decided),
			onError: (err, decided) => log.warn("[place-order]", "commit_deferred", { orders: decided.map((d) => d.order.order_id), error: String(err) }),
			windowMs: COMMIT_WINDOW_MS,
			maxItems: COMMIT_MAX,
		});
	}

	add(order: OrderRecord, warehouseIds: string[], waitUntil: WaitUntil): void {
		this.window.add([{ order, warehouseIds }], waitUntil);
	}

	private async flush(decided: Decided[]): Promise<void> {
		const refsAt = new Map<string, string[]>();
		for (const d of decided) {
			for (const w of d.warehouseIds) {
				const refs = refsAt.get(w);
				if (refs) refs.push(d.order.order_id);
				else refsAt.set(w, [d.order.order_id]);
			}
		}
		const warehouseIds = [...refsAt.keys()];
		// With each order's units there: a window of orders only on a sharded unit goes to its shards, not its pool.
		const settled = await Promise.allSettled(warehouseIds.map((w) => sharded.commitMany(this.env, w, refsAt.get(w)!, "checkout", unitsAt(decided, w))));
		const answers = new Map<string, WarehouseAnswer>(
			warehouseIds.map((w, i) => {
				const s = settled[i]!;
				return [w, s.status === "fulfilled" ? { ok: true, results: s.value } : { ok: false, error: s.reason }];
			}),
		);
		const { cleared, announce, left } = sortCommits(decided, answers);
		if (left.length > 0) {
			// Left in the outbox: the reconciler retries, or cancels the order as unfulfillable.
			log.warn("[place-order]", "commit_deferred", { commits: left });
		}
		// Each order's outbox rows are in its own shard: one statement per shard touched.
		await Promise.all(groupByOrderShard(this.env, cleared, (r) => r.order_id).map((g) => deleteOutboxRows(g.db, "commit", g.items)));
		log.info("[place-order]", "commits_gathered", { orders: decided.length, warehouses: warehouseIds.length, committed: cleared.length, deferred: left.length });
		if (announce.length > 0) await publish(this.env, announce.map(placedEvent));
	}
}

/** One per binding (an isolate can serve several envs, e.g. in tests). */
const byEnv = new WeakMap<Env, GatheredCommits>();
function gatheredOf(env: Env): GatheredCommits {
	let g = byEnv.get(env);
	if (!g) byEnv.set(env, (g = new GatheredCommits(env)));
	return g;
}

/** placeOrder's `commitLater` as production wires it: work kept alive with the request's waitUntil. */
export function commitLater(env: Env, waitUntil: WaitUntil): (order: OrderRecord, warehouseIds: string[]) => void {
	return (order, warehouseIds) => gatheredOf(env).add(order, warehouseIds, waitUntil);
}

/** Confirmed commits whose outbox rows wait to be cleared, gathered across the requests of an isolate. */
const COMMITS_DONE_WINDOW_MS = 50;
const commitCleanerOf = coalescerPer(
	(db: D1Database) =>
		new Coalescer<{ order_id: string; warehouse_id: string }>({
			flush: (rows) => deleteOutboxRows(db, "commit", rows),
			// A row left behind only costs the reconciler a replayed (idempotent) commit.
			onError: (err, rows) => log.warn("[place-order]", "outbox_clear_deferred", { error: String(err), rows: rows.length }),
			windowMs: COMMITS_DONE_WINDOW_MS,
			maxItems: 200,
		}),
);

/**
 * placeOrder's `clearCommitsLater` as production wires it: when phase 2 ran
 * before the answer, the confirmed commits' outbox rows are cleared after it,
 * with those of other requests of this isolate (one D1 statement per window).
 */
export function clearCommitsLater(env: Env, waitUntil: WaitUntil): (orderId: string, warehouseIds: string[]) => void {
	return (orderId, warehouseIds) => {
		const db = orderDb(env, orderId);
		if (!db) return;
		commitCleanerOf(db).add(
			warehouseIds.map((w) => ({ order_id: orderId, warehouse_id: w })),
			waitUntil,
		);
	};
}
