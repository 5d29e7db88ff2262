/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export class Rng {
	private s: number;

	constructor(seed: number) {
		this.s = seed >>> 0;
	}

	/** Uniform in [0, 1). */
	next(): number {
		this.s = (this.s + 0x6d2b79f5) >>> 0;
		let t = this.s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	/** Integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	/** Exponential with this mean. */
	exp(mean: number): number {
		return -Math.log(1 - this.next()) * mean;
	}

	/** Uniform in [lo, hi). */
	between(lo: number, hi: number): number {
		return lo + (hi - lo) * this.next();
	}
}
