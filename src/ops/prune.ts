/**
 * The reconciler's pruning step: tables that would otherwise grow with every
 * event are cut by age, a bounded amount per run (the cron runs every minute,
 * so a backlog is caught up over a few runs without one run doing it all).
 *
 * - Finished webhook messages (delivered or given up) and their attempts:
 *   kept WEBHOOK_RETENTION_DAYS after they were created (default 7).
 * - processed_events: kept PROCESSED_EVENTS_KEEP_MS (src/events/processed.ts).
 */
import { config } from "../config";
import type { Env } from "../env";
import { PROCESSED_EVENTS_KEEP_MS, pruneProcessed } from "../events/processed";
import { pruneFinishedMessages } from "../webhooks/queries";

/** Rows one run deletes at most, per table (a message takes its attempts, at most 9, with it). */
export const PRUNE_LIMITS = { webhookMessages: 1000, processedEvents: 5000 } as const;

export interface RetentionCutoffs {
	webhookMessagesBefore: string;
	processedEventsBefore: string;
}

/** What is old enough to go at `now`. Pure. */
export function retentionCutoffs(now: number, webhookRetentionMs: number): RetentionCutoffs {
	return {
		webhookMessagesBefore: new Date(now - webhookRetentionMs).toISOString(),
		processedEventsBefore: new Date(now - PROCESSED_EVENTS_KEEP_MS).toISOString(),
	};
}

export interface PruneReport {
	webhook_messages: number;
	webhook_deliveries: number;
	processed_events: number;
}

export async function prune(env: Env, now: number): Promise<PruneReport> {
	const cut = retentionCutoffs(now, config(env).webhookRetentionMs);
	const webhooks = await pruneFinishedMessages(env.DB, cut.webhookMessagesBefore, PRUNE_LIMITS.webhookMessages);
	const processed = await pruneProcessed(env.DB, cut.processedEventsBefore, PRUNE_LIMITS.processedEvents);
	return { webhook_messages: webhooks.messages, webhook_deliveries: webhooks.deliveries, processed_events: processed };
}
