// Types of shards.mjs for the tests that import it.
export interface DbWork {
	statements: number;
	ms: number;
	untimed: number;
}
export type DbTotals = Record<string, DbWork>;
export declare const MAX_BUSIEST_SHARE: number;
export declare const MIN_TIMED_MS: number;
export declare function withoutOrderShards(text: string): string;
export declare function perOrder(before: DbTotals | null | undefined, after: DbTotals | null | undefined, orders: number): DbTotals;
export declare function busiestShare(
	single: DbTotals,
	sharded: DbTotals,
	singleMsTotal?: number,
): {
	single_db: DbWork;
	db: DbWork;
	busiest_shard: string | null;
	busiest_shard_per_order: DbWork | null;
	busiest_database: string | null;
	share: number | null;
	share_by_statements: number | null;
	basis: "busy ms" | "statements";
	max_share: number;
	met: boolean;
};
