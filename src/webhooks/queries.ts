/**
 * D1 queries of the webhooks: endpoints, messages (one per event and
 * endpoint: what to send, its state and when it is due) and deliveries (one
 * row per attempt). Times are ISO strings, compared as text.
 */
import type { Delivery, Endpoint, WebhookEventType } from "./schema";

/** An endpoint as stored. */
export interface EndpointRecord {
	webhook_id: string;
	url: string;
	events: WebhookEventType[];
	description: string | null;
	secret: string;
	active: boolean;
	created_at: string;
	/** The first failed attempt since the last success (null: not failing). */
	failing_since: string | null;
	disabled_at: string | null;
}

/** A message to attempt, with where it goes and the key it is signed with. */
export interface Job {
	message_id: string;
	webhook_id: string;
	event_id: string;
	event_type: WebhookEventType;
	payload: string;
	/** An order event's order and sequence: attempted only after the earlier ones of its order to this endpoint. */
	order_id: string | null;
	sequence: number | null;
	/** Attempts made before this one. */
	attempts: number;
	url: string;
	secret: string;
}

export interface NewMessage {
	message_id: string;
	webhook_id: string;
	event_id: string;
	event_type: WebhookEventType;
	payload: string;
	next_attempt_at: string;
	/** An order event's order and sequence (null for other events). */
	order_id: string | null;
	sequence: number | null;
}

export interface AttemptRecord {
	attempt: number;
	status_code: number | null;
	error: string | null;
	at: string;
	state: "pending" | "delivered" | "failed";
	next_attempt_at: string | null;
}

type Row = Record<string, unknown>;

function toEndpoint(r: Row): EndpointRecord {
	return {
		webhook_id: String(r.webhook_id),
		url: String(r.url),
		events: JSON.parse(String(r.events)) as WebhookEventType[],
		description: r.description === null ? null : String(r.description),
		secret: String(r.secret),
		active: Number(r.active) === 1,
		created_at: String(r.created_at),
		failing_since: r.failing_since === null ? null : String(r.failing_since),
		disabled_at: r.disabled_at === null ? null : String(r.disabled_at),
	};
}

export function endpointView(e: EndpointRecord): Endpoint {
	return { webhook_id: e.webhook_id, url: e.url, events: e.events, description: e.description, secret: e.secret, active: e.active, created_at: e.created_at, disabled_at: e.disabled_at };
}

const ENDPOINT_COLUMNS = `webhook_id, url, events, description, secret, active, created_at, failing_since, disabled_at`;

export async function insertEndpoint(db: D1Database, e: EndpointRecord): Promise<void> {
	await db
		.prepare(`INSERT INTO webhook_endpoints (${ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		.bind(e.webhook_id, e.url, JSON.stringify(e.events), e.description, e.secret, e.active ? 1 : 0, e.created_at, e.failing_since, e.disabled_at)
		.run();
}

export async function listEndpoints(db: D1Database, opts: { activeOnly?: boolean } = {}): Promise<EndpointRecord[]> {
	const { results } = await db
		.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints ${opts.activeOnly ? "WHERE active = 1" : ""} ORDER BY created_at, webhook_id`)
		.all<Row>();
	return results.map(toEndpoint);
}

export async function getEndpoint(db: D1Database, webhookId: string): Promise<EndpointRecord | null> {
	const r = await db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE webhook_id = ?`).bind(webhookId).first<Row>();
	return r ? toEndpoint(r) : null;
}

/** Deletes an endpoint with its messages and deliveries; false when there was none. */
export async function deleteEndpoint(db: D1Database, webhookId: string): Promise<boolean> {
	const results = await db.batch([
		db.prepare(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`).bind(webhookId),
		db.prepare(`DELETE FROM webhook_messages WHERE webhook_id = ?`).bind(webhookId),
		db.prepare(`DELETE FROM webhook_endpoints WHERE webhook_id = ?`).bind(webhookId),
	]);
	return (results[2]?.meta.changes ?? 0) > 0;
}

