/** The simulation's clock: a binary min-heap of events by (time, insertion order), so equal times run first come, first served. */
export interface Event {
	t: number;
	seq: number;
	run: () => void;
}

export class EventQueue {
	private heap: Event[] = [];
	private seq = 0;
	now = 0;
	/** Events run so far. */
	count = 0;

	at(t: number, run: () => void): void {
		const e: Event = { t: t < this.now ? this.now : t, seq: this.seq++, run };
		const h = this.heap;
		h.push(e);
		let i = h.length - 1;
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (before(h[p]!, e)) break;
			h[i] = h[p]!;
			i = p;
		}
		h[i] = e;
	}

	after(ms: number, run: () => void): void {
		this.at(this.now + ms, run);
	}

	/** Runs events in time order until none is left or the next is past `until`. */
	runUntil(until: number): void {
		const h = this.heap;
		while (h.length > 0 && h[0]!.t <= until) {
			const top = h[0]!;
			const last = h.pop()!;
			if (h.length > 0) {
				let i = 0;
				const n = h.length;
				for (;;) {
					const l = 2 * i + 1;
					if (l >= n) break;
					const r = l + 1;
					const c = r < n && before(h[r]!, h[l]!) ? r : l;
					if (before(last, h[c]!)) break;
					h[i] = h[c]!;
					i = c;
				}
				h[i] = last;
			}
			this.now = top.t;
			this.count++;
			top.run();
		}
	}

	get size(): number {
		return this.heap.length;
	}
}

function before(a: Event, b: Event): boolean {
	return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
