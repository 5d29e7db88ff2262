/**
 * Moving customers between order shards after N grew from `from` (the var
 * ORDER_SHARDS_MOVING_FROM; an upgrade from the single-database layout is 1).
 * A customer's live per-customer rows move from the shard they were placed in
 * to the one they hash to now: the active cart and its lines, the idempotency
 * keys of the last day, and the purchase counters. Orders and their history
 * stay where they are (an order id names its shard; ids of the single-database
 * layout name shard 0).
 *
 * A customer is moved before anything else is done for them: the first
 * request they make (src/http/app.ts) moves them if they have rows left in the
 * old shard, and the reconciler's pass moves the others, a bounded number per
 * run. Each move:
 *  1. claims the customer's active cart in the old shard (status 'moved': a
 *     checkout of it there, by a Worker of the previous version during the
 *     rollout, is refused as CART_TAKEN) and reads their rows there, claimed
 *     carts included, in one batch (one snapshot); a cart that checkout
 *     completed first is not active, so it is neither claimed nor copied;
 *  2. writes them in the new shard in one batch: the cart (or, when the
 *     customer already has an active cart there, its lines merged into that
 *     one), the keys (kept when already there, but for a copy still running
 *     whose request answered since: it takes the answer), and the counters recounted as
 *     the live units of the customer's orders in EVERY shard: the other
 *     shards' read just before, the new shard's inside the statement, so a
 *     checkout racing it in the new shard is counted exactly once;
 *  3. deletes from the old shard what it read: the claimed carts, and every
 *     other row only if unchanged.
 * Every step is safe to repeat: a move that stops midway is finished by the
 * next one, and a row changed meanwhile stays for the next move. Nothing is
 * added twice: the counters are recounted from orders, never incremented.
 */
import type { Env } from "../env";
import { orderShards, shardIndexOf } from "../orders/shards";
import { log } from "../shared/log";
import { FRESH_PROGRESS, keysSince, liveUnits, moveOf, movingFrom, nextProgress, type Move, type Progress } from "./rehomePlan";

type Row = Record<string, unknown>;

/** Customers moved per reconciler run, at most, and user ids scanned per run per shard. */
export const MOVES_PER_RUN = 50;
export const SCAN_PER_RUN = 1000;
const PAGE = 200;

export type MoveOutcome = { kind: "stays" } | { kind: "nothing_left" } | { kind: "moved"; cart: boolean; keys: number; counters: number; to: number };

/** The shard count customers are moving from, when a move is under way. */
export function rehomeFrom(env: Env): number | undefined {
	return movingFrom(env.ORDER_SHARDS_MOVING_FROM, orderShards(env).length);
}

interface Snapshot {
	/** The customer's claimed carts, oldest first: the one just claimed, and any a move that stopped midway claimed before. */
	carts: Row[];
	items: Row[];
	keys: Row[];
	counters: Array<{ product_id: string; units: number }>;
}

async function snapshot(db: D1Database, sub: string, nowMs: number): Promise<Snapshot> {
	const [, carts, items, keys, counters] = await db.batch<Row>([
		db.prepare(`UPDATE carts SET status = 'moved' WHERE user_id = ? AND status = 'active'`).bind(sub),
		db.prepare(`SELECT * FROM carts WHERE user_id = ? AND status = 'moved' ORDER BY created_at, cart_id`).bind(sub),
		db.prepare(`SELECT i.* FROM cart_items i JOIN carts c ON c.cart_id = i.cart_id WHERE c.user_id = ? AND c.status = 'moved'`).bind(sub),
		db.prepare(`SELECT * FROM idempotency_keys WHERE user_id = ? AND updated_at >= ?`).bind(sub, keysSince(nowMs)),
		db.prepare(`SELECT product_id, units FROM customer_product_units WHERE user_id = ?`).bind(sub),
	]);
	return {
		carts: carts!.results,
		items: items!.results,
		keys: keys!.results,
		counters: counters!.results.map((r) => ({ product_id: String(r.product_id), units: Number(r.units) })),
	};
}

/**
 * An idempotency key copied to the new shard. A key already there stays as it
 * is, except an earlier copy of this same claim (same request, same claim
 * time) still 'running' whose request has since answered in the old shard:
 * that copy takes the answer, so a retry replays it instead of waiting out
 * the running key and checking out again.
 */