/** Inserts messages not already there (same event, same endpoint); returns the ids it inserted. */
export async function insertMessages(db: D1Database, rows: NewMessage[], createdAt: string): Promise<string[]> {
	if (rows.length === 0) return [];
	const { results } = await db
		.prepare(
			`INSERT INTO webhook_messages (message_id, webhook_id, event_id, event_type, payload, state, attempts, created_at, next_attempt_at, order_id, sequence)
			 SELECT json_extract(value, '$.message_id'), json_extract(value, '$.webhook_id'), json_extract(value, '$.event_id'),
			        json_extract(value, '$.event_type'), json_extract(value, '$.payload'), 'pending', 0, ?, json_extract(value, '$.next_attempt_at'),
			        json_extract(value, '$.order_id'), json_extract(value, '$.sequence')
			 FROM json_each(?) WHERE true
			 ON CONFLICT DO NOTHING RETURNING message_id`,
		)
		.bind(createdAt, JSON.stringify(rows))
		.all<{ message_id: string }>();
	return results.map((r) => r.message_id);
}

/** An order event's message waits while an earlier one of its order to the same endpoint is pending. */
const NO_EARLIER_PENDING = `NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE m.sequence IS NOT NULL AND p.webhook_id = m.webhook_id AND p.order_id = m.order_id
	AND p.state = 'pending' AND p.sequence < m.sequence)`;

function toJob(r: Row): Job {
	return {
		message_id: String(r.message_id),
		webhook_id: String(r.webhook_id),
		event_id: String(r.event_id),
		event_type: r.event_type as WebhookEventType,
		payload: String(r.payload),
		order_id: r.order_id === null || r.order_id === undefined ? null : String(r.order_id),
		sequence: r.sequence === null || r.sequence === undefined ? null : Number(r.sequence),
		attempts: Number(r.attempts),
		url: String(r.url),
		secret: String(r.secret),
	};
}

/** Reads the jobs of claimed messages. */
async function jobsOf(db: D1Database, messageIds: string[]): Promise<Job[]> {
	if (messageIds.length === 0) return [];
	const { results } = await db
		.prepare(
			`SELECT m.message_id, m.webhook_id, m.event_id, m.event_type, m.payload, m.order_id, m.sequence, m.attempts, e.url, e.secret
			 FROM webhook_messages m JOIN webhook_endpoints e ON e.webhook_id = m.webhook_id
			 WHERE m.message_id IN (SELECT value FROM json_each(?))`,
		)
		.bind(JSON.stringify(messageIds))
		.all<Row>();
	return results.map(toJob);
}

/** How many due messages one run claims per endpoint: a healthy one's share, and a failing one's probe. */
export interface ClaimCaps {
	total: number;
	perEndpoint: number;
	perFailingEndpoint: number;
}

/**
 * Claims due messages of active endpoints in one statement, fairly: each
 * endpoint's due messages are read oldest first through the per-endpoint
 * index (CROSS JOIN keeps endpoints as the outer loop, and the range stops at
 * its `perEndpoint`-th due time, so a backlog is not read whole), at most
 * `perEndpoint` of them (`perFailingEndpoint` for an endpoint that is
 * failing), and the run takes every endpoint's first turn before anyone's
 * second, up to `total`. Their due time moves to `leaseUntil`, so a
 * concurrent run does not take them too, and one whose runner died is due
 * again when the lease ends.
 * An order event is not claimed while an earlier one of its order to that
 * endpoint is pending.
 */
