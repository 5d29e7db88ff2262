/**
 * Idempotency-Key for place-order, scoped per user, all in `withIdempotency`.
 * The first request with a key claims it ("running"); its answer is stored
 * with it ("done"), in the same D1 batch as the change it describes when there
 * is one (the order, or its cancellation), so a retry replays exactly what the
 * first request answered. A key whose request differs is refused ("mismatch"),
 * as is one still running. A claim left "running" by a request that died is
 * taken over after STALE_MS.
 */
export interface IdempotencyScope {
	userId: string;
	key: string;
}

/** A key as a request presents it: whose, which, and a digest of the request it was first used for. */
export interface IdempotencyKey extends IdempotencyScope {
	hash: string;
}

export interface Answer {
	status: number;
	body: unknown;
}

/** An answer to store for a key, in the batch of the change it describes. */
export interface StoredAnswer extends Answer {
	scope: IdempotencyScope;
}

/** What a request answered, as its `run` reports it. */
export interface Answered {
	answer: Answer;
	/** The answer already landed in D1 with the change it describes (`StoredAnswer`). */
	stored: boolean;
	/** Nothing changed and the same request may succeed later: the key is freed, not kept. */
	retry: boolean;
}

export type Idempotent = { kind: "answered"; answer: Answer; replayed: boolean } | { kind: "mismatch" } | { kind: "running" };

/**
 * Runs a request at most once per key. Without a key, simply runs it. A
 * replayed answer is the first one; a run that throws, or answers a 5xx or a
 * retry, frees the key (a retry may do better); any other answer is kept.
 */
export async function withIdempotency(db: D1Database, key: IdempotencyKey | undefined, run: (scope: IdempotencyScope | undefined) => Promise<Answered>, now = new Date()): Promise<Idempotent> {
	if (!key) return { kind: "answered", answer: (await run(undefined)).answer, replayed: false };
	const scope: IdempotencyScope = { userId: key.userId, key: key.key };
	const claimed = await claim(db, scope, key.hash, now);
	if (claimed.kind === "replay") return { kind: "answered", answer: { status: claimed.status, body: claimed.body }, replayed: true };
	if (claimed.kind !== "new") return claimed;
	let answered: Answered;
	try {
		answered = await run(scope);
	} catch (err) {
		await abandon(db, scope).catch(() => {});
		throw err;
	}
	if (answered.retry || answered.answer.status >= 500) await abandon(db, scope).catch(() => {});
	else if (!answered.stored) await finish(db, scope, answered.answer.status, answered.answer.body);
	return { kind: "answered", answer: answered.answer, replayed: false };
}

export type Claim =
	| { kind: "new" }
	| { kind: "replay"; status: number; body: unknown }
	| { kind: "running" }
	| { kind: "mismatch" };

/** Longer than any checkout can run (the Worker's own limits end it well before). */
export const STALE_MS = 5 * 60 * 1000;

export async function requestHash(parts: unknown): Promise<string> {
	const bytes = new TextEncoder().encode(JSON.stringify(parts));
	const digest = await crypto.subtle.digest("SHA-256", bytes);
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function claim(db: D1Database, scope: IdempotencyScope, hash: string, now: Date): Promise<Claim> {
	const at = now.toISOString();
	const inserted = await db
		.prepare(
			`INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)
			 ON CONFLICT DO NOTHING RETURNING idem_key`,
		)
		.bind(scope.userId, scope.key, hash, at, at)
		.first();
	if (inserted) return { kind: "new" };
	const row = await db
		.prepare(`SELECT request_hash, state, status_code, response_body, updated_at FROM idempotency_keys WHERE user_id = ? AND idem_key = ?`)
		.bind(scope.userId, scope.key)
		.first<{ request_hash: string; state: string; status_code: number | null; response_body: string | null; updated_at: string }>();
	if (!row) return claim(db, scope, hash, now); // released between our insert and read
	if (row.request_hash !== hash) return { kind: "mismatch" };
	if (row.state === "done") return { kind: "replay", status: Number(row.status_code), body: JSON.parse(row.response_body ?? "null") };
	const stale = new Date(now.getTime() - STALE_MS).toISOString();
	const taken = await db
		.prepare(`UPDATE idempotency_keys SET updated_at = ? WHERE user_id = ? AND idem_key = ? AND state = 'running' AND updated_at < ?`)
		.bind(at, scope.userId, scope.key, stale)
		.run();
	return taken.meta.changes > 0 ? { kind: "new" } : { kind: "running" };
}

export function doneStmt(db: D1Database, scope: IdempotencyScope, status: number, body: unknown, orderId: string | null, at: string): D1PreparedStatement {
	return db
		.prepare(
			`UPDATE idempotency_keys SET state = 'done', status_code = ?, response_body = ?, order_id = COALESCE(?, order_id), updated_at = ? WHERE user_id = ? AND idem_key = ?`,
		)
		.bind(status, JSON.stringify(body), orderId, at, scope.userId, scope.key);
}

/** A stored answer as statements of a change's batch (the orders service's `extra`), or none. */
export function answerWith(answer: StoredAnswer | undefined, orderId: string): ((db: D1Database, changeId: string, at: string) => D1PreparedStatement[]) | undefined {
	return answer && ((db, _changeId, at) => [doneStmt(db, answer.scope, answer.status, answer.body, orderId, at)]);
}

export async function finish(db: D1Database, scope: IdempotencyScope, status: number, body: unknown): Promise<void> {
	await doneStmt(db, scope, status, body, null, new Date().toISOString()).run();
}

/** Frees the key after a failure that a retry may fix (5xx). */
export async function abandon(db: D1Database, scope: IdempotencyScope): Promise<void> {
	await db.prepare(`DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND state = 'running'`).bind(scope.userId, scope.key).run();
}
