/**
 * Counts the write transactions a Warehouse instance runs, by what ran them
 * (the method, "alarm" for expiries the alarm resolves, "events" for the event
 * outbox's own bookkeeping). `npm run bench` reads them to report Warehouse
 * write transactions per order, after-answer commits and alarms included.
 *
 * A transaction counts when one of its statements wrote a row, so a refused
 * reserve, which only reads, does not. The object runs its SQL through
 * `counter.sql`, which notes each statement's cursor while a `run` is open;
 * the cursors' own `rowsWritten` then tell, with no query of its own (asking
 * SQLite's `total_changes()` before and after cost two statements per call, 5%
 * of a catalog order's CPU). The counts live in memory: a restarted instance
 * starts again from zero with a new `since`, which is how a reader tells a
 * reset from a quiet object.
 */
export interface WriteCounts {
	/** When this instance started counting (ms since the epoch). */
	since: number;
	total: number;
	by_kind: Record<string, number>;
}

export class WriteCounter {
	private readonly since = Date.now();
	private readonly byKind = new Map<string, number>();
	/** The cursors of the innermost open `run`, or null outside one. */
	private open: SqlStorageCursor<Record<string, SqlStorageValue>>[] | null = null;
	/** The object's SQL: the storage's own, with every statement noted while a run is open. */
	readonly sql: SqlStorage;

	constructor(raw: SqlStorage) {
		const exec = raw.exec.bind(raw);
		const noted = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
			const cursor = exec<T>(query, ...bindings);
			this.open?.push(cursor as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>);
			return cursor;
		};
		this.sql = {
			exec: noted,
			get databaseSize() {
				return raw.databaseSize;
			},
			Cursor: raw.Cursor,
			Statement: raw.Statement,
		} as SqlStorage;
	}

	/** Runs `write` (one transaction, or one auto-committed statement) and counts it under `kind` if it wrote a row. */
	run<T>(kind: string, write: () => T): T {
		const outer = this.open;
		const mine: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
		this.open = mine;
		let result: T;
		try {
			result = write();
		} finally {
			this.open = outer;
		}
		// Read after the write: a statement's rowsWritten grows while its rows are iterated (RETURNING).
		if (mine.some((c) => c.rowsWritten > 0)) this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
		return result;
	}

	view(): WriteCounts {
		const by_kind = Object.fromEntries(this.byKind);
		return { since: this.since, total: Object.values(by_kind).reduce((a, b) => a + b, 0), by_kind };
	}
}
