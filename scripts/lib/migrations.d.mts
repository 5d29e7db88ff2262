export function migrationBatches(dir: string): string[][];
export function applyMigrations<S>(db: { prepare(sql: string): S; batch(statements: S[]): Promise<unknown> }, dir: string): Promise<number>;
export interface Database {
	name: string;
	id: string | undefined;
	bindings: string[];
	migrationsDir: string;
}
export interface D1Binding {
	binding: string;
	database_name?: string;
	database_id?: string;
	migrations_dir?: string;
}
export function databasesOf(d1Bindings: ReadonlyArray<D1Binding> | undefined): Database[];
export function applyMigrationsToAll<S>(
	d1: (binding: string) => Promise<{ prepare(sql: string): S; batch(statements: S[]): Promise<unknown> }>,
	d1Bindings: ReadonlyArray<D1Binding> | undefined,
	baseDir: string,
): Promise<number>;
