/**
 * Which warehouses the reconciler asks to resolve their due holds: every
 * active one, plus each inactive one that may still have open holds. A
 * warehouse gets `sweep_since` when it goes inactive (a D1 trigger, migration
 * 0005); the reconciler clears it once that warehouse reports no open hold and
 * has been inactive longer than a hold lives (a request that read it as active
 * before it went inactive can no longer reserve there). So the cron's work
 * grows with the live and recently closed warehouses, never with every
 * warehouse ever registered.
 */
export interface SweepTarget {
	warehouse_id: string;
	active: boolean;
	sweep_since: string | null;
}

export async function sweepTargets(db: D1Database): Promise<SweepTarget[]> {
	const { results } = await db
		.prepare(`SELECT warehouse_id, active, sweep_since FROM warehouses WHERE active = 1 OR sweep_since IS NOT NULL ORDER BY warehouse_id`)
		.all<{ warehouse_id: string; active: number; sweep_since: string | null }>();
	return results.map((r) => ({ warehouse_id: r.warehouse_id, active: r.active === 1, sweep_since: r.sweep_since }));
}

/** Stops sweeping an inactive warehouse (unless it went inactive again since `since`). */
export async function sweepDone(db: D1Database, warehouseId: string, since: string): Promise<void> {
	await db.prepare(`UPDATE warehouses SET sweep_since = NULL WHERE warehouse_id = ? AND active = 0 AND sweep_since = ?`).bind(warehouseId, since).run();
}
