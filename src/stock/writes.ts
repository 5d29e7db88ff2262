/**
 * Counts the write transactions a Warehouse instance runs, by what ran them
 * (the method, "alarm" for expiries the alarm resolves, "events" for the event
 * outbox's own bookkeeping). `npm run bench` reads them to report Warehouse
 * write transactions per order, after-answer commits and alarms included.
 *
 * A transaction counts when it changed at least one row (SQLite's
 * `total_changes()` moved), so a refused reserve, which only reads, does not.
 * The counts live in memory: a restarted instance starts again from zero with
 * a new `since`, which is how a reader tells a reset from a quiet object.
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

	constructor(private readonly sql: SqlStorage) {}

	/** Runs `write` (one transaction, or one auto-committed statement) and counts it under `kind` if it changed a row. */
	run<T>(kind: string, write: () => T): T {
		const before = this.changes();
		const result = write();
		if (this.changes() !== before) this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
		return result;
	}

	view(): WriteCounts {
		const by_kind = Object.fromEntries(this.byKind);
		return { since: this.since, total: Object.values(by_kind).reduce((a, b) => a + b, 0), by_kind };
	}

	private changes(): number {
		return Number(this.sql.exec(`SELECT total_changes() AS n`).one().n);
	}
}