export async function claimDue(db: D1Database, now: string, leaseUntil: string, caps: ClaimCaps): Promise<Job[]> {
	const { results: claimed } = await db
		.prepare(
			`UPDATE webhook_messages SET next_attempt_at = ?1
			 WHERE message_id IN (
			   SELECT message_id FROM (
			     SELECT m.message_id, m.next_attempt_at, e.failing_since,
			            ROW_NUMBER() OVER (PARTITION BY m.webhook_id ORDER BY m.next_attempt_at, m.message_id) AS turn
			     FROM webhook_endpoints e CROSS JOIN webhook_messages m
			       ON m.webhook_id = e.webhook_id AND m.state = 'pending'
			      AND m.next_attempt_at <= COALESCE(
			            (SELECT d.next_attempt_at FROM webhook_messages d
			             WHERE d.webhook_id = e.webhook_id AND d.state = 'pending' AND d.next_attempt_at <= ?2
			             ORDER BY d.next_attempt_at LIMIT 1 OFFSET ?4 - 1), ?2)
			     WHERE e.active = 1 AND ${NO_EARLIER_PENDING})
			   WHERE turn <= CASE WHEN failing_since IS NULL THEN ?4 ELSE ?5 END
			   ORDER BY turn, next_attempt_at LIMIT ?3)
			 RETURNING message_id`,
		)
		.bind(leaseUntil, now, caps.total, caps.perEndpoint, caps.perFailingEndpoint)
		.all<{ message_id: string }>();
	return jobsOf(
		db,
		claimed.map((c) => c.message_id),
	);
}

/**
 * Of these leased order-event jobs, the ones an earlier pending message of
 * their order to their endpoint must go before (that one is not among them).
 */
export async function waitingBehind(db: D1Database, jobs: Job[]): Promise<Set<string>> {
	const sequenced = jobs.filter((j) => j.sequence !== null);
	if (sequenced.length === 0) return new Set();
	const { results } = await db
		.prepare(
			`SELECT DISTINCT m.message_id FROM webhook_messages m
			 WHERE m.message_id IN (SELECT value FROM json_each(?1))
			   AND EXISTS (SELECT 1 FROM webhook_messages p WHERE p.webhook_id = m.webhook_id AND p.order_id = m.order_id AND p.state = 'pending'
			               AND p.sequence < m.sequence AND p.message_id NOT IN (SELECT value FROM json_each(?1)))`,
		)
		.bind(JSON.stringify(sequenced.map((j) => j.message_id)))
		.all<{ message_id: string }>();
	return new Set(results.map((r) => r.message_id));
}

/** Hands leased messages back to the reconciler: due now, taken in order by claimDue. */
export async function releaseLeases(db: D1Database, messageIds: string[], now: string): Promise<void> {
	if (messageIds.length === 0) return;
	await db
		.prepare(`UPDATE webhook_messages SET next_attempt_at = ? WHERE message_id IN (SELECT value FROM json_each(?)) AND state = 'pending'`)
		.bind(now, JSON.stringify(messageIds))
		.run();
}

/**
 * Claims the next pending message of an order to an endpoint, after the one
 * with sequence `after` was delivered, if it is free (not leased by another
 * attempt and not waiting for a retry time).
 */
export async function claimSuccessor(db: D1Database, webhookId: string, orderId: string, after: number, now: string, leaseUntil: string): Promise<Job | null> {
	const { results } = await db
		.prepare(
			`UPDATE webhook_messages SET next_attempt_at = ?
			 WHERE message_id = (
			   SELECT m.message_id FROM webhook_messages m WHERE m.webhook_id = ? AND m.order_id = ? AND m.state = 'pending' AND m.sequence > ?
			   ORDER BY m.sequence LIMIT 1)
			   AND next_attempt_at <= ? AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.webhook_id = ? AND e.active = 1)
			 RETURNING message_id`,
		)
		.bind(leaseUntil, webhookId, orderId, after, now, webhookId)
		.all<{ message_id: string }>();
	return (await jobsOf(db, results.map((r) => r.message_id)))[0] ?? null;
}

/**
 * Records one attempt, in one batch: its delivery row, the message's new state,
 * and the endpoint's failing streak. A failure on an endpoint failing since
 * `disableIfFailingSince` or earlier disables it and gives up its pending
 * messages. Returns whether this attempt disabled the endpoint.
 */
