/**
 * Counts the requests each Warehouse instance serves, by method: every RPC
 * call (a gateway's, another object's: a shard's ask, the pool's reclaim) and
 * every alarm run. `npm run bench` reads them to find a hot unit's busiest
 * object (a sharded unit's pool and each of its shards are objects of their
 * own); the soft limit of an object is on requests, which ./writes.ts does not
 * see (a refused reserve writes nothing). Read-only bookkeeping: it never
 * changes what a method does. In memory, like the write counts: a restarted
 * instance starts again from zero.
 *
 * The methods are wrapped once on the class's prototype, where RPC finds them;
 * the compiler checks that the list below names every public method, so a
 * method added later cannot go uncounted. A method that calls another public
 * one on `this` counts both (only setSharded's gather, an admin path).
 */
import type { WarehouseObject } from "./Warehouse";

type MethodsOf<T> = { [K in keyof T]-?: [T[K]] extends [never] ? never : T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];
type PublicMethod = MethodsOf<WarehouseObject>;

/** The bench's own readers: not counted, so reading the counts does not change them. */
const READERS = ["writeCounts", "requestCounts"] as const satisfies readonly PublicMethod[];

const COUNTED = [
	"reserve",
	"commit",
	"commitMany",
	"release",
	"cancelHold",
	"restock",
	"restore",
	"deduct",
	"setLevels",
	"adjust",
	"transferOut",
	"transferCancel",
	"expectIncoming",
	"receiveTransfer",
	"cancelIncoming",
	"ask",
	"gather",
	"setSharded",
	"receiveGiveBacks",
	"shardConfigs",
	"receiveGrant",
	"reclaim",
	"revokeSoldOut",
	"availability",
	"stockView",
	"snapshot",
	"listenForChanges",
	"ledger",
	"hold",
	"audit",
	"alarm",
	"resolveDue",
] as const satisfies readonly PublicMethod[];

type Unlisted = Exclude<PublicMethod, (typeof COUNTED)[number] | (typeof READERS)[number]>;
/** Fails to compile, naming the method, when a public method is in neither list. */
const everyMethodListed: [Unlisted] extends [never] ? true : { unlisted: Unlisted } = true;
void everyMethodListed;

const counts = new WeakMap<object, Map<string, number>>();

/** Requests this instance served since it started, by method. */
export function requestsOf(instance: object): Record<string, number> {
	return Object.fromEntries(counts.get(instance) ?? []);
}

/** Wraps every counted method of the class once, so each call notes itself before it runs. */
export function countRequests(proto: WarehouseObject): void {
	const target = proto as unknown as Record<string, (...args: unknown[]) => unknown>;
	for (const name of COUNTED) {
		const original = target[name]!;
		target[name] = function (this: object, ...args: unknown[]) {
			const mine = counts.get(this) ?? counts.set(this, new Map()).get(this)!;
			mine.set(name, (mine.get(name) ?? 0) + 1);
			return original.apply(this, args);
		};
	}
}
