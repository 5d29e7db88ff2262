/**
 * A single-threaded store: a Durable Object, a D1 database or a queue. It
 * serves one operation at a time, first come first served, each for its busy
 * time (an object at least 1 / its soft limit per request); past `maxQueue`
 * waiting operations it answers "overloaded" at once. Stores that share a
 * `Core` (the local runtime: Worker, objects and D1 in one process on one core)
 * serve from the same thread.
 */
import type { EventQueue } from "./heap";

/** "worker": the Worker's own CPU, a store only when the runtime shares one core. */
export type StoreKind = "object" | "d1" | "queue" | "worker";

export class Core {
	busyUntil = 0;
}

/** Per-second counters of one store. */
export class Buckets {
	requests: number[] = [];
	busyMs: number[] = [];
	maxQueue: number[] = [];
	overloaded: number[] = [];

	add(i: number, busy: number, queue: number): void {
		this.requests[i] = (this.requests[i] ?? 0) + 1;
		this.busyMs[i] = (this.busyMs[i] ?? 0) + busy;
		if (queue > (this.maxQueue[i] ?? 0)) this.maxQueue[i] = queue;
	}

	refuse(i: number): void {
		this.overloaded[i] = (this.overloaded[i] ?? 0) + 1;
	}
}

export type Outcome = "ok" | "overloaded" | "failed";

export class Store {
	readonly buckets = new Buckets();
	/** End times of the operations admitted and not yet finished (ascending: the thread is FIFO). */
	private ends: number[] = [];
	private head = 0;
	private epoch = 0;
	private restartedAt = -1;
	private downUntil = 0;
	requests = 0;
	busyMs = 0;
	overloaded = 0;

	constructor(
		readonly name: string,
		readonly kind: StoreKind,
		private readonly q: EventQueue,
		private readonly core: Core,
		/** Least time a request occupies the thread (an object's soft limit); 0 for none. */
		private readonly floorMs: number,
		readonly maxQueue: number,
	) {}

	/** Operations waiting or in service now. */
	depth(): number {
		const now = this.q.now;
		while (this.head < this.ends.length && this.ends[this.head]! <= now) this.head++;
		if (this.head > 4096 && this.head * 2 > this.ends.length) {
			this.ends = this.ends.slice(this.head);
			this.head = 0;
		}
		return this.ends.length - this.head;
	}

	/**
	 * Admits an operation arriving now; `done` runs `delay` ms after it finishes
	 * (the answer's trip back), or right away when refused. The operation's effect is
	 * applied by the caller at admission: the thread serves in admission order.
	 */
	submit(busy: number, delay: number, done: ((o: Outcome) => void) | null): boolean {
		const now = this.q.now;
		const depth = this.depth();
		const bucket = Math.floor(now / 1000);
		if (now < this.downUntil || depth >= this.maxQueue) {
			this.overloaded++;
			this.buckets.refuse(bucket);
			if (done) this.q.after(delay, () => done(now < this.downUntil ? "failed" : "overloaded"));
			return false;
		}
		const occupy = busy > this.floorMs ? busy : this.floorMs;
		const start = this.core.busyUntil > now ? this.core.busyUntil : now;
		const end = start + occupy;
		this.core.busyUntil = end;
		this.ends.push(end);
		this.requests++;
		this.busyMs += busy;
		this.buckets.add(bucket, busy, depth + 1);
		if (!done) return true;
		const epoch = this.epoch;
		this.q.at(end + delay, () => done(epoch === this.epoch || end <= this.restartedAt ? "ok" : "failed"));
		return true;
	}

	/** A restart: what is queued or running fails, and nothing is admitted for `downMs`. Stored state survives. */
	restart(downMs: number): void {
		this.epoch++;
		this.restartedAt = this.q.now;
		this.downUntil = this.q.now + downMs;
		this.ends = [];
		this.head = 0;
		this.core.busyUntil = Math.max(this.core.busyUntil, this.downUntil);
	}
}