function copyKeyStmt(db: D1Database, key: Row): D1PreparedStatement {
	const cols = Object.keys(key);
	return db
		.prepare(
			`INSERT INTO idempotency_keys (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})
			 ON CONFLICT (user_id, idem_key) DO UPDATE SET state = excluded.state, status_code = excluded.status_code,
			   response_body = excluded.response_body, order_id = excluded.order_id, updated_at = excluded.updated_at
			 WHERE idempotency_keys.state = 'running' AND excluded.state = 'done'
			   AND idempotency_keys.request_hash = excluded.request_hash AND idempotency_keys.created_at = excluded.created_at`,
		)
		.bind(...cols.map((c) => key[c] ?? null));
}

/**
 * The customer's rows written in the new shard (one batch). `elsewhere`: the
 * live units of their orders in every other shard, when the old shard still
 * had counters (then recounted here); without counters there, the ones here
 * were recounted by an earlier move and stay.
 */
function writeStmts(db: D1Database, sub: string, s: Snapshot, elsewhere: Array<[string, number]> | undefined, nowIso: string): D1PreparedStatement[] {
	const stmts: D1PreparedStatement[] = [];
	for (const cart of s.carts) {
		const copy: Row = { ...cart, status: "active" };
		const cols = Object.keys(copy);
		// A copy that an earlier, unfinished move already wrote (and the customer may have ordered since) gets nothing again.
		const notCopied = `NOT EXISTS (SELECT 1 FROM carts WHERE cart_id = ? AND status <> 'active')`;
		// The cart itself only when the customer has no active cart there yet (one active cart per customer).
		stmts.push(
			db
				.prepare(
					`INSERT INTO carts (${cols.join(", ")}) SELECT ${cols.map(() => "?").join(", ")}
					 WHERE NOT EXISTS (SELECT 1 FROM carts WHERE user_id = ? AND status = 'active') ON CONFLICT DO NOTHING`,
				)
				.bind(...cols.map((c) => copy[c] ?? null), sub),
		);
		// Its lines into whichever cart is active there now; a line already there keeps its quantity.
		for (const item of s.items.filter((i) => i.cart_id === cart.cart_id)) {
			const itemCols = Object.keys(item).filter((c) => c !== "cart_id");
			stmts.push(
				db
					.prepare(
						`INSERT INTO cart_items (cart_id, ${itemCols.join(", ")})
						 SELECT cart_id, ${itemCols.map(() => "?").join(", ")} FROM carts WHERE user_id = ? AND status = 'active' AND ${notCopied} ON CONFLICT DO NOTHING`,
					)
					.bind(...itemCols.map((c) => item[c] ?? null), sub, cart.cart_id),
			);
		}
		// A merge into another cart moves that cart on: a checkout that read it before is refused (CART_CHANGED).
		stmts.push(
			db
				.prepare(`UPDATE carts SET version = version + 1, updated_at = ? WHERE user_id = ? AND status = 'active' AND cart_id <> ? AND ${notCopied}`)
				.bind(nowIso, sub, cart.cart_id, cart.cart_id),
		);
	}
	for (const key of s.keys) stmts.push(copyKeyStmt(db, key));
	if (elsewhere) stmts.push(recountStmt(db, sub, elsewhere));
	return stmts;
}

/**
 * The customer's counters in this shard set to the units of their live orders
 * elsewhere (`elsewhere`, read before) plus those of their live orders here
 * (read by the statement itself); a counter no live order accounts for falls to 0. A counter past its stamped cap (a limit
 * lowered since) drops the stamp: the next order stamps it again.
 */
export function recountStmt(db: D1Database, sub: string, elsewhere: Array<[string, number]>): D1PreparedStatement {
	return db
		.prepare(
			`INSERT INTO customer_product_units (user_id, product_id, units, cap)
			 SELECT ?1, t.product_id, SUM(t.units), NULL FROM (
			   SELECT json_extract(e.value, '$[0]') AS product_id, json_extract(e.value, '$[1]') AS units FROM json_each(?2) e
			   UNION ALL
			   SELECT product_id, 0 FROM customer_product_units WHERE user_id = ?1
			   UNION ALL
			   SELECT json_extract(l.value, '$.product_id'), json_extract(l.value, '$.quantity')
			   FROM orders o, json_each(o.products) l WHERE o.user_id = ?1 AND o.status <> 'cancelled'
			   UNION ALL
			   SELECT json_extract(c.value, '$.product_id'), json_extract(c.value, '$.quantity')
			   FROM orders o, json_each(o.products) l, json_each(l.value, '$.components') c WHERE o.user_id = ?1 AND o.status <> 'cancelled'
			 ) t WHERE t.product_id IS NOT NULL GROUP BY t.product_id
			 ON CONFLICT (user_id, product_id) DO UPDATE SET units = excluded.units, cap = CASE WHEN cap IS NOT NULL AND excluded.units > cap THEN NULL ELSE cap END`,
		)
		.bind(sub, JSON.stringify(elsewhere));
}

