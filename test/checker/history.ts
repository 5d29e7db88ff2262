/**
 * A recorded history, as the checker reads it: every client operation of a
 * storm (invoke and complete times, request, answer) and, read after it, every
 * ledger row of every stock object, the levels, the orders, the catalog and
 * the warehouses. Plain data: the load storms record it over HTTP
 * (test/load/record.ts), the checker's own tests write it by hand.
 *
 * Imports inside test/checker end in `.js`: these files are compiled both by
 * the Workers tsconfig and by the Node one (the load storms), and `.js` is
 * the one spelling both resolve to the `.ts` source.
 */

export interface Unit {
	product_id: string;
	size: string;
}

export interface Line extends Unit {
	quantity: number;
}

/**
 * One object holding a unit's stock at a warehouse: the warehouse's own object
 * (no `shard`), one shard of a sharded unit (its index), or the unit's
 * coordinator, which keeps the free pool ("pool").
 */
export interface ObjectRef {
	warehouse_id: string;
	shard?: number | "pool";
}

export interface LedgerRow extends Unit {
	object: ObjectRef;
	seq: number;
	/** The object's clock when it wrote the row, in ms since the epoch. */
	at: number;
	on_hand_delta: number;
	reserved_delta: number;
	reason: string;
	ref: string;
}

/**
 * A unit's levels as the stock read answered them after the storm: for one
 * object when `object.shard` is set, else summed over every object of the
 * unit at that warehouse (shards and pool).
 */
export interface StockRow extends Unit {
	object: ObjectRef;
	on_hand: number;
	reserved: number;
	safety_stock: number;
}

export interface Answer {
	status: number;
	body: any;
	/** Response headers, lower-case names. */
	headers: Record<string, string>;
}

/** One client request: invoked, then answered, or never answered (`answer: null`). */
export interface Op {
	id: number;
	/** The caller (the token's subject). */
	user: string;
	method: string;
	path: string;
	body?: unknown;
	/** Request headers, lower-case names (without the token). */
	headers: Record<string, string>;
	/** What a request asks for when its body does not say: a checkout's cart lines. */
	asked?: Line[];
	/** Client clock in ms: just before the request was sent, and once its answer was read. */
	invoke: number;
	complete: number | null;
	answer: Answer | null;
}

export interface Allocation {
	warehouse_id: string;
	quantity: number;
}

export interface OrderLine extends Line {
	allocations: Allocation[];
	/** Kit lines: each component's units for the whole line, with where they ship from. */
	components?: Array<Line & { allocations: Allocation[] }>;
}

export interface OrderRecord {
	order_id: string;
	user_id: string;
	status: string;
	products: OrderLine[];
}

export interface Product {
	product_id: string;
	max_per_customer: number | null;
	/** A kit's components, per kit; null for a plain product. */
	components: Line[] | null;
}

export interface WarehouseRecord {
	warehouse_id: string;
	active: boolean;
}

export interface History {
	ops: Op[];
	ledger: LedgerRow[];
	stock: StockRow[];
	orders: OrderRecord[];
	products: Product[];
	warehouses: WarehouseRecord[];
	/**
	 * Read after the storm settled (every hold due and resolved): then nothing
	 * may be held or in transit, and every live order must be committed.
	 */
	settled: boolean;
	/** When the ledgers had been read (client clock, ms): no row can have been written later. */
	read_at: number;
}

export const unitKey = (u: Unit): string => `${u.product_id}/${u.size}`;

export const objectKey = (o: ObjectRef): string => (o.shard === undefined ? o.warehouse_id : `${o.warehouse_id}#${o.shard}`);

/** Adds `v` to `m[k]`. */
export function add(m: Map<string, number>, k: string, v: number): void {
	m.set(k, (m.get(k) ?? 0) + v);
}

/** Groups items by key, in their order. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
	const out = new Map<string, T[]>();
	for (const item of items) {
		const k = key(item);
		const list = out.get(k);
		if (list) list.push(item);
		else out.set(k, [item]);
	}
	return out;
}
