/**
 * Fault injection for the checkout protocol: wrappers around the real
 * WarehousePort and OrderStore adapters that throw, stall or lie at chosen
 * steps, plus builders for placeOrder's input and deps the way
 * src/checkout/routes.ts builds them.
 *
 * A "crash" is an injected error that propagates (or is swallowed by
 * placeOrder's own error handling) without any cleanup after it: the
 * remaining work is what the alarm and the reconciler must finish.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { loadCheckoutContext } from "../../src/cart/load";
import { activeCart, setAddress, setLine } from "../../src/cart/queries";
import { MAX_CART_LINES } from "../../src/cart/schema";
import { listWarehouses, loadCatalog } from "../../src/catalog/queries";
import { toCatalog } from "../../src/catalog/snapshot";
import { lineLimits } from "../../src/limits/queries";
import { checkoutDeps as realDeps } from "../../src/checkout/deps";
import { placeOrder, type PlaceOrderDeps, type PlaceOrderInput } from "../../src/checkout/placeOrder";
import type { OrderStore, WarehousePort } from "../../src/checkout/ports";
import type { DeliveryMode } from "../../src/checkout/rates";
import { reconcile } from "../../src/ops/reconcile";
import type { OrderRecord } from "../../src/orders/queries";
import type { Level } from "../../src/stock/types";
import { outboxOf } from "./commits";
import { ADDRESS, customer, expectInvariants, makeShop, type Shop } from "./shop";
import { dbOfCustomer, dbOfOrder } from "./shards";
import { useClock, type TestClock } from "./stock";

/** The error every wrapper throws: recognisable in results and logs. */
export class InjectedFault extends Error {
	constructor(step: string) {
		super(`injected fault: ${step}`);
		this.name = "InjectedFault";
	}
}

/** Which warehouses a fault applies to: an id, several ids, "*" for all, or a predicate. */
export type WarehouseMatch = string | string[] | ((warehouseId: string, ref: string) => boolean);

function matches(m: WarehouseMatch | undefined, warehouseId: string, ref: string): boolean {
	if (m === undefined) return false;
	if (typeof m === "function") return m(warehouseId, ref);
	if (m === "*") return true;
	return Array.isArray(m) ? m.includes(warehouseId) : m === warehouseId;
}

export interface WarehouseFaults {
	/** reserve throws (before reaching the warehouse) at these warehouses. */
	failReserveAt?: WarehouseMatch;
	/** reserve reaches the warehouse, then the answer is lost (throws). */
	reserveLandsThenThrowsAt?: WarehouseMatch;
	/** commit throws (before reaching the warehouse) at these warehouses. */
	failCommitAt?: WarehouseMatch;
	/** release throws (before reaching the warehouse) at these warehouses. */
	failReleaseAt?: WarehouseMatch;
	/** Rewrites availability answers (a stale read); `call` counts availability calls to this port from 1. */
	availability?: (warehouseId: string, levels: Level[], call: number) => Level[];
	/** Runs before each reserve reaches the warehouse (e.g. someone else takes the stock). */
	beforeReserve?: (warehouseId: string, ref: string) => Promise<void> | void;
	/** Runs before each commit reaches the warehouse (e.g. the request stalls). */
	beforeCommit?: (warehouseId: string, ref: string) => Promise<void> | void;
}

export interface PortCall {
	op: "availability" | "reserve" | "commit" | "release" | "cancelHold";
	warehouseId: string;
	ref?: string;
	/** "ok", the failure reason, or "threw". */
	outcome: string;
}

export type RecordingPort = WarehousePort & { calls: PortCall[]; refs(op?: PortCall["op"]): string[] };

function outcomeOf(v: unknown): string {
	if (v && typeof v === "object" && "ok" in v) {
		const r = v as { ok: boolean; reason?: string };
		return r.ok ? "ok" : (r.reason ?? "failed");
	}
	return "ok";
}