/** What was read, deleted from the old shard: each row only if it is as it was read (a changed one waits for the next move). */
function deleteStmts(db: D1Database, sub: string, s: Snapshot): D1PreparedStatement[] {
	const stmts: D1PreparedStatement[] = [];
	// A claimed cart no longer changes (every cart writer needs it active): it goes whole.
	for (const cart of s.carts) {
		stmts.push(
			db.prepare(`DELETE FROM cart_items WHERE cart_id = ?1 AND EXISTS (SELECT 1 FROM carts WHERE cart_id = ?1 AND status = 'moved')`).bind(cart.cart_id),
			db.prepare(`DELETE FROM carts WHERE cart_id = ? AND status = 'moved'`).bind(cart.cart_id),
		);
	}
	for (const k of s.keys) {
		stmts.push(db.prepare(`DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND state = ? AND updated_at = ?`).bind(sub, k.idem_key, k.state, k.updated_at));
	}
	if (s.counters.length > 0) {
		stmts.push(
			db
				.prepare(
					`DELETE FROM customer_product_units WHERE user_id = ? AND EXISTS (
					   SELECT 1 FROM json_each(?) r WHERE json_extract(r.value, '$[0]') = customer_product_units.product_id AND json_extract(r.value, '$[1]') = customer_product_units.units)`,
				)
				.bind(sub, JSON.stringify(s.counters.map((c) => [c.product_id, c.units]))),
		);
	}
	return stmts;
}

/** Moves one customer's rows from `move.from` to `move.to` (see the file's comment). */
export async function moveCustomer(env: Env, sub: string, move: Move, nowMs: number): Promise<MoveOutcome> {
	const shards = orderShards(env);
	const source = shards[move.from];
	const target = shards[move.to];
	if (!source || !target) throw new RangeError(`no shard ${move.from} or ${move.to} among ${shards.length}`);
	const s = await snapshot(source, sub, nowMs);
	if (s.carts.length === 0 && s.keys.length === 0 && s.counters.length === 0) return { kind: "nothing_left" };
	const elsewhere = s.counters.length > 0 ? await liveUnitsElsewhere(shards, sub, move.to) : undefined;
	await target.batch(writeStmts(target, sub, s, elsewhere, new Date(nowMs).toISOString()));
	await source.batch(deleteStmts(source, sub, s));
	log.info("[rehome]", "customer_moved", { user_id: sub, from: move.from, to: move.to, cart: s.carts.length > 0, keys: s.keys.length, counters: s.counters.length });
	return { kind: "moved", cart: s.carts.length > 0, keys: s.keys.length, counters: s.counters.length, to: move.to };
}

/**
 * A customer's counters in their shard recounted from their live orders in
 * every shard. For a change outside the customer's shard that the counters
 * must follow: a cancelled order placed before the customer moved gives its
 * units back in its own shard's counters, which no longer hold the customer's.
 * Safe to repeat; a failure leaves the counters too high, never too low.
 */
export async function recountCustomer(env: Env, sub: string): Promise<void> {
	const shards = orderShards(env);
	const home = shardIndexOf(sub, shards.length);
	await recountStmt(shards[home]!, sub, await liveUnitsElsewhere(shards, sub, home)).run();
}

/** The live units of a customer's orders in every shard but `home` (where they were placed before moves). */
async function liveUnitsElsewhere(shards: readonly D1Database[], sub: string, home: number): Promise<Array<[string, number]>> {
	const pages = await Promise.all(
		shards.map(async (db, i) =>
			i === home ? [] : (await db.prepare(`SELECT products FROM orders WHERE user_id = ? AND status <> 'cancelled'`).bind(sub).all<{ products: string }>()).results,
		),
	);
	return liveUnits(pages.flat());
}

