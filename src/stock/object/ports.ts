/**
 * What the Warehouse object needs from outside its own storage, passed to its
 * constructor: the time, and what D1 says of the orders its holds belong to.
 * The deployed object gets the real ones (src/stock/binding.ts); a test
 * replaces them inside the object (`testHooks`), never over RPC.
 */

/** The object's time, in ms since the epoch. */
export interface Clock {
	now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * What the alarm asks before resolving due holds (presumed abort): a hold's
 * reference is its order id. `decided`: the order is in D1 and not cancelled,
 * so its holds are committed; any other answer releases them. A failed read
 * throws, so the alarm retries rather than guessing.
 */
export interface OrderLookup {
	decided(orderIds: string[]): Promise<Set<string>>;
}

export interface WarehouseDeps {
	orders: OrderLookup;
	clock: Clock;
}
