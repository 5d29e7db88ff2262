/**
 * Admin order lists over the shards, pure: each shard answers its own page
 * newest first after the cursor (keyset on (created_at, order_id), up to
 * `limit + 1` rows), and the merged page is the newest `limit` of them all.
 * Exact: every shard's page holds its own newest rows after the cursor, so
 * their union holds the newest of all; the next cursor is the last row
 * taken, and order ids are unique across shards, so the order is total and a
 * row is never on two pages nor skipped. Orders placed while a client pages
 * are newer than its cursor and do not show up on its later pages.
 */

export interface SortKey {
	created_at: string;
	order_id: string;
}

/** Newest first: created_at descending, then order_id descending. */
export function newerFirst(a: SortKey, b: SortKey): number {
	if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
	if (a.order_id !== b.order_id) return a.order_id < b.order_id ? 1 : -1;
	return 0;
}

/** Whether `row` comes after `cursor` in newest-first order (strictly older). */
export function after(row: SortKey, cursor: SortKey | null): boolean {
	return cursor === null || newerFirst(cursor, row) < 0;
}

export interface Merged<T extends SortKey> {
	rows: T[];
	/** The last row's key when more rows follow it on some shard; null on the last page. */
	next: SortKey | null;
}

/**
 * The page of `limit` rows after `cursor`, from each shard's own page. Each
 * shard page must be that shard's first `limit + 1` rows after the cursor, or
 * all of them: a shard page holding more rows than it says is not ours to cut.
 */
export function mergePages<T extends SortKey>(shardPages: ReadonlyArray<readonly T[]>, cursor: SortKey | null, limit: number): Merged<T> {
	if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
	const all = shardPages.flat().filter((r) => after(r, cursor));
	all.sort(newerFirst);
	const rows = all.slice(0, limit);
	const last = rows[rows.length - 1];
	return { rows, next: all.length > limit && last ? { created_at: last.created_at, order_id: last.order_id } : null };
}
