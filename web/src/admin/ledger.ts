/**
 * Reading a warehouse's ledger to its end. The API pages forward from a
 * sequence number (`?after=`) and has no "newest" query, so finding the end
 * walks it in the largest pages it serves.
 */
import { must, type Api, type Schemas } from "../api/client";

export type LedgerEntry = Schemas["LedgerPage"]["entries"][number];

const BIG_PAGE = 500;
const MAX_PAGES = 100;

/** Hands each page's entries after `after` to `each`, oldest first, up to the end (or MAX_PAGES pages). */
async function walk(api: Api, warehouseId: string, after: number, each: (entries: LedgerEntry[]) => void): Promise<void> {
	let from = after;
	for (let i = 0; i < MAX_PAGES; i++) {
		const p = await must(api.GET("/admin/warehouses/{warehouse_id}/ledger", { params: { path: { warehouse_id: warehouseId }, query: { after: from, limit: BIG_PAGE } } }));
		each(p.entries);
		if (p.next_after === null) return;
		from = p.next_after;
	}
}

/** Every entry after `after`, oldest first. */
export async function ledgerSince(api: Api, warehouseId: string, after: number): Promise<LedgerEntry[]> {
	const out: LedgerEntry[] = [];
	await walk(api, warehouseId, after, (entries) => out.push(...entries));
	return out;
}

/** The newest entry's sequence number; 0 for an empty ledger. */
export async function ledgerTail(api: Api, warehouseId: string): Promise<number> {
	let last = 0;
	await walk(api, warehouseId, 0, (entries) => {
		if (entries.length > 0) last = entries[entries.length - 1]!.seq;
	});
	return last;
}
