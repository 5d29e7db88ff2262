/**
 * Delivering events to the shop's endpoints.
 *
 * - storeMessages + attemptAll (queue consumer): turn stockgate events into
 *   one message per subscribed active endpoint (endpoints.ts: a copy at most
 *   seconds old), stored in the database of its event (an order's shard, or
 *   DB for the shop's own events) with a webhook-id derived from (event,
 *   endpoint), so a redelivered queue message or a re-sent event adds nothing;
 *   new messages get their first attempt right away (those of an endpoint that
 *   is currently failing wait for the reconciler instead).
 * - deliverDue (cron reconciler, every minute): claims due messages fairly
 *   across endpoints (DUE_CAPS), in DB and in every shard in parallel, and
 *   attempts them; failures are retried on the schedule in schedule.ts.
 * - attempt: one signed POST with a bounded timeout; every attempt is a row in
 *   webhook_deliveries. A run records its attempts at its end, in one batch
 *   per database, and the endpoints' failing streaks in one batch on DB, so
 *   the writes to DB do not grow with the number of events. Any 2xx is delivered; anything else fails, redirects
 *   too (never followed: their target was never checked). The URL is checked
 *   again before every attempt. A failure is recorded as a generic class
 *   (AttemptError), never the runtime's message: the deliveries list must not
 *   tell an admin how an address answers beyond its HTTP status.
 *
 * An order's events reach each endpoint in their sequence: a later one is not
 * attempted while an earlier one of its order to that endpoint is pending
 * (first attempt or retry); once that one is delivered, the next is attempted
 * right after it (claimSuccessor), and a failure leaves the later ones to the
 * reconciler, which claims them only in order.
 *
 * `send` (default: global fetch) and `timeoutMs` are injectable for tests.
 */
import type { Env } from "../env";
import { byDatabase, eventDatabases, eventDb } from "../events/stores";
import type { StockgateEvent } from "../events/types";
import { log } from "../shared/log";
import { activeEndpoints, forgetEndpoints } from "./endpoints";
import { toWebhookEvent } from "./events";
import {
	claimDue,
	claimSuccessor,
	giveUpPending,
	insertMessages,
	recordAttempts,
	releaseLeases,
	updateStreaks,
	waitingBehind,
	type AttemptRow,
	type ClaimedMessage,
	type EndpointRecord,
	type Job,
	type NewMessage,
} from "./queries";
import { ATTEMPT_TIMEOUT_MS, disableCutoff, nextAttemptAt } from "./schedule";
import { messageId, signature } from "./signing";
import { allowsHttpLocalhost, urlProblem } from "./url";

export type Send = (url: string, init: RequestInit) => Promise<Response>;

export interface DeliveryOptions {
	send?: Send;
	timeoutMs?: number;
}

/** A claimed message is not taken again for this long (far above one attempt's timeout). */
const LEASE_MS = 5 * 60_000;
/**
 * What one reconciler run claims in each database: 50 messages at most, 20
 * per endpoint, and one (a probe) per endpoint that is failing, so a dead
 * endpoint's backlog costs one attempt a run and never holds up another
 * endpoint's retries.
 */
export const DUE_CAPS = { total: 50, perEndpoint: 20, perFailingEndpoint: 1 } as const;
/** Attempts in flight at once (a Worker invocation opens 6 connections at a time). */
const PARALLEL = 6;

const iso = (ms: number) => new Date(ms).toISOString();

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await fn(items[next++]!);
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** What a failed attempt records: a closed set of classes. */
export type AttemptError = "timeout" | "connection_failed" | "target_refused" | `http_${number}`;

function thrownError(err: unknown): AttemptError {
	return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") ? "timeout" : "connection_failed";
}

export type AttemptOutcome = "delivered" | "retry" | "gave_up";

