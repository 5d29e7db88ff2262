/**
 * Builds a storm's shop through the admin API (products, warehouses, levels)
 * and its buyers through the cart API, and keeps the Book: what the test
 * itself knows happened (levels it loaded, adjustments answered 200, orders
 * answered 201, checkouts refused or never answered), which the invariant
 * check compares with what the Worker stored.
 */
import { fileURLToPath } from "node:url";
import { openShop as setUpShop } from "../../scripts/lib/shop.mjs";
import { Api, pool, tokenFor, type Answer } from "./client.ts";
import type { Stockgate } from "./harness.ts";

export interface Line {
	product_id: string;
	size: string;
	quantity: number;
}

export interface Address {
	name: string;
	line1: string;
	city: string;
	region: string;
	postal_code: string;
	country: string;
}

export interface WarehouseSpec {
	id: string;
	postal_code: string;
	region: string;
	/** Levels loaded before the storm. */
	stock: Array<{ product_id: string; size: string; on_hand: number; shards?: number }>;
}

export interface ShopSpec {
	products: Array<{ id: string; sizes: string[]; price?: number }>;
	warehouses: WarehouseSpec[];
}

export interface Buyer {
	sub: string;
	token: string;
	lines: Line[];
	address: Address;
}

export const unitKey = (warehouseId: string, productId: string, size: string) => `${warehouseId}|${productId}|${size}`;

/** What the clients saw. */
export class Book {
	/** Levels loaded by the set-up, per warehouse|product|size. */
	readonly loaded = new Map<string, number>();
	/** Adjustments answered 200, by their reference. */
	readonly adjusted = new Map<string, { key: string; delta: number }>();
	/** Adjustment references answered 409 (must have changed nothing). */
	readonly adjustRefused = new Set<string>();
	/** Orders answered 201, by order id. */
	readonly placed = new Map<string, { user: string; body: any }>();
	/** Checkouts answered with anything but 201, by user. */
	readonly refused = new Map<string, Answer>();
	/** Checkouts that got no answer at all (the restart), by user. */
	readonly unanswered = new Set<string>();
	/** PUT stock answered 200 during the storm: their deltas are only in the ledger. */
	setsDuringStorm = 0;

	/** Records a place-order outcome: an answer, or `null` when none came. */
	checkout(user: string, answer: Answer | null): void {
		if (answer === null) this.unanswered.add(user);
		else if (answer.status === 201) this.placed.set(answer.body.order_id, { user, body: answer.body });
		else this.refused.set(user, answer);
	}

	/** Units answered 201, summed over the placed orders. */
	unitsPlaced(): number {
		let n = 0;
		for (const { body } of this.placed.values()) for (const p of body.products) n += p.quantity;
		return n;
	}
}

export const ADDRESSES: Address[] = [
	{ name: "Ada Buyer", line1: "1 Main St", city: "New York", region: "NY", postal_code: "10001", country: "US" },
	{ name: "Bo Buyer", line1: "2 Market St", city: "San Francisco", region: "CA", postal_code: "94105", country: "US" },
	{ name: "Cy Buyer", line1: "3 Lake St", city: "Chicago", region: "IL", postal_code: "60601", country: "US" },
	{ name: "Di Buyer", line1: "4 Pine St", city: "Seattle", region: "WA", postal_code: "98101", country: "US" },
];

/** Three warehouses in three regions, named for the storm. */
export function threeWarehouses(prefix: string): Array<Omit<WarehouseSpec, "stock">> {
	return [
		{ id: `${prefix}-ny`, postal_code: "10001", region: "NY" },
		{ id: `${prefix}-ca`, postal_code: "94105", region: "CA" },
		{ id: `${prefix}-il`, postal_code: "60601", region: "IL" },
	];
}

export async function openShop(api: Api, admin: string, spec: ShopSpec, book: Book): Promise<void> {
	await setUpShop((method, path, body) => api.must(method, path, { token: admin, body }), {
		products: spec.products.map((p) => ({ id: p.id, name: `Product ${p.id}`, price: p.price ?? 19.99, sizes: p.sizes })),
		warehouses: spec.warehouses.map((w) => ({ ...w, name: w.id, country: "US" })),
		reason: "load test set-up",
	});
	for (const w of spec.warehouses) for (const s of w.stock) book.loaded.set(unitKey(w.id, s.product_id, s.size), s.on_hand);
}

const SHARDS_MODULE = fileURLToPath(new URL("../../src/orders/shards.ts", import.meta.url));

