/** Helpers for the Warehouse Durable Object tests: fresh stubs, units, a test clock, ledger reading, a seeded PRNG. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Warehouse } from "../../src/stock/binding";
import type { Clock, OrderLookup } from "../../src/stock/object/ports";
import { WarehouseObject } from "../../src/stock/object/Warehouse";
import type { WriteCounts } from "../../src/stock/object/writes";
import type { LedgerEntry, Line, Unit } from "../../src/stock/types";

export type WarehouseStub = ReturnType<typeof env.WAREHOUSE.getByName>;

/** A fresh random warehouse name, so tests never share stock. */
export function freshName(): string {
	return `wh-${crypto.randomUUID()}`;
}

/** A stub on a brand-new warehouse. */
export function freshWarehouse(name = freshName()): WarehouseStub {
	return env.WAREHOUSE.getByName(name);
}

/**
 * Restarts a warehouse object the way a crash would: `ctx.abort()` drops the
 * instance (its in-memory state included); the next request builds a new one,
 * which runs the constructor again. Answers a new stub (the old one is broken).
 */
export async function restartWarehouse(name: string): Promise<WarehouseStub> {
	const stub = env.WAREHOUSE.getByName(name);
	await runInDurableObject(stub, (_, state) => state.abort("test restart")).then(
		() => {
			throw new Error("abort did not reset the object");
		},
		() => undefined,
	);
	return env.WAREHOUSE.getByName(name);
}

/** The object's scheduled alarm time, or null. */
export async function alarmOf(stub: WarehouseStub): Promise<number | null> {
	return runInDurableObject(stub, (_, state) => state.storage.getAlarm());
}

/** A unit with a product id unique to the calling test. */
export function unit(size = "M", product_id = `p-${crypto.randomUUID().slice(0, 8)}`): Unit {
	return { product_id, size };
}

export function line(u: Unit, quantity: number): Line {
	return { product_id: u.product_id, size: u.size, quantity };
}

export function ref(prefix = "ref"): string {
	return `${prefix}-${crypto.randomUUID()}`;
}

/** A clock a test moves by hand: the real time plus what the test added, so time passes without waiting. */
export class TestClock implements Clock {
	private ahead = 0;
	now(): number {
		return Date.now() + this.ahead;
	}
	advance(ms: number): void {
		this.ahead += ms;
	}
}

/**
 * Gives the live instance of each warehouse this clock (one clock for several
 * warehouses keeps them in step), inside the object; answers the clock. A
 * restarted object reads the real clock again.
 */
export async function useClock(stubs: WarehouseStub | WarehouseStub[], clock = new TestClock()): Promise<TestClock> {
	for (const stub of Array.isArray(stubs) ? stubs : [stubs]) {
		await runInDurableObject(stub, (instance: Warehouse) => WarehouseObject.replaceDeps(instance, { clock }));
	}
	return clock;
}

/** Gives the live instance this order port: what its alarm and resolveDue ask D1 (e.g. a failing one for an outage). */
export async function useOrders(stub: WarehouseStub, orders: OrderLookup): Promise<void> {
	await runInDurableObject(stub, (instance: Warehouse) => WarehouseObject.replaceDeps(instance, { orders }));
}

/**
 * What a Warehouse method throws, as "Name: message" ("no error" if it does not).
 * The call runs inside the object: a rejecting RPC through a stub leaks an extra
 * unhandled rejection in the Vitest pool (cloudflare/workers-sdk#14736).
 */
export async function errorFrom(stub: WarehouseStub, call: (w: Warehouse) => Promise<unknown>): Promise<string> {
	return runInDurableObject(stub, async (instance: Warehouse) => {
		try {
			await call(instance);
			return "no error";
		} catch (e) {
			return `${(e as Error).name}: ${(e as Error).message}`;
		}
	});
}

/** A warehouse's ledger (by name or stub), oldest first, read through every page of `pageSize`; only the rows of `ref` when given. */
export async function ledgerOf(warehouse: string | WarehouseStub, ref?: string, pageSize = 500): Promise<LedgerEntry[]> {
	const stub = typeof warehouse === "string" ? env.WAREHOUSE.getByName(warehouse) : warehouse;
	const rows: LedgerEntry[] = [];
	let after = 0;
	for (;;) {
		const page = await stub.ledger(after, pageSize);
		rows.push(...(ref === undefined ? page.entries : page.entries.filter((e) => e.ref === ref)));
		if (page.next_after === null) return rows;
		after = page.next_after;
	}
}

/**
 * A warehouse's write transactions by kind since `before` (its writeCounts()
 * answer then): what the steps in between cost it (src/stock/object/writes.ts).
 * The instance must not have restarted meanwhile, which would reset the counts.
 */
export async function writesSince(warehouse: string | WarehouseStub, before: WriteCounts): Promise<Record<string, number>> {
	const stub = typeof warehouse === "string" ? env.WAREHOUSE.getByName(warehouse) : warehouse;
	const after = await stub.writeCounts();
	expect(after.since, "the warehouse restarted: its write counts started again").toBe(before.since);
	const kinds = new Set([...Object.keys(after.by_kind), ...Object.keys(before.by_kind)]);
	return Object.fromEntries([...kinds].map((k) => [k, (after.by_kind[k] ?? 0) - (before.by_kind[k] ?? 0)]));
}

/** The current level of one unit. */
export async function levelOf(stub: WarehouseStub, u: Unit) {
	const [level] = await stub.availability([u]);
	return level!;
}

export { mulberry32 } from "./random";

/** An integer in [min, max] drawn from `rand`. */
export function randInt(rand: () => number, min: number, max: number): number {
	return min + Math.floor(rand() * (max - min + 1));
}

/** One element of `items` drawn from `rand`. */
export function pick<T>(rand: () => number, items: readonly T[]): T {
	return items[Math.floor(rand() * items.length)]!;
}