/** One attempt of `job` at `now`, to be recorded by the caller; never throws for the receiver's failures. */
export async function attempt(env: Env, job: Job, now: number, opts: DeliveryOptions = {}): Promise<{ outcome: AttemptOutcome; row: AttemptRow }> {
	const send = opts.send ?? ((url, init) => fetch(url, init));
	const timeoutMs = opts.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
	const n = job.attempts + 1;
	let status: number | null = null;
	let error: AttemptError | null = null;
	// The runtime's own words go to the operator's log only.
	let detail: string | undefined;
	if (urlProblem(job.url, allowsHttpLocalhost(env))) {
		error = "target_refused";
	} else {
		const timestamp = Math.floor(now / 1000);
		try {
			const res = await send(job.url, {
				method: "POST",
				headers: {
					"content-type": "application/json",
					"user-agent": "stockgate-webhooks/1",
					"webhook-id": job.message_id,
					"webhook-timestamp": String(timestamp),
					"webhook-signature": await signature(job.secret, job.message_id, timestamp, job.payload),
				},
				body: job.payload,
				redirect: "manual",
				signal: AbortSignal.timeout(timeoutMs),
			});
			status = res.status;
			await res.body?.cancel().catch(() => {});
			if (status < 200 || status > 299) error = `http_${status}`;
		} catch (err) {
			error = thrownError(err);
			detail = String(err).slice(0, 300);
		}
	}
	const delivered = error === null;
	const next = delivered ? null : nextAttemptAt(n, now);
	const outcome: AttemptOutcome = delivered ? "delivered" : next === null ? "gave_up" : "retry";
	const fields = { webhook_id: job.webhook_id, message_id: job.message_id, event_id: job.event_id, event_type: job.event_type, attempt: n, status_code: status };
	if (delivered) log.info("[webhooks]", "delivered", fields);
	else log.warn("[webhooks]", outcome === "gave_up" ? "message_given_up" : "attempt_failed", { ...fields, error, detail, next_attempt_at: next === null ? null : iso(next) });
	const row: AttemptRow = {
		message_id: job.message_id,
		webhook_id: job.webhook_id,
		event_id: job.event_id,
		event_type: job.event_type,
		attempt: n,
		status_code: status,
		error,
		at: iso(now),
		state: outcome === "retry" ? "pending" : outcome === "delivered" ? "delivered" : "failed",
		next_attempt_at: next === null ? null : iso(next),
	};
	return { outcome, row };
}

function jobOf(db: D1Database, m: ClaimedMessage, ep: EndpointRecord): Job {
	return { ...m, db, url: ep.url, secret: ep.secret };
}

/**
 * Stores one message per (event, subscribed active endpoint), in the database
 * of its event; returns the new ones that should be attempted right away (not
 * those of an endpoint that is currently failing: the reconciler takes those).
 * Throws only if D1 cannot store them (the queue then retries the batch;
 * storing again adds nothing).
 */
export async function storeMessages(env: Env, events: StockgateEvent[], now: number): Promise<Job[]> {
	const located = events.flatMap((e) => {
		const webhook = toWebhookEvent(e);
		const db = eventDb(env, e);
		return webhook && db ? [{ db, event: webhook }] : [];
	});
	if (located.length === 0) return [];
	const endpoints = await activeEndpoints(env);
	if (endpoints.length === 0) return [];
	const rows = new Map<D1Database, NewMessage[]>();
	const jobs = new Map<string, Job>();
	for (const { db, event } of located) {
		const payload = JSON.stringify(event);
		const sequence = typeof event.data.sequence === "number" ? event.data.sequence : null;
		const order_id = sequence !== null && typeof event.data.order_id === "string" ? event.data.order_id : null;
		for (const ep of endpoints) {
			if (!ep.events.includes(event.type)) continue;
			const id = await messageId(event.id, ep.webhook_id);
			const message = { message_id: id, webhook_id: ep.webhook_id, event_id: event.id, event_type: event.type, payload, order_id, sequence };
			// A failing endpoint's new messages are due now for the reconciler; the others are leased to the first attempt.
			const list = rows.get(db) ?? [];
			list.push({ ...message, next_attempt_at: iso(ep.failing_since ? now : now + LEASE_MS) });
			rows.set(db, list);
			if (!ep.failing_since) jobs.set(id, { ...message, db, attempts: 0, url: ep.url, secret: ep.secret });
		}
	}
	const inserted = await Promise.all([...rows].map(([db, list]) => insertMessages(db, list, iso(now))));
	return inserted.flat().flatMap((id) => jobs.get(id) ?? []);
}

