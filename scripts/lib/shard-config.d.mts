export interface ShardBinding {
	index: number;
	name: string;
	id: string;
}
export interface PlannedShard {
	index: number;
	name: string;
	id?: string;
	from: "kept" | "catalog" | "found" | "create";
}
export function isPlaceholderId(id: string | undefined): boolean;
export function d1Blocks(toml: string): Array<{ header: number; lastKey: number; keys: Record<string, string>; at: Record<string, number> }>;
export function shardBindings(toml: string): ShardBinding[];
export function catalogBinding(toml: string): { name: string; id: string } | undefined;
export function shardDatabaseName(worker: string, index: number): string;
export function planShards(options: { toml: string; count: number; worker: string; upgrade?: boolean; remote?: Array<{ name: string; id: string }> }): { error: string; shards?: undefined } | { error?: undefined; shards: PlannedShard[] };
export function withShardBindings(toml: string, shards: ReadonlyArray<{ index: number; name: string; id?: string }>): string;
