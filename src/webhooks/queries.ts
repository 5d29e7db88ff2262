/**
 * D1 queries of the webhooks: endpoints (in DB), messages (one per event and
 * endpoint: what to send, its state and when it is due) and deliveries (one
 * row per attempt), both in the database of their event: an order's shard, or
 * DB for the shop's own events. Queries on messages and deliveries take that
 * database; they never join the endpoints, which are passed in as data.
 * Times are ISO strings, compared as text.
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

/** A message as claimed for an attempt. */
export interface ClaimedMessage {
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
}

/** A message to attempt, with the database that holds it, where it goes and the key it is signed with. */
export interface Job extends ClaimedMessage {
	db: D1Database;
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

/** Deletes an endpoint; false when there was none. Its messages and attempts go with deleteEndpointRecords. */
export async function deleteEndpoint(db: D1Database, webhookId: string): Promise<boolean> {
	const r = await db.prepare(`DELETE FROM webhook_endpoints WHERE webhook_id = ?`).bind(webhookId).run();
	return (r.meta.changes ?? 0) > 0;
}

/** Deletes an endpoint's messages and attempts held in `db`. */
export async function deleteEndpointRecords(db: D1Database, webhookId: string): Promise<void> {
	await db.batch([
		db.prepare(`DELETE FROM webhook_deliveries WHERE webhook_id = ?`).bind(webhookId),
		db.prepare(`DELETE FROM webhook_messages WHERE webhook_id = ?`).bind(webhookId),
	]);
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

const MESSAGE_COLUMNS = `message_id, webhook_id, event_id, event_type, payload, order_id, sequence, attempts`;

function toMessage(r: Row): ClaimedMessage {
	return {
		message_id: String(r.message_id),
		webhook_id: String(r.webhook_id),
		event_id: String(r.event_id),
		event_type: r.event_type as WebhookEventType,
		payload: String(r.payload),
		order_id: r.order_id === null || r.order_id === undefined ? null : String(r.order_id),
		sequence: r.sequence === null || r.sequence === undefined ? null : Number(r.sequence),
		attempts: Number(r.attempts),
	};
}

/** How many due messages one run claims per endpoint: a healthy one's share, and a failing one's probe. */
export interface ClaimCaps {
	total: number;
	perEndpoint: number;
	perFailingEndpoint: number;
}

/** An active endpoint as a claim sees it. */
export interface ClaimTarget {
	webhook_id: string;
	failing: boolean;
}

/**
 * Claims due messages of the given active endpoints held in `db`, in one
 * statement, fairly: each endpoint's due messages are read oldest first
 * through the per-endpoint index (CROSS JOIN keeps endpoints as the outer
 * loop, and the range stops at its `perEndpoint`-th due time, so a backlog is
 * not read whole), at most `perEndpoint` of them (`perFailingEndpoint` for an
 * endpoint that is failing), and the run takes every endpoint's first turn
 * before anyone's second, up to `total`. Their due time moves to
 * `leaseUntil`, so a concurrent run does not take them too, and one whose
 * runner died is due again when the lease ends.
 * An order event is not claimed while an earlier one of its order to that
 * endpoint is pending (an order's messages are all in its shard).
 */
export async function claimDue(db: D1Database, endpoints: ClaimTarget[], now: string, leaseUntil: string, caps: ClaimCaps): Promise<ClaimedMessage[]> {
	if (endpoints.length === 0) return [];
	const { results } = await db
		.prepare(
			`UPDATE webhook_messages SET next_attempt_at = ?1
			 WHERE message_id IN (
			   SELECT message_id FROM (
			     SELECT m.message_id, m.next_attempt_at, e.failing,
			            ROW_NUMBER() OVER (PARTITION BY m.webhook_id ORDER BY m.next_attempt_at, m.message_id) AS turn
			     FROM (SELECT json_extract(value, '$[0]') AS webhook_id, json_extract(value, '$[1]') AS failing FROM json_each(?6)) e
			     CROSS JOIN webhook_messages m
			       ON m.webhook_id = e.webhook_id AND m.state = 'pending'
			      AND m.next_attempt_at <= COALESCE(
			            (SELECT d.next_attempt_at FROM webhook_messages d
			             WHERE d.webhook_id = e.webhook_id AND d.state = 'pending' AND d.next_attempt_at <= ?2
			             ORDER BY d.next_attempt_at LIMIT 1 OFFSET ?4 - 1), ?2)
			     WHERE ${NO_EARLIER_PENDING})
			   WHERE turn <= CASE WHEN failing = 0 THEN ?4 ELSE ?5 END
			   ORDER BY turn, next_attempt_at LIMIT ?3)
			 RETURNING ${MESSAGE_COLUMNS}`,
		)
		.bind(leaseUntil, now, caps.total, caps.perEndpoint, caps.perFailingEndpoint, JSON.stringify(endpoints.map((e) => [e.webhook_id, e.failing ? 1 : 0])))
		.all<Row>();
	return results.map(toMessage);
}

/**
 * Of these leased order-event jobs, the ones an earlier pending message of
 * their order to their endpoint must go before (that one is not among them).
 */
export async function waitingBehind(db: D1Database, jobs: Array<Pick<Job, "message_id" | "sequence">>): Promise<Set<string>> {
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
 * attempt and not waiting for a retry time). The caller checks the endpoint
 * is still active.
 */
export async function claimSuccessor(db: D1Database, webhookId: string, orderId: string, after: number, now: string, leaseUntil: string): Promise<ClaimedMessage | null> {
	const r = await db
		.prepare(
			`UPDATE webhook_messages SET next_attempt_at = ?
			 WHERE message_id = (
			   SELECT m.message_id FROM webhook_messages m WHERE m.webhook_id = ? AND m.order_id = ? AND m.state = 'pending' AND m.sequence > ?
			   ORDER BY m.sequence LIMIT 1)
			   AND next_attempt_at <= ?
			 RETURNING ${MESSAGE_COLUMNS}`,
		)
		.bind(leaseUntil, webhookId, orderId, after, now)
		.first<Row>();
	return r ? toMessage(r) : null;
}

/** One attempt of a message, as recorded. */
export interface AttemptRow extends AttemptRecord {
	message_id: string;
	webhook_id: string;
	event_id: string;
	event_type: WebhookEventType;
}

/**
 * Records attempts of messages held in `db`, in one batch of two statements
 * whatever their number: a delivery row each (in the order given), and each
 * message's new state and due time.
 */
export async function recordAttempts(db: D1Database, rows: AttemptRow[]): Promise<void> {
	if (rows.length === 0) return;
	const json = JSON.stringify(rows);
	await db.batch([
		db
			.prepare(
				`INSERT INTO webhook_deliveries (webhook_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at)
				 SELECT json_extract(value, '$.webhook_id'), json_extract(value, '$.message_id'), json_extract(value, '$.event_id'), json_extract(value, '$.event_type'),
				        json_extract(value, '$.attempt'), json_extract(value, '$.status_code'), json_extract(value, '$.error'), json_extract(value, '$.at'),
				        json_extract(value, '$.next_attempt_at')
				 FROM json_each(?) ORDER BY key`,
			)
			.bind(json),
		db
			.prepare(
				`UPDATE webhook_messages SET state = r.state, attempts = r.attempt, next_attempt_at = r.next_attempt_at
				 FROM (SELECT json_extract(value, '$.message_id') AS message_id, json_extract(value, '$.state') AS state,
				              json_extract(value, '$.attempt') AS attempt, json_extract(value, '$.next_attempt_at') AS next_attempt_at FROM json_each(?)) r
				 WHERE webhook_messages.message_id = r.message_id`,
			)
			.bind(json),
	]);
}

/** An endpoint's outcome in one run: its last attempt delivered or not, and whether any did. */
export interface StreakUpdate {
	webhook_id: string;
	last_ok: boolean;
	any_ok: boolean;
}

/**
 * Updates the failing streaks of the endpoints attempted in one run, in one
 * batch of DB statements whatever the number of attempts: a last attempt
 * delivered clears the streak; a failure starts it at `at` (or keeps an older
 * start when nothing was delivered in the run). A failure on an endpoint
 * failing since `disableIfFailingSince` or earlier disables it. Returns the
 * endpoints it disabled, and whether any endpoint row changed.
 */
export async function updateStreaks(db: D1Database, updates: StreakUpdate[], at: string, disableIfFailingSince: string): Promise<{ disabled: string[]; changed: boolean }> {
	if (updates.length === 0) return { disabled: [], changed: false };
	const failed = updates.filter((u) => !u.last_ok).map((u) => u.webhook_id);
	const next = `CASE WHEN s.last_ok THEN NULL WHEN s.any_ok THEN ?1 ELSE COALESCE(webhook_endpoints.failing_since, ?1) END`;
	const [streaks, disabled] = await db.batch([
		db
			.prepare(
				`UPDATE webhook_endpoints SET failing_since = ${next}
				 FROM (SELECT json_extract(value, '$.webhook_id') AS webhook_id, json_extract(value, '$.last_ok') AS last_ok, json_extract(value, '$.any_ok') AS any_ok FROM json_each(?2)) s
				 WHERE webhook_endpoints.webhook_id = s.webhook_id AND webhook_endpoints.failing_since IS NOT ${next}`,
			)
			.bind(at, JSON.stringify(updates)),
		db
			.prepare(
				`UPDATE webhook_endpoints SET active = 0, disabled_at = ?1
				 WHERE webhook_id IN (SELECT value FROM json_each(?2)) AND active = 1 AND failing_since <= ?3 RETURNING webhook_id`,
			)
			.bind(at, JSON.stringify(failed), disableIfFailingSince),
	]);
	const gone = (disabled?.results ?? []).map((r) => String((r as Row).webhook_id));
	return { disabled: gone, changed: (streaks?.meta.changes ?? 0) > 0 || gone.length > 0 };
}

/** Gives up the pending messages held in `db` of endpoints that were disabled. */
export async function giveUpPending(db: D1Database, webhookIds: string[]): Promise<void> {
	if (webhookIds.length === 0) return;
	await db
		.prepare(`UPDATE webhook_messages SET state = 'failed', next_attempt_at = NULL WHERE webhook_id IN (SELECT value FROM json_each(?)) AND state = 'pending'`)
		.bind(JSON.stringify(webhookIds))
		.run();
}

/** An endpoint's attempts held in `db`, newest first, below `before` (a delivery_id; null: from the newest), at most `limit`. */
export async function listDeliveries(db: D1Database, webhookId: string, before: number | null, limit: number): Promise<Delivery[]> {
	const { results } = await db
		.prepare(
			`SELECT delivery_id, message_id, event_id, event_type, attempt, status_code, error, at, next_attempt_at FROM webhook_deliveries
			 WHERE webhook_id = ? AND delivery_id < ? ORDER BY delivery_id DESC LIMIT ?`,
		)
		.bind(webhookId, before ?? Number.MAX_SAFE_INTEGER, limit)
		.all<Row>();
	return results.map((r) => ({
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
}

/**
 * Deletes up to `limit` finished (delivered or given-up) messages held in
 * `db` created before `before`, oldest first, with their attempts, and up to
 * `limit` pending ones of endpoints not in `endpointIds` (deleted while
 * another isolate's copy of the endpoints still stored messages for them),
 * in one batch; returns how many messages and attempts went. Other pending
 * messages stay, however old.
 */
export async function pruneFinishedMessages(db: D1Database, before: string, limit: number, endpointIds: string[]): Promise<{ messages: number; deliveries: number }> {
	const finished = `SELECT message_id FROM webhook_messages WHERE state IN ('delivered', 'failed') AND created_at < ? ORDER BY created_at LIMIT ?`;
	const orphans = `SELECT message_id FROM webhook_messages WHERE state = 'pending' AND created_at < ? AND webhook_id NOT IN (SELECT value FROM json_each(?)) LIMIT ?`;
	const ids = JSON.stringify(endpointIds);
	const results = await db.batch([
		db.prepare(`DELETE FROM webhook_deliveries WHERE message_id IN (${finished})`).bind(before, limit),
		db.prepare(`DELETE FROM webhook_messages WHERE message_id IN (${finished})`).bind(before, limit),
		db.prepare(`DELETE FROM webhook_deliveries WHERE message_id IN (${orphans})`).bind(before, ids, limit),
		db.prepare(`DELETE FROM webhook_messages WHERE message_id IN (${orphans})`).bind(before, ids, limit),
	]);
	const changes = (i: number) => results[i]?.meta.changes ?? 0;
	return { messages: changes(1) + changes(3), deliveries: changes(0) + changes(2) };
}