export interface AttemptReport {
	attempted: number;
	delivered: number;
	failed: number;
}

/**
 * The jobs in lanes: an order's events to one endpoint form one lane, in
 * sequence, attempted one after the other; every other job is a lane of its own.
 */
function lanesOf(jobs: Job[]): Job[][] {
	const lanes = new Map<string, Job[]>();
	for (const job of jobs) {
		const key = job.sequence !== null && job.order_id !== null ? `${job.webhook_id} ${job.order_id}` : job.message_id;
		const lane = lanes.get(key);
		if (lane) lane.push(job);
		else lanes.set(key, [job]);
	}
	return [...lanes.values()].map((lane) => lane.sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0)));
}

/** Of these jobs, those an earlier pending message of their order to their endpoint must go before; asked of each job's database. */
async function behindOf(jobs: Job[]): Promise<Set<string>> {
	const sets = await Promise.all([...byDatabase(jobs, (j) => j.db)].map(([db, list]) => waitingBehind(db, list)));
	return new Set(sets.flatMap((set) => [...set]));
}

async function release(jobs: Job[], now: number): Promise<void> {
	await Promise.all([...byDatabase(jobs, (j) => j.db)].map(([db, list]) => releaseLeases(db, list.map((j) => j.message_id), iso(now))));
}

/** Per endpoint, in the order the attempts ended: whether the last one delivered, and whether any did. */
function streaksOf(attempts: Array<{ webhook_id: string; ok: boolean }>) {
	const byEndpoint = new Map<string, { webhook_id: string; last_ok: boolean; any_ok: boolean }>();
	for (const a of attempts) {
		const s = byEndpoint.get(a.webhook_id) ?? { webhook_id: a.webhook_id, last_ok: a.ok, any_ok: false };
		s.last_ok = a.ok;
		s.any_ok ||= a.ok;
		byEndpoint.set(a.webhook_id, s);
	}
	return [...byEndpoint.values()];
}

/**
 * Pure: whether a run's outcome at an endpoint may change its row, given its
 * failing streak as last read (undefined: not known). A healthy endpoint that
 * stays healthy, or a failing one that fails again short of the cut-off,
 * costs DB no write; a copy seconds old at worst delays a change to a later run.
 */
export function streakMayChange(s: { last_ok: boolean; any_ok: boolean }, failingSince: string | null | undefined, cutoff: string): boolean {
	if (failingSince === undefined) return true;
	if (s.last_ok) return failingSince !== null;
	return failingSince === null || s.any_ok || failingSince <= cutoff;
}

/**
 * Records a run's attempts: one batch per database holding their messages,
 * then the endpoints' streaks in one batch on DB. An endpoint this disables
 * has its pending messages given up in every database. An attempt whose
 * database write fails stays leased and is tried again when its lease ends.
 */
async function recordRun(env: Env, done: Array<{ job: Job; row: AttemptRow }>, now: number): Promise<void> {
	if (done.length === 0) return;
	const recorded = await Promise.all(
		[...byDatabase(done, (d) => d.job.db)].map(async ([db, list]) => {
			try {
				await recordAttempts(
					db,
					list.map((d) => d.row),
				);
				return list;
			} catch (err) {
				log.warn("[webhooks]", "attempt_not_recorded", { message_ids: list.map((d) => d.job.message_id), error: String(err) });
				return [];
			}
		}),
	);
	const cutoff = iso(disableCutoff(now));
	const known = new Map((await activeEndpoints(env)).map((e) => [e.webhook_id, e.failing_since]));
	const streaks = streaksOf(recorded.flat().map((d) => ({ webhook_id: d.job.webhook_id, ok: d.row.state === "delivered" }))).filter((s) =>
		streakMayChange(s, known.has(s.webhook_id) ? (known.get(s.webhook_id) ?? null) : undefined, cutoff),
	);
	const { disabled, changed } = await updateStreaks(env.DB, streaks, iso(now), cutoff);
	if (changed) forgetEndpoints();
	if (disabled.length === 0) return;
	await Promise.all((await eventDatabases(env)).map((db) => giveUpPending(db, disabled)));
	for (const webhookId of disabled) {
		const url = done.find((d) => d.job.webhook_id === webhookId)?.job.url;
		log.error("endpoint_disabled", { webhook_id: webhookId, url, reason: "every delivery failed for 24 hours", at: iso(now) }, "[webhooks]");
	}
}