/** Moves a customer if a move is under way and they have rows left where they were: before any request of theirs is served. */
export async function homeCustomer(env: Env, sub: string, nowMs: number): Promise<MoveOutcome> {
	const from = rehomeFrom(env);
	const move = from === undefined ? undefined : moveOf(sub, from, orderShards(env).length);
	if (!move) return { kind: "stays" };
	return moveCustomer(env, sub, move, nowMs);
}

/** The next customers with rows in a shard, after `after`, in user_id order. */
async function customersAfter(db: D1Database, after: string, since: string, limit: number): Promise<string[]> {
	const { results } = await db
		.prepare(
			`SELECT user_id FROM (SELECT user_id FROM carts WHERE status IN ('active', 'moved') AND user_id > ?1 ORDER BY user_id LIMIT ?3)
			 UNION SELECT user_id FROM (SELECT DISTINCT user_id FROM customer_product_units WHERE user_id > ?1 ORDER BY user_id LIMIT ?3)
			 UNION SELECT user_id FROM (SELECT DISTINCT user_id FROM idempotency_keys WHERE user_id > ?1 AND updated_at >= ?2 ORDER BY user_id LIMIT ?3)
			 ORDER BY user_id LIMIT ?3`,
		)
		.bind(after, since, limit)
		.all<{ user_id: string }>();
	return results.map((r) => r.user_id);
}

async function progressOf(db: D1Database, n: number): Promise<Progress> {
	const row = await db.prepare(`SELECT scanned_after, moved_in_round, moved_total, done_at FROM rehome_progress WHERE shards = ?`).bind(n).first<Progress>();
	return row ?? FRESH_PROGRESS;
}

function saveProgress(db: D1Database, n: number, p: Progress, now: string): Promise<unknown> {
	return db
		.prepare(
			`INSERT INTO rehome_progress (shards, scanned_after, moved_in_round, moved_total, done_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (shards) DO UPDATE SET scanned_after = excluded.scanned_after, moved_in_round = excluded.moved_in_round,
			   moved_total = excluded.moved_total, done_at = excluded.done_at, updated_at = excluded.updated_at`,
		)
		.bind(n, p.scanned_after, p.moved_in_round, p.moved_total, p.done_at, now)
		.run();
}

export interface RehomeReport {
	/** Customers moved by this run. */
	moved: number;
	/** Old shards whose customers have all been moved (a whole round found none left). */
	shards_done: number;
	/** Old shards scanned. */
	shards: number;
	failures: number;
}

/**
 * One reconciler run of the move: per old shard, from where the last run
 * stopped, at most SCAN_PER_RUN customers looked at and MOVES_PER_RUN moved
 * (over all shards). Nothing to do when no move is under way.
 */
export async function rehomePass(env: Env, nowMs: number): Promise<RehomeReport | undefined> {
	const from = rehomeFrom(env);
	if (from === undefined) return undefined;
	const shards = orderShards(env);
	const n = shards.length;
	const now = new Date(nowMs).toISOString();
	const report: RehomeReport = { moved: 0, shards_done: 0, shards: from, failures: 0 };
	for (let index = 0; index < from; index++) {
		const db = shards[index]!;
		const progress = await progressOf(db, n);
		if (progress.done_at !== null) {
			report.shards_done++;
			continue;
		}
		let after = progress.scanned_after;
		const scanned: string[] = [];
		let atEnd = false;
		let moved = 0;
		let failed = 0;
		while (!atEnd && scanned.length < SCAN_PER_RUN && report.moved < MOVES_PER_RUN) {
			const want = Math.min(PAGE, SCAN_PER_RUN - scanned.length);
			const page = await customersAfter(db, after, keysSince(nowMs), want);
			let cut = false;
			for (const sub of page) {
				if (report.moved >= MOVES_PER_RUN) {
					cut = true;
					break;
				}
				scanned.push(sub);
				after = sub;
				const to = shardIndexOf(sub, n);
				if (to === index) continue;
				try {
					if ((await moveCustomer(env, sub, { from: index, to }, nowMs)).kind === "moved") {
						moved++;
						report.moved++;
					}
				} catch (err) {
					failed++;
					report.failures++;
					log.warn("[rehome]", "customer_move_failed", { user_id: sub, from: index, to, error: String(err) });
				}
			}
			if (!cut && page.length < want) atEnd = true;
		}
		const next = nextProgress(progress, scanned, atEnd, moved, failed, now);
		await saveProgress(db, n, next, now);
		if (next.done_at !== null) report.shards_done++;
	}
	log.info("[rehome]", "run", { from, to: n, ...report });
	return report;
}
