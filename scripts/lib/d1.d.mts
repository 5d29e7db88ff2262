import type { Database } from "./migrations.mjs";
export type { Database };
export { databasesOf } from "./migrations.mjs";
export function databases(root: string): Database[];
export function summary(output: string, total: number): string;
export function label(db: Database): string;
export class MigrationFailed extends Error {
	reason: string;
	run: { ok: boolean; status: number; output: string };
}
export interface MigrateOptions {
	root: string;
	wrangler: string;
	env: Record<string, string | undefined>;
	where?: "local" | "remote";
	persistTo?: string;
}
export function migrateAll(options: MigrateOptions): string[];
export function migrateOrExit(options: MigrateOptions): string[];