/**
 * `n` buyers, each with a token, an active cart holding `linesOf(i)` and an
 * address. The carts are written straight into their order shards in a few statements: the
 * storms are about checkout, and building hundreds of carts through the API
 * (two requests a buyer) would take most of the run on this machine. The
 * first buyer's cart of each shard is read back through `GET /cart`, so a change to how
 * carts are stored fails here, loudly, rather than in a storm.
 */
export async function makeBuyers(sg: Stockgate, api: Api, prefix: string, n: number, linesOf: (i: number) => Line[], addressOf: (i: number) => Address): Promise<Buyer[]> {
	const now = new Date().toISOString();
	// Lines and addresses drawn in buyer order (a seeded run replays), tokens after.
	const drawn = Array.from({ length: n }, (_, i) => ({ sub: `${prefix}-buyer-${i}`, lines: linesOf(i), address: addressOf(i) }));
	const buyers = await Promise.all(drawn.map(async (b): Promise<Buyer> => ({ ...b, token: await tokenFor(b.sub) })));
	// Each cart goes to its buyer's order shard, placed by the Worker's own hash (src/orders/shards.ts: no imports
	// but types, so Node runs it; imported by path, as this project's tsconfig has no Workers types to check it with).
	const { shardIndexOf } = (await import(SHARDS_MODULE)) as { shardIndexOf: (sub: string, n: number) => number };
	const shards = await sg.orderShards();
	const chunks = shards.flatMap((db, i) => {
		const mine = buyers.filter((b) => shardIndexOf(b.sub, shards.length) === i);
		return Array.from({ length: Math.ceil(mine.length / 500) }, (_, k) => ({ db, chunk: mine.slice(k * 500, (k + 1) * 500) }));
	});
	for (const { db, chunk } of chunks) {
		const carts = chunk.map((b) => ({ cart_id: `cart_${b.sub}`, user_id: b.sub, address: JSON.stringify(b.address) }));
		const items = chunk.flatMap((b) => b.lines.map((l) => ({ cart_id: `cart_${b.sub}`, ...l })));
		await db.batch([
			db
				.prepare(
					`INSERT INTO carts (cart_id, user_id, status, address, created_at, updated_at)
					 SELECT json_extract(value, '$.cart_id'), json_extract(value, '$.user_id'), 'active', json_extract(value, '$.address'), ?2, ?2 FROM json_each(?1)`,
				)
				.bind(JSON.stringify(carts), now),
			db
				.prepare(
					`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at)
					 SELECT json_extract(value, '$.cart_id'), json_extract(value, '$.product_id'), json_extract(value, '$.size'), json_extract(value, '$.quantity'), ?2 FROM json_each(?1)`,
				)
				.bind(JSON.stringify(items), now),
		]);
	}
	// The first buyer of each shard reads back through the API: a cart in the wrong shard would read back empty.
	for (const { chunk } of chunks.filter((c, i) => chunks.findIndex((d) => d.db === c.db) === i)) {
		const first = chunk[0]!;
		const cart = await api.must("GET", "/cart", { token: first.token });
		const seen = (cart.items as Line[]).map((l) => `${l.product_id}/${l.size}x${l.quantity}`).sort();
		const want = first.lines.map((l) => `${l.product_id}/${l.size}x${l.quantity}`).sort();
		if (cart.cart_id !== `cart_${first.sub}` || JSON.stringify(seen) !== JSON.stringify(want) || JSON.stringify(cart.address) !== JSON.stringify(first.address)) {
			throw new Error(`seeded cart reads back differently through the API: ${JSON.stringify(cart)}`);
		}
	}
	return buyers;
}

/**
 * Every buyer checks out at once (at most `limit` in flight); outcomes go to the book and the tally.
 * Buyers `keyed` send an Idempotency-Key and, once answered, send the same checkout again
 * (tallied as "place-order replay"; the history checker compares the two answers).
 */
export async function checkoutAll(
	api: Api,
	buyers: Buyer[],
	book: Book,
	onAnswer: (status: number | "none", body?: unknown, kind?: string) => void,
	limit: number,
	opts: { keyed?: (b: Buyer) => boolean } = {},
): Promise<void> {
	await pool(
		buyers.map((b) => async () => {
			const keyed = opts.keyed?.(b) ?? false;
			const send = () => api.call("POST", "/cart/place-order", { token: b.token, body: {}, asked: b.lines, headers: keyed ? { "idempotency-key": `checkout-${b.sub}` } : {} });
			let answer: Answer | null = null;
			try {
				answer = await send();
			} catch (err) {
				onAnswer("none", String(err));
				book.checkout(b.sub, null);
				return;
			}
			onAnswer(answer.status, answer.body);
			book.checkout(b.sub, answer);
			if (keyed) {
				const again = await send();
				onAnswer(again.status, again.body, "place-order replay");
			}
		}),
		limit,
	);
}
