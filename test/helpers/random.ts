/**
 * A small seeded PRNG for randomized tests, so a failing run can be replayed
 * with its seed (printed in the test name). STOCKGATE_SEED overrides the seed:
 * Node tests read the process environment; inside workerd the Vitest pool does
 * not pass it through, so vitest.config.ts hands it over as a binding.
 */

/** mulberry32: floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

export interface Rng {
	seed: number;
	/** A float in [0, 1). */
	next(): number;
	/** An integer in [min, max]. */
	int(min: number, max: number): number;
	/** True with probability p. */
	chance(p: number): boolean;
	pick<T>(items: readonly T[]): T;
	/** `n` distinct elements of `items`. */
	sample<T>(items: readonly T[], n: number): T[];
	/** One key of `weights`, drawn in proportion to its weight. */
	weighted<K extends string>(weights: Record<K, number>): K;
}

export function rng(seed: number): Rng {
	const next = mulberry32(seed);
	const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
	return {
		seed,
		next,
		int,
		chance: (p) => next() < p,
		pick: (items) => items[Math.floor(next() * items.length)]!,
		sample(items, n) {
			const pool = [...items];
			const out = [];
			while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(next() * pool.length), 1)[0]!);
			return out;
		},
		weighted(weights) {
			const entries = Object.entries(weights) as Array<[keyof typeof weights, number]>;
			const total = entries.reduce((s, [, w]) => s + w, 0);
			let x = next() * total;
			for (const [k, w] of entries) {
				if ((x -= w) < 0) return k;
			}
			return entries[entries.length - 1]![0];
		},
	};
}

/** A seed from its text form (e.g. STOCKGATE_SEED), else `fallback` when absent or not an integer. */
export function seedFrom(raw: string | undefined, fallback: number): number {
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	return Number.isSafeInteger(n) ? n >>> 0 : fallback;
}

/**
 * The seed from STOCKGATE_SEED where the process environment is visible (Node),
 * else `fallback`. Inside workerd, read the binding vitest.config.ts passes
 * through instead: `seedFrom(env.STOCKGATE_SEED, fallback)`.
 */
export function seedFromEnv(fallback: number): number {
	let raw: string | undefined;
	try {
		raw = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.STOCKGATE_SEED;
	} catch {
		raw = undefined;
	}
	return seedFrom(raw, fallback);
}
