/**
 * The simulation's clock: a binary min-heap of events by (time, insertion
 * order), so equal times run first come, first served. Times and sequence
 * numbers sit in typed arrays beside the callbacks: a claim run schedules tens
 * of millions of events, and an object per event was a large share of its time
 * (allocation, and comparisons chasing pointers).
 */
export class EventQueue {
	private times = new Float64Array(1 << 16);
	private seqs = new Float64Array(1 << 16);
	private runs: Array<(() => void) | null> = new Array(1 << 16).fill(null);
	private n = 0;
	private seq = 0;
	now = 0;
	/** Events run so far. */
	count = 0;

	private grow(): void {
		const cap = this.times.length * 2;
		const t = new Float64Array(cap);
		t.set(this.times);
		this.times = t;
		const s = new Float64Array(cap);
		s.set(this.seqs);
		this.seqs = s;
		for (let i = this.runs.length; i < cap; i++) this.runs.push(null);
	}

	at(t: number, run: () => void): void {
		if (t < this.now) t = this.now;
		if (this.n === this.times.length) this.grow();
		const times = this.times;
		const seqs = this.seqs;
		const runs = this.runs;
		const seq = this.seq++;
		let i = this.n++;
		while (i > 0) {
			const p = (i - 1) >> 1;
			const tp = times[p]!;
			if (tp < t || (tp === t && seqs[p]! < seq)) break;
			times[i] = tp;
			seqs[i] = seqs[p]!;
			runs[i] = runs[p]!;
			i = p;
		}
		times[i] = t;
		seqs[i] = seq;
		runs[i] = run;
	}

	after(ms: number, run: () => void): void {
		this.at(this.now + ms, run);
	}

	/** Runs events in time order until none is left or the next is past `until`. */
	runUntil(until: number): void {
		while (this.n > 0 && this.times[0]! <= until) {
			const times = this.times;
			const seqs = this.seqs;
			const runs = this.runs;
			const t = times[0]!;
			const run = runs[0]!;
			const n = --this.n;
			if (n > 0) {
				// The last event sifts down from the root.
				const lt = times[n]!;
				const ls = seqs[n]!;
				const lr = runs[n]!;
				let i = 0;
				for (;;) {
					const l = 2 * i + 1;
					if (l >= n) break;
					const r = l + 1;
					let c = l;
					if (r < n) {
						const tr = times[r]!;
						const tl = times[l]!;
						if (tr < tl || (tr === tl && seqs[r]! < seqs[l]!)) c = r;
					}
					const tc = times[c]!;
					if (lt < tc || (lt === tc && ls < seqs[c]!)) break;
					times[i] = tc;
					seqs[i] = seqs[c]!;
					runs[i] = runs[c]!;
					i = c;
				}
				times[i] = lt;
				seqs[i] = ls;
				runs[i] = lr;
			}
			runs[n] = null;
			this.now = t;
			this.count++;
			run();
		}
	}

	get size(): number {
		return this.n;
	}
}
