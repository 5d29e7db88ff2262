export function migrationBatches(dir: string): string[][];
export function applyMigrations<S>(db: { prepare(sql: string): S; batch(statements: S[]): Promise<unknown> }, dir: string): Promise<number>;