export async function recordAttempt(db: D1Database, job: Job, a: AttemptRecord, disableIfFailingSince: string): Promise<{ disabled: boolean }> {
	const stmts = [
		db
			.prepare(
				`INSERT INTO webhook_deliveries (webhook_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at)
				 SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE webhook_id = ?)`,
			)
			.bind(job.webhook_id, job.message_id, job.event_id, job.event_type, a.attempt, a.status_code, a.error, a.at, a.next_attempt_at, job.webhook_id),
		db.prepare(`UPDATE webhook_messages SET state = ?, attempts = ?, next_attempt_at = ? WHERE message_id = ?`).bind(a.state, a.attempt, a.next_attempt_at, job.message_id),
	];
	if (a.state === "delivered") {
		stmts.push(db.prepare(`UPDATE webhook_endpoints SET failing_since = NULL WHERE webhook_id = ?`).bind(job.webhook_id));
		await db.batch(stmts);
		return { disabled: false };
	}
	stmts.push(
		db.prepare(`UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE webhook_id = ?`).bind(a.at, job.webhook_id),
		db
			.prepare(`UPDATE webhook_endpoints SET active = 0, disabled_at = ? WHERE webhook_id = ? AND active = 1 AND failing_since <= ? RETURNING webhook_id`)
			.bind(a.at, job.webhook_id, disableIfFailingSince),
		db
			.prepare(
				`UPDATE webhook_messages SET state = 'failed', next_attempt_at = NULL
				 WHERE webhook_id = ? AND state = 'pending' AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE webhook_id = ? AND active = 0)`,
			)
			.bind(job.webhook_id, job.webhook_id),
	);
	const results = await db.batch(stmts);
	return { disabled: (results[3]?.results.length ?? 0) > 0 };
}

/** An endpoint's attempts, newest first, after the cursor `before` (a delivery_id). */
export async function listDeliveries(db: D1Database, webhookId: string, before: number | null, limit: number): Promise<{ deliveries: Delivery[]; next: number | null }> {
	const { results } = await db
		.prepare(
			`SELECT delivery_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at FROM webhook_deliveries
			 WHERE webhook_id = ? AND delivery_id < ? ORDER BY delivery_id DESC LIMIT ?`,
		)
		.bind(webhookId, before ?? Number.MAX_SAFE_INTEGER, limit + 1)
		.all<Row>();
	const deliveries = results.slice(0, limit).map((r) => ({
		delivery_id: Number(r.delivery_id),
		message_id: String(r.message_id),
		event_id: String(r.event_id),
		event_type: r.event_type as WebhookEventType,
		attempt: Number(r.attempt),
		status_code: r.status_code === null ? null : Number(r.status_code),
		error: r.error === null ? null : String(r.error),
		at: String(r.at),
		next_attempt_at: r.next_attempt_at === null ? null : String(r.next_attempt_at),
	}));
	return { deliveries, next: results.length > limit ? deliveries[deliveries.length - 1]!.delivery_id : null };
}

/**
 * Deletes up to `limit` finished (delivered or given-up) messages created
 * before `before`, oldest first, with their attempts, in one batch; returns
 * how many messages and attempts went. Pending messages stay, however old.
 */
export async function pruneFinishedMessages(db: D1Database, before: string, limit: number): Promise<{ messages: number; deliveries: number }> {
	const oldest = `SELECT message_id FROM webhook_messages WHERE state IN ('delivered', 'failed') AND created_at < ? ORDER BY created_at LIMIT ?`;
	const [deliveries, messages] = await db.batch([
		db.prepare(`DELETE FROM webhook_deliveries WHERE message_id IN (${oldest})`).bind(before, limit),
		db.prepare(`DELETE FROM webhook_messages WHERE message_id IN (${oldest})`).bind(before, limit),
	]);
	return { messages: messages?.meta.changes ?? 0, deliveries: deliveries?.meta.changes ?? 0 };
}