/**
 * Attempts `jobs` a few lanes at a time (an order's events to one endpoint in
 * sequence, stopping at the first not delivered; then its next pending one, if
 * free), then records them all (recordRun).
 */
export async function attemptAll(env: Env, jobs: Job[], now: number, opts: DeliveryOptions = {}): Promise<AttemptReport> {
	const report: AttemptReport = { attempted: 0, delivered: 0, failed: 0 };
	if (jobs.length === 0) return report;
	const behind = await behindOf(jobs);
	const lanes = lanesOf(jobs);
	// A lane whose first event has an earlier one of its order still pending at that endpoint waits for the reconciler.
	const waiting = lanes.filter((lane) => behind.has(lane[0]!.message_id));
	await release(waiting.flat(), now);
	const active = new Map((await activeEndpoints(env)).map((e) => [e.webhook_id, e]));
	const done: Array<{ job: Job; row: AttemptRow }> = [];
	const one = async (job: Job): Promise<boolean> => {
		report.attempted++;
		try {
			const { outcome, row } = await attempt(env, job, now, opts);
			done.push({ job, row });
			if (outcome === "delivered") report.delivered++;
			else report.failed++;
			return outcome === "delivered";
		} catch (err) {
			// Not even signed (a bug, or a stored secret that does not decode): it stays leased and is tried again later.
			report.failed++;
			log.warn("[webhooks]", "attempt_not_recorded", { message_id: job.message_id, error: String(err) });
			return false;
		}
	};
	try {
		await forEachLimit(
			lanes.filter((lane) => !behind.has(lane[0]!.message_id)),
			PARALLEL,
			async (lane) => {
				for (const [i, job] of lane.entries()) {
					if (!(await one(job))) {
						// Not delivered: the later ones of its order wait for its retry (the reconciler claims them in order).
						await release(lane.slice(i + 1), now);
						return;
					}
				}
				let last = lane[lane.length - 1]!;
				while (last.sequence !== null && last.order_id !== null) {
					const ep = active.get(last.webhook_id);
					if (!ep) return;
					const next = await claimSuccessor(last.db, last.webhook_id, last.order_id, last.sequence, iso(now), iso(now + LEASE_MS));
					if (!next || !(await one(jobOf(last.db, next, ep)))) return;
					last = jobOf(last.db, next, ep);
				}
			},
		);
	} finally {
		await recordRun(env, done, now);
	}
	return report;
}

/** Attempts the messages due at `now` in DB and in every shard (the reconciler's step). */
export async function deliverDue(env: Env, now: number, opts: DeliveryOptions = {}): Promise<AttemptReport> {
	const endpoints = await activeEndpoints(env);
	const byId = new Map(endpoints.map((e) => [e.webhook_id, e]));
	const targets = endpoints.map((e) => ({ webhook_id: e.webhook_id, failing: e.failing_since !== null }));
	const claims = await Promise.allSettled(
		(await eventDatabases(env)).map(async (db) => (await claimDue(db, targets, iso(now), iso(now + LEASE_MS), DUE_CAPS)).map((m) => jobOf(db, m, byId.get(m.webhook_id)!))),
	);
	const jobs: Job[] = [];
	for (const c of claims) {
		if (c.status === "fulfilled") jobs.push(...c.value);
		else log.warn("[webhooks]", "claim_failed", { error: String(c.reason) });
	}
	const report = await attemptAll(env, jobs, now, opts);
	if (jobs.length > 0) log.info("[webhooks]", "due_run", { ...report });
	return report;
}
