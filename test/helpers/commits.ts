/**
 * Waiting for the gathered commit. In the production default a 201 means the
 * order is decided and its stock held; the holds are committed right after
 * the answer, gathered per warehouse (src/checkout/commitLater.ts). A commit is
 * confirmed when its `commit` outbox row is gone, so these helpers poll D1 for
 * those rows, bounded: a commit left to the reconciler fails the wait instead
 * of hanging. With COMMIT_AFTER_ANSWER=false they return at once (or after the
 * rows' clean-up, gathered too).
 */
import { expect } from "vitest";
import { allRows, dbOfOrder } from "./shards";
import { eventually } from "./time";

/** A gathered window is 250 ms; this leaves room for a slow, shared machine. */
const COMMIT_WAIT_MS = 10_000;

/** A row of the gateway's outbox: a commit, release or cancel still to confirm at a warehouse. */
export interface OutboxEntry {
	order_id: string;
	warehouse_id: string;
	action: string;
}

/** The outbox rows of one order (of every order, shard by shard, when none is given), oldest first. */
export async function outboxOf(orderId?: string): Promise<OutboxEntry[]> {
	if (!orderId) return allRows<OutboxEntry>(`SELECT order_id, warehouse_id, action FROM outbox ORDER BY outbox_id`);
	return (await dbOfOrder(orderId).prepare(`SELECT order_id, warehouse_id, action FROM outbox WHERE order_id = ? ORDER BY outbox_id`).bind(orderId).all<OutboxEntry>()).results;
}

async function commitRows(orderIds: string[] | null): Promise<OutboxEntry[]> {
	return (await outboxOf()).filter((r) => r.action === "commit" && (orderIds === null || orderIds.includes(r.order_id)));
}

/** Waits until the holds of these orders are committed (no commit left in their outbox). */
export async function committed(...orderIds: string[]): Promise<void> {
	if (orderIds.length === 0) return;
	await eventually(async () => expect(await commitRows(orderIds), "commits still to confirm").toEqual([]), { timeoutMs: COMMIT_WAIT_MS });
}

/** Waits until no order of this file has a commit left to confirm. */
export async function commitsSettled(): Promise<void> {
	await eventually(async () => expect(await commitRows(null), "commits still to confirm").toEqual([]), { timeoutMs: COMMIT_WAIT_MS });
}

/** Waits for the commit of the order a 201 answered (any other answer placed nothing to wait for). */
export async function committedIfPlaced(r: { status: number; body: any }): Promise<void> {
	if (r.status === 201 && typeof r.body?.order_id === "string") await committed(r.body.order_id);
}
