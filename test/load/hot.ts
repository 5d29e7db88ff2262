/**
 * The sharded storms' shop: one hot unit at one warehouse, split over shard
 * objects, its buyers, and what every such storm asserts at its end. A buyer
 * checks out one cart; one who pays sends the payment webhook right after its
 * 201. After the storm, `lastCall` sends the spare buyers at whatever is left
 * (reported, so a storm that strands units shows it), then the invariant
 * check and the history checker run.
 */
import { expect } from "vitest";
import type { Answer, Api, Tally } from "./client.ts";
import { paymentSignature, pool } from "./client.ts";
import type { Stockgate } from "./harness.ts";
import { settle } from "./invariants.ts";
import type { Book, Buyer } from "./shop.ts";
import { ADDRESSES, makeBuyers, openShop } from "./shop.ts";

export const PRODUCT = "hot";
export const SIZE = "M";

export interface HotRow {
	on_hand: number;
	reserved: number;
	available: number;
	shards: number;
	pool: number | null;
}

/** A warehouse in New York holding `units` of the hot unit over `shards` objects. */
export async function openHot(api: Api, admin: string, book: Book, warehouseId: string, units: number, shards: number): Promise<void> {
	await openShop(
		api,
		admin,
		{ products: [{ id: PRODUCT, sizes: [SIZE] }], warehouses: [{ id: warehouseId, postal_code: "10001", region: "NY", stock: [{ product_id: PRODUCT, size: SIZE, on_hand: units, shards }] }] },
		book,
	);
}

/** `n` buyers of the hot unit, each wanting one unit (one in five wants two). */
export function hotBuyers(sg: Stockgate, api: Api, prefix: string, n: number, pick: () => number): Promise<Buyer[]> {
	return makeBuyers(
		sg,
		api,
		prefix,
		n,
		() => [{ product_id: PRODUCT, size: SIZE, quantity: pick() < 0.2 ? 2 : 1 }],
		(i) => ADDRESSES[i % ADDRESSES.length]!,
	);
}

export async function hotRow(api: Api, admin: string, warehouseId: string): Promise<HotRow> {
	const r = await api.must("GET", `/admin/warehouses/${encodeURIComponent(warehouseId)}/stock`, { token: admin });
	return (r.items as Array<HotRow & { product_id: string; size: string }>).find((i) => i.product_id === PRODUCT && i.size === SIZE)!;
}

/** One checkout, into the book and the tally; a buyer who pays pays at once. Answers the order's id on a 201. */
export async function checkout(api: Api, b: Buyer, book: Book, tally: Tally, opts: { pays?: boolean; kind?: string } = {}): Promise<string | null> {
	const kind = opts.kind ?? "place-order";
	let a: Answer;
	try {
		a = await api.call("POST", "/cart/place-order", { token: b.token, body: {}, asked: b.lines });
	} catch (err) {
		tally.add(kind, "none", String(err));
		book.checkout(b.sub, null);
		return null;
	}
	tally.add(kind, a.status, a.body);
	book.checkout(b.sub, a);
	if (a.status !== 201) return null;
	if (opts.pays) {
		const raw = JSON.stringify({ id: `evt_${a.body.order_id}`, type: "payment.succeeded", order_id: a.body.order_id, amount: a.body.total, currency: a.body.currency });
		const paid = await api.call("POST", "/payments/webhook", { raw, headers: { "payment-signature": paymentSignature(raw) } });
		tally.add("payment", paid.status, paid.body);
	}
	return a.body.order_id as string;
}

/**
 * After the storm: every hold resolved and every give-back landed (the
 * reconciler), then spare buyers, one unit each, at whatever is still free,
 * until nothing is (or they run out). Answers the units they bought.
 */
export async function lastCall(sg: Stockgate, api: Api, admin: string, warehouseId: string, spare: Buyer[], book: Book, tally: Tally, opts: { pays?: boolean } = {}): Promise<number> {
	let sold = 0;
	for (let next = 0; next < spare.length; ) {
		await settle(sg);
		const left = (await hotRow(api, admin, warehouseId)).available;
		if (left === 0) break;
		const wave = spare.slice(next, next + left);
		next += wave.length;
		const ids = await pool(
			wave.map((b) => () => checkout(api, b, book, tally, { ...opts, kind: "place-order last call" })),
			left,
		);
		sold += ids.filter((r) => r.status === "fulfilled" && r.value !== null).length;
	}
	return sold;
}

/** Units of the ledger's `set` rows for the hot unit (what every PUT put in, at the pool and the shards). */
export async function loadedBySets(api: Api, admin: string, warehouseId: string): Promise<number> {
	let loaded = 0;
	for (let after = 0; ; ) {
		const page = await api.must("GET", `/admin/warehouses/${encodeURIComponent(warehouseId)}/ledger?after=${after}&limit=500`, { token: admin });
		for (const e of page.entries as Array<{ reason: string; product_id: string; size: string; on_hand_delta: number }>) {
			if (e.reason === "set" && e.product_id === PRODUCT && e.size === SIZE) loaded += e.on_hand_delta;
		}
		if (page.next_after === null) return loaded;
		after = page.next_after;
	}
}

/** What every sharded storm asserts: only 201 and 409 OUT_OF_STOCK, no invariant problem, no checker violation (no false 409 among them), every unit sold. */
export function expectSoldOut(
	tally: Tally,
	book: Book,
	check: { problems: string[]; figures: { live_units: number; on_hand: number } },
	history: { violations: string[] },
	stock: number,
	kinds: string[] = ["place-order", "place-order last call"],
): void {
	for (const kind of kinds) expect(tally.unexpected(kind, [201, 409]), `${kind}: ${JSON.stringify(tally.samples)}`).toEqual({});
	expect([...book.refused.values()].filter((a) => a.body?.code !== "OUT_OF_STOCK")).toEqual([]);
	expect(check.problems).toEqual([]);
	expect(history.violations).toEqual([]);
	expect(check.figures.live_units, "units sold == stock loaded + restocked").toBe(stock);
	expect(check.figures.on_hand).toBe(0);
}