/** The real port, wrapped with faults; every call is recorded in `calls`. */
export function faultyWarehouses(real: WarehousePort, f: WarehouseFaults = {}): RecordingPort {
	const calls: PortCall[] = [];
	let availabilityCalls = 0;
	async function track<T>(op: PortCall["op"], warehouseId: string, ref: string | undefined, run: () => Promise<T>): Promise<T> {
		try {
			const v = await run();
			calls.push({ op, warehouseId, ref, outcome: outcomeOf(v) });
			return v;
		} catch (err) {
			calls.push({ op, warehouseId, ref, outcome: "threw" });
			throw err;
		}
	}
	return {
		calls,
		refs(op) {
			return [...new Set(calls.filter((c) => (op ? c.op === op : true) && c.ref).map((c) => c.ref!))];
		},
		availability: (id, units, opts) =>
			track("availability", id, undefined, async () => {
				const call = ++availabilityCalls;
				const levels = await real.availability(id, units, opts);
				return f.availability ? f.availability(id, levels, call) : levels;
			}),
		reserve: (id, ref, lines, ttlMs) =>
			track("reserve", id, ref, async () => {
				if (f.beforeReserve) await f.beforeReserve(id, ref);
				if (matches(f.failReserveAt, id, ref)) throw new InjectedFault(`reserve at ${id}`);
				const r = await real.reserve(id, ref, lines, ttlMs);
				if (matches(f.reserveLandsThenThrowsAt, id, ref)) throw new InjectedFault(`reserve answer lost at ${id}`);
				return r;
			}),
		commit: (id, ref, units) =>
			track("commit", id, ref, async () => {
				if (f.beforeCommit) await f.beforeCommit(id, ref);
				if (matches(f.failCommitAt, id, ref)) throw new InjectedFault(`commit at ${id}`);
				return real.commit(id, ref, units);
			}),
		release: (id, ref, units) =>
			track("release", id, ref, async () => {
				if (matches(f.failReleaseAt, id, ref)) throw new InjectedFault(`release at ${id}`);
				return real.release(id, ref, units);
			}),
		cancelHold: (id, ref, units) => track("cancelHold", id, ref, () => real.cancelHold(id, ref, units)),
	};
}

export interface StoreFaults {
	/**
	 * "throw": the batch never reaches D1 and decide throws.
	 * "land-then-throw": the real batch runs, then the answer is lost (throws).
	 */
	decide?: "throw" | "land-then-throw";
	/** "throw": D1 cannot be read either; "false": answers false without asking. Default: the real read. */
	orderExists?: "throw" | "false";
	/** Runs before the decision (e.g. the request stalls past the ttl). */
	beforeDecide?: (orderId: string) => Promise<void> | void;
}

export type RecordingStore = OrderStore & {
	/** Order ids whose decision batch really landed (the real decide answered "ok"). */
	decided: string[];
};

export function faultyStore(real: OrderStore, f: StoreFaults = {}): RecordingStore {
	const decided: string[] = [];
	return {
		decided,
		async decide(placement, answer) {
			if (f.beforeDecide) await f.beforeDecide(placement.order.order_id);
			if (f.decide === "throw") throw new InjectedFault("decide");
			const r = await real.decide(placement, answer);
			if (r === "ok") decided.push(placement.order.order_id);
			if (f.decide === "land-then-throw") throw new InjectedFault("decide answer lost");
			return r;
		},
		async orderExists(orderId) {
			if (f.orderExists === "throw") throw new InjectedFault("orderExists");
			if (f.orderExists === "false") return false;
			return real.orderExists(orderId);
		},
		commitsDone: (orderId, ids) => real.commitsDone(orderId, ids),
		allowances: (userId, productIds, limits) => real.allowances(userId, productIds, limits),
		cancelsDone: (orderId, ids) => real.cancelsDone(orderId, ids),
	};
}

/** The request dies after phase 1: holds placed, the decision never written, nobody can tell. */
export const DIE_AFTER_RESERVE: StoreFaults = { decide: "throw", orderExists: "throw" };
/** The request dies right after the decision landed: no phase 2, no answer. */
export const DIE_AFTER_DECIDE: StoreFaults = { decide: "land-then-throw", orderExists: "throw" };

/** placeOrder's input for a user's active cart, built the way the place-order route builds it (a catalog read now, from DB). */
export async function checkoutInput(userId: string, mode: DeliveryMode = "standard"): Promise<PlaceOrderInput> {
	const now = await loadCatalog(env.DB);
	const catalog = toCatalog({ at: Date.now(), ...now });
	const { cart, lines, warehouses, limits } = await loadCheckoutContext(dbOfCustomer(userId), env.DB, userId, catalog);
	if (!cart?.address) throw new Error(`checkoutInput: ${userId} has no cart with an address`);
	const places = warehouses.map(({ warehouse_id, postal_code, region, country }) => ({ warehouse_id, postal_code, region, country }));
	return { userId, cartId: cart.cart_id, cartVersion: cart.version, address: cart.address, lines, limits, mode, warehouses: places };
}

/** placeOrder's deps as the route builds them (real adapters), with overrides. */
export function checkoutDeps(over: Partial<PlaceOrderDeps> = {}): PlaceOrderDeps {
	return realDeps(env, over);
}

/**
 * A buyer with an active cart and the default address, written straight to D1
 * with the cart module's own queries (no HTTP round trips): for runs with
 * hundreds of buyers. Answers the user id.
 */
export async function quickCustomer(items: Array<{ product_id: string; size: string; quantity: number }>, address = ADDRESS, userId = `user-${crypto.randomUUID().slice(0, 12)}`): Promise<string> {
	const now = new Date().toISOString();
	const db = dbOfCustomer(userId);
	const cart = await activeCart(db, userId, now);
	for (const item of items) {
		const refused = await setLine(db, cart.cart_id, item, MAX_CART_LINES, now, await lineLimits(env.DB, item.product_id));
		if (refused) throw new Error(`quickCustomer: line ${item.product_id}/${item.size} refused (${JSON.stringify(refused)})`);
	}
	await setAddress(db, cart.cart_id, address, now);
	return userId;
}

