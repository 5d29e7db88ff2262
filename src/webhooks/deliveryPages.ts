/**
 * An endpoint's delivery attempts, newest first, over every database that
 * holds them (DB and each shard), behind an opaque cursor.
 *
 * Each database is read newest first by its own delivery_id (its index), and
 * the lists are merged by time, newest first. The cursor holds, per database,
 * the delivery_id below which its next rows lie: the last one shown, or for a
 * database none was shown from yet, just above its newest row when the first
 * page was read. So pages are exact: every attempt that existed when the first
 * page was read is shown once, none twice, while attempts are being recorded
 * (those recorded later belong above the first page).
 */
import type { Env } from "../env";
import { eventDatabases } from "../events/stores";
import { listDeliveries } from "./queries";
import type { Delivery } from "./schema";

/** Per database (in eventDatabases order): list below this delivery_id; null: from the newest. */
export type Positions = Array<number | null>;

export function encodeCursor(positions: number[]): string {
	return btoa(`d${positions.join(".")}`).replaceAll("=", "");
}

/** The numbers a cursor holds, or null when it is not one (a lone number, the single-database form, is at least 1). */
function numbersOf(cursor: string): number[] | null {
	let text: string;
	try {
		text = atob(cursor);
	} catch {
		return null;
	}
	if (!/^d(0|[1-9][0-9]{0,15})(\.(0|[1-9][0-9]{0,15}))*$/.test(text)) return null;
	const nums = text.slice(1).split(".").map(Number);
	return nums.length === 1 && nums[0] === 0 ? null : nums;
}

/** Whether `cursor` is shaped like one (how many databases it names is checked where it is used). */
export function isCursorShaped(cursor: string): boolean {
	return numbersOf(cursor) !== null;
}

/**
 * The positions of a cursor for `databases` databases, or null when it is not
 * one. A cursor of the single-database layout (one number) is DB's position;
 * the shards, which hold only attempts recorded since, are past their end.
 */
export function decodeCursor(cursor: string, databases: number): Positions | null {
	const nums = numbersOf(cursor);
	if (!nums) return null;
	if (nums.length === 1) return [nums[0]!, ...Array<number>(databases - 1).fill(0)];
	return nums.length === databases ? nums : null;
}

/**
 * Pure: merges the databases' lists, newest first by time (ties: database
 * order, then newer delivery_id), into a page of `limit`; returns the page and
 * the positions after it (null when nothing is left).
 */
export function mergePage(lists: Delivery[][], positions: Positions, limit: number): { deliveries: Delivery[]; next: number[] | null } {
	const heads = lists.map(() => 0);
	const page: Delivery[] = [];
	while (page.length < limit) {
		let best = -1;
		for (let i = 0; i < lists.length; i++) {
			const row = lists[i]![heads[i]!];
			if (!row) continue;
			const current = best < 0 ? undefined : lists[best]![heads[best]!]!;
			if (!current || row.at > current.at) best = i;
		}
		if (best < 0) break;
		page.push(lists[best]![heads[best]!]!);
		heads[best]!++;
	}
	const next = lists.map((list, i) => {
		const shown = heads[i]!;
		if (shown > 0) return list[shown - 1]!.delivery_id;
		// Nothing shown from it yet: pinned above its newest row now, so attempts recorded later stay out of this listing.
		return positions[i] ?? (list[0] ? list[0].delivery_id + 1 : 0);
	});
	const more = lists.some((list, i) => heads[i]! < list.length);
	return { deliveries: page, next: more ? next : null };
}

/** A page of an endpoint's attempts over every database; `cursor` as returned by the previous page. */
export async function deliveryPage(env: Env, webhookId: string, positions: Positions | null, limit: number): Promise<{ deliveries: Delivery[]; next_cursor: string | null }> {
	const dbs = await eventDatabases(env);
	const at = positions ?? dbs.map(() => null);
	const lists = await Promise.all(dbs.map((db, i) => (at[i] === 0 ? Promise.resolve([]) : listDeliveries(db, webhookId, at[i] ?? null, limit + 1))));
	const { deliveries, next } = mergePage(lists, at, limit);
	return { deliveries, next_cursor: next === null ? null : encodeCursor(next) };
}
