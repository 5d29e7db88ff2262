export interface D1Runner {
	list(): Promise<Array<{ name: string; id: string }>>;
	create(name: string): Promise<string>;
}
export function createShards(options: { toml: string; count: number; worker: string; upgrade?: boolean; d1: D1Runner }): Promise<{ toml: string; lines: string[] }>;
export function createdId(output: string): string;
export function listed(output: string): Array<{ name: string; id: string }>;