/** Every warehouse id in D1 (storage is shared by the tests of one file). */
export async function allWarehouseIds(): Promise<string[]> {
	return (await listWarehouses(env.DB, false)).map((w) => w.warehouse_id);
}

export async function orderRow(orderId: string): Promise<{ order_id: string; status: string } | null> {
	return dbOfOrder(orderId).prepare(`SELECT order_id, status FROM orders WHERE order_id = ?`).bind(orderId).first<{ order_id: string; status: string }>();
}

export async function ordersOfUser(userId: string): Promise<Array<{ order_id: string; status: string }>> {
	return (await dbOfCustomer(userId).prepare(`SELECT order_id, status FROM orders WHERE user_id = ?`).bind(userId).all<{ order_id: string; status: string }>()).results;
}

/** One TestClock for these warehouses' objects: a test moves it past a hold's ttl instead of waiting. */
export async function clockOf(warehouseIds: string[]): Promise<TestClock> {
	return useClock(warehouseIds.map((w) => env.WAREHOUSE.getByName(w)));
}

/** Moves the clock past the ttl and runs each warehouse's alarm, as the runtime would while a request stalls that long. */
export async function lapse(clock: TestClock, ms: number, warehouseIds: string[]): Promise<void> {
	clock.advance(ms);
	for (const w of warehouseIds) await runDurableObjectAlarm(env.WAREHOUSE.getByName(w));
}

export async function holdState(warehouseId: string, ref: string): Promise<string | null> {
	return (await env.WAREHOUSE.getByName(warehouseId).hold(ref))?.state ?? null;
}

/** One warehouse (A, in the buyer's postal area) with 3 units of one product (p) in size M, and a buyer of 2 of them. */
export async function buyerOfTwoAtOne() {
	const shop = await makeShop({ sizes: ["M"], warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 3 } }] });
	const [A] = shop.warehouses as [string];
	const p = shop.products[0]!;
	const buyer = await customer([{ product_id: p, size: "M", quantity: 2 }]);
	return { shop, A, p, buyer };
}

/**
 * The "hold lapsed and sold meanwhile" shop: X wants 3 units of p in size M, of
 * which A (in the buyer's postal area, tier_1) ships 2 and B (same region) 1; Y
 * wants 2, which only A can fill once X's hold there lapses. `moreAtA`: other
 * stock at A (its sizes added to the shop's).
 */
export async function lapsedAndSold(moreAtA: Record<string, number> = {}) {
	const sizes = [...new Set(["M", ...Object.keys(moreAtA).map((k) => k.split("/")[1]!)])];
	const shop = await makeShop({
		sizes,
		warehouses: [
			{ postal_code: "10001", region: "NY", stock: { "0/M": 2, ...moreAtA } },
			{ postal_code: "14201", region: "NY", stock: { "0/M": 1 } },
		],
	});
	const [A, B] = shop.warehouses as [string, string];
	const clock = await clockOf(shop.warehouses);
	const p = shop.products[0]!;
	const x = await customer([{ product_id: p, size: "M", quantity: 3 }]);
	const y = await customer([{ product_id: p, size: "M", quantity: 2 }]);
	return { shop, A, B, clock, p, x, y };
}

/**
 * What happens while X's request stalls before its decision, in the "hold lapsed
 * and sold meanwhile" cases: only X's hold at `lapsed` expires (the alarm at `kept`
 * is moved ten minutes away, so X still holds there), then `buyer` orders and
 * takes the lapsed units. Answers the buyer's order.
 */
export async function lapseOneAndSell(o: { clock: TestClock; pastTtlMs: number; lapsed: string; kept: string; orderId: string; buyer: string }): Promise<OrderRecord> {
	await runInDurableObject(env.WAREHOUSE.getByName(o.kept), (_, state) => state.storage.setAlarm(Date.now() + 10 * 60_000));
	await lapse(o.clock, o.pastTtlMs, [o.lapsed]);
	expect(await holdState(o.lapsed, o.orderId)).toBe("expired");
	expect(await holdState(o.kept, o.orderId)).toBe("held");
	const other = await placeOrder(await checkoutInput(o.buyer), checkoutDeps());
	if (!other.ok) throw new Error(`${o.buyer}: ${JSON.stringify(other)}`);
	return other.order;
}

/** Runs the alarm of each warehouse (if one is set), then the reconciler as the cron would a minute later; then nothing may be left. */
export async function settle(shop: Shop) {
	for (const w of shop.warehouses) await runDurableObjectAlarm(env.WAREHOUSE.getByName(w));
	const report = await reconcile(env, Date.now() + 60_000);
	expect(report.failures).toBe(0);
	expect(await outboxOf()).toEqual([]);
	await expectInvariants(shop.warehouses, { settled: true });
	return report;
}
