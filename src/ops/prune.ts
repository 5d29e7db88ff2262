/**
 * The reconciler's pruning step: tables that would otherwise grow with every
 * event are cut by age, a bounded amount per run and per database (DB and
 * each shard, in parallel; the cron runs every minute, so a backlog is caught
 * up over a few runs without one run doing it all).
 *
 * - Finished webhook messages (delivered or given up) and their attempts:
 *   kept WEBHOOK_RETENTION_DAYS after they were created (default 7); pending
 *   ones of a deleted endpoint go after the same time.
 * - processed_events: kept PROCESSED_EVENTS_KEEP_MS (src/events/processed.ts).
 * - order_event_cursor of finished orders (src/events/delivered.ts).
 */
import { config } from "../config";
import type { Env } from "../env";
import { pruneFinishedCursors } from "../events/delivered";
import { PROCESSED_EVENTS_KEEP_MS, pruneProcessed } from "../events/processed";
import { eventDatabases } from "../events/stores";
import { listEndpoints } from "../webhooks/queries";
import { pruneFinishedMessages } from "../webhooks/queries";

/** Rows one run deletes at most, per table and per database (a message takes its attempts, at most 9, with it). */
export const PRUNE_LIMITS = { webhookMessages: 1000, processedEvents: 5000, orderCursors: 1000 } as const;

export interface RetentionCutoffs {
	webhookMessagesBefore: string;
	processedEventsBefore: string;
	/** A finished order's cursor goes once its last change is this old: no copy of its events can still arrive. */
	orderCursorsBefore: string;
}

/** What is old enough to go at `now`. Pure. */
export function retentionCutoffs(now: number, webhookRetentionMs: number): RetentionCutoffs {
	return {
		webhookMessagesBefore: new Date(now - webhookRetentionMs).toISOString(),
		processedEventsBefore: new Date(now - PROCESSED_EVENTS_KEEP_MS).toISOString(),
		orderCursorsBefore: new Date(now - PROCESSED_EVENTS_KEEP_MS).toISOString(),
	};
}

export interface PruneReport {
	webhook_messages: number;
	webhook_deliveries: number;
	processed_events: number;
	order_event_cursors: number;
}

async function pruneOne(db: D1Database, cut: RetentionCutoffs, endpointIds: string[]): Promise<PruneReport> {
	const webhooks = await pruneFinishedMessages(db, cut.webhookMessagesBefore, PRUNE_LIMITS.webhookMessages, endpointIds);
	const processed = await pruneProcessed(db, cut.processedEventsBefore, PRUNE_LIMITS.processedEvents);
	const cursors = await pruneFinishedCursors(db, cut.orderCursorsBefore, PRUNE_LIMITS.orderCursors);
	return { webhook_messages: webhooks.messages, webhook_deliveries: webhooks.deliveries, processed_events: processed, order_event_cursors: cursors };
}

/** Prunes every database in parallel; the report sums them. */
export async function prune(env: Env, now: number): Promise<PruneReport> {
	const cut = retentionCutoffs(now, config(env).webhookRetentionMs);
	// Read fresh (not the isolate's copy): a message is only pruned as an orphan if its endpoint is gone from DB.
	const endpointIds = (await listEndpoints(env.DB)).map((e) => e.webhook_id);
	const reports = await Promise.all((await eventDatabases(env)).map((db) => pruneOne(db, cut, endpointIds)));
	return reports.reduce((a, b) => ({
		webhook_messages: a.webhook_messages + b.webhook_messages,
		webhook_deliveries: a.webhook_deliveries + b.webhook_deliveries,
		processed_events: a.processed_events + b.processed_events,
		order_event_cursors: a.order_event_cursors + b.order_event_cursors,
	}));
}
