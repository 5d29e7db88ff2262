/**
 * The admin's reads of a warehouse whose units may be split over shard
 * objects: one row per unit with its levels summed over the pool and every
 * shard, and one ledger merged from every object in time order, each entry
 * naming its shard (null: the warehouse's own object, where the pool is).
 */
import type { Env } from "../env";
import { warehouseStub } from "./client";
import type { ShardConfig } from "./object/store";
import { shardName } from "./shardNames";
import type { LedgerEntry, LedgerPage, Snapshot, StockRow } from "./types";
import { unitKey } from "./types";

export type StockViewRow = StockRow & { shards: number; pool: number | null };

/** Every shard slot a unit has had (holds may be open at any of them). */
function slots(c: ShardConfig): number[] {
	const n = Math.max(...c.generations);
	return n > 1 ? Array.from({ length: n }, (_, k) => k) : [];
}

export async function stockRowsWithShards(env: Env, warehouseId: string): Promise<{ items: StockViewRow[]; holds: Snapshot["holds"] }> {
	const main = warehouseStub(env, warehouseId);
	const [view, configs] = await Promise.all([main.stockView(), main.shardConfigs()]);
	const byUnit = new Map(configs.map((c) => [unitKey(c), c]));
	let held = view.holds.held;
	let nextExpiry = view.holds.next_expiry;
	const items = await Promise.all(
		view.items.map(async (row): Promise<StockViewRow> => {
			const c = byUnit.get(unitKey(row));
			if (!c) return { ...row, shards: 1, pool: null };
			const shardViews = await Promise.all(slots(c).map((k) => warehouseStub(env, shardName(warehouseId, c, k)).stockView()));
			let on_hand = row.on_hand;
			let reserved = row.reserved;
			let free = 0;
			for (const v of shardViews) {
				held += v.holds.held;
				if (v.holds.next_expiry !== null && (nextExpiry === null || v.holds.next_expiry < nextExpiry)) nextExpiry = v.holds.next_expiry;
				const s = v.items.find((i) => unitKey(i) === unitKey(row));
				if (!s) continue;
				on_hand += s.on_hand;
				reserved += s.reserved;
				free += s.on_hand - s.reserved;
			}
			return { ...row, on_hand, reserved, available: row.available + free, shards: c.shards, pool: row.on_hand };
		}),
	);
	return { items, holds: { held, next_expiry: nextExpiry } };
}

const PAGE = 500;

async function wholeLedger(read: (after: number, limit: number) => Promise<LedgerPage>): Promise<LedgerEntry[]> {
	const out: LedgerEntry[] = [];
	let after = 0;
	for (;;) {
		const page = await read(after, PAGE);
		out.push(...page.entries);
		if (page.next_after === null) return out;
		after = page.next_after;
	}
}

/**
 * The warehouse's ledger. Without sharded units: the object's own, paged by its
 * seq. With them: every object's entries merged by time (the warehouse's object
 * first on a tie, then shard by shard, each in its own order), numbered 1.. in
 * that order, each with `shard`.
 */
export async function ledgerWithShards(env: Env, warehouseId: string, after: number, limit: number): Promise<LedgerPage> {
	const main = warehouseStub(env, warehouseId);
	const configs = await main.shardConfigs();
	const sharded = configs.filter((c) => slots(c).length > 0);
	if (sharded.length === 0) return main.ledger(after, limit);
	const sources: Array<{ shard: number | null; read: (after: number, limit: number) => Promise<LedgerPage> }> = [{ shard: null, read: (a, l) => main.ledger(a, l) }];
	for (const c of sharded) {
		for (const k of slots(c)) {
			const stub = warehouseStub(env, shardName(warehouseId, c, k));
			sources.push({ shard: k, read: (a, l) => stub.ledger(a, l) });
		}
	}
	const all = await Promise.all(sources.map(async (s, order) => (await wholeLedger(s.read)).map((e) => ({ e: { ...e, shard: s.shard }, order }))));
	const merged = all
		.flat()
		.sort((a, b) => (a.e.at < b.e.at ? -1 : a.e.at > b.e.at ? 1 : a.order - b.order || a.e.seq - b.e.seq))
		.map((x, i) => ({ ...x.e, seq: i + 1 }));
	const entries = merged.slice(after, after + limit);
	return { entries, next_after: after + limit < merged.length ? after + limit : null };
}
