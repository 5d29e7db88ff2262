/**
 * The transfer saga with a request killed between every pair of steps: the
 * ports (Warehouse steps and D1 record) are wrapped to crash before or after
 * the N-th call of one of them; the reconciler then finishes what was left.
 * After each run every unit is in exactly one place: at the source, in transit
 * (incoming at the destination) or at the destination, and each warehouse's
 * ledger replays to its stock.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { transferDeps, type TransferDeps, type TransferStore, type TransferWarehouses } from "../../src/transfers/ports";
import { getTransfer } from "../../src/transfers/queries";
import { finishTransfers } from "../../src/transfers/reconcile";
import { createTransfer, finishTransfer } from "../../src/transfers/saga";
import { InjectedFault } from "../helpers/faults";
import { makeShop } from "../helpers/shop";

type Port = keyof TransferWarehouses | keyof TransferStore;
interface Fault {
	port: Port;
	/** Crash on this call of the port (1 = the first). */
	nth: number;
	/** before: the call never happens; after: it happens but its answer is lost. */
	when: "before" | "after";
}

/** The deps with every port call counted; with `fault`, the chosen call crashes; `seen` records the calls made. */
function instrumented(deps: TransferDeps, fault: Fault | null, seen: Array<{ port: Port; nth: number }> = []): TransferDeps {
	const counts = new Map<Port, number>();
	const wrap = <T extends object>(target: T): T =>
		new Proxy(target, {
			get(obj, key) {
				const fn = (obj as Record<string, unknown>)[key as string];
				if (typeof fn !== "function") return fn;
				return async (...args: unknown[]) => {
					const port = key as Port;
					const n = (counts.get(port) ?? 0) + 1;
					counts.set(port, n);
					seen.push({ port, nth: n });
					const hit = fault !== null && port === fault.port && n === fault.nth;
					if (hit && fault.when === "before") throw new InjectedFault(`${port}#${n} before`);
					const result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
					if (hit) throw new InjectedFault(`${port}#${n} after`);
					return result;
				};
			},
		});
	return { ...deps, warehouses: wrap(deps.warehouses), store: wrap(deps.store) };
}

/** Every call a clean run of `flow` makes, each to be crashed before and after it. */
async function faultsOf(flow: (deps: TransferDeps) => Promise<unknown>): Promise<Fault[]> {
	const seen: Array<{ port: Port; nth: number }> = [];
	await flow(instrumented(transferDeps(env, "fault-test"), null, seen));
	expect(seen.length).toBeGreaterThan(2);
	return seen.flatMap((c) => [
		{ ...c, when: "before" as const },
		{ ...c, when: "after" as const },
	]);
}

async function levels(warehouseId: string, productId: string) {
	const view = await env.WAREHOUSE.getByName(warehouseId).stockView();
	const row = view.items.find((i) => i.product_id === productId && i.size === "M");
	return { on_hand: row?.on_hand ?? 0, incoming: row?.incoming ?? 0 };
}

/** Every unit in exactly one place, given what D1 says the transfer is now. */
async function checkPlaces(src: string, dst: string, productId: string, transferId: string | undefined, loaded: number, quantity: number) {
	const t = transferId ? await getTransfer(env.DB, transferId) : null;
	const s = await levels(src, productId);
	const d = await levels(dst, productId);
	const where = JSON.stringify({ status: t?.status ?? "none", step: t?.step, s, d });
	if (t) expect(t.step, where).toBe("done");
	const expected =
		!t || t.status === "cancelled"
			? { s: loaded, d: 0, incoming: 0 }
			: t.status === "received"
				? { s: loaded - quantity, d: quantity, incoming: 0 }
				: { s: loaded - quantity, d: 0, incoming: quantity };
	expect({ s: s.on_hand, d: d.on_hand, incoming: d.incoming }, where).toEqual(expected);
	for (const w of [src, dst]) expect((await env.WAREHOUSE.getByName(w).audit()).problems, where).toEqual([]);
	return t?.status ?? "none";
}

async function setting() {
	const shop = await makeShop({
		warehouses: [
			{ postal_code: "10001", region: "NY", stock: { "0/M": 10 } },
			{ postal_code: "94103", region: "CA", stock: {} },
		],
	});
	return { src: shop.warehouses[0]!, dst: shop.warehouses[1]!, p: shop.products[0]! };
}

/** Runs the reconciler as a later cron tick would (past its grace period), twice: a step it finishes may reveal the next. */
async function reconcileLater() {
	const later = Date.now() + 3_600_000 * 2;
	await finishTransfers(env, later, 15_000);
	await finishTransfers(env, later + 3_600_000 * 2, 15_000);
}

describe("transfer saga under faults", () => {
	it("create, killed at every step, ends in transit or never happened", { timeout: 180_000 }, async () => {
		const outcomes: Record<string, number> = {};
		const clean = await setting();
		const faults = await faultsOf((deps) => createTransfer({ from_warehouse_id: clean.src, to_warehouse_id: clean.dst, items: [{ product_id: clean.p, size: "M", quantity: 4 }] }, deps));
		for (const fault of faults) {
			const { src, dst, p } = await setting();
			const deps = instrumented(transferDeps(env, "fault-test"), fault);
			// A fault is an answer (201, or 503 unavailable), never an exception: the route would turn that into a 500.
			const r = await createTransfer({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }] }, deps);
			if (!r.ok) expect(r.reason, JSON.stringify(fault)).toBe("unavailable");
			const id = r && r.ok ? r.transfer.transfer_id : await lastTransferFrom(src);
			await reconcileLater();
			const status = await checkPlaces(src, dst, p, id, 10, 4);
			// A transfer answered 201 is never lost.
			if (r?.ok) expect(status).toBe("in_transit");
			outcomes[status] = (outcomes[status] ?? 0) + 1;
		}
		expect(outcomes.in_transit).toBeGreaterThan(0);
		expect(outcomes.none).toBeGreaterThan(0);
	});

	for (const action of ["receive", "cancel"] as const) {
		it(`${action}, killed at every step, ends ${action === "receive" ? "received" : "cancelled"} or still in transit`, { timeout: 180_000 }, async () => {
			const clean = await setting();
			const made = await createTransfer({ from_warehouse_id: clean.src, to_warehouse_id: clean.dst, items: [{ product_id: clean.p, size: "M", quantity: 4 }] }, transferDeps(env, "fault-test"));
			if (!made.ok) throw new Error("setup failed");
			const faults = await faultsOf((deps) => finishTransfer(made.transfer.transfer_id, action, deps));
			for (const fault of faults) {
				const { src, dst, p } = await setting();
				const created = await createTransfer({ from_warehouse_id: src, to_warehouse_id: dst, items: [{ product_id: p, size: "M", quantity: 4 }] }, transferDeps(env, "fault-test"));
				if (!created.ok) throw new Error("setup failed");
				const id = created.transfer.transfer_id;
				const r = await finishTransfer(id, action, instrumented(transferDeps(env, "fault-test"), fault));
				if (!r.ok) expect(r.reason, JSON.stringify(fault)).toBe("unavailable");
				await reconcileLater();
				const status = await checkPlaces(src, dst, p, id, 10, 4);
				if (r?.ok) expect(status).toBe(action === "receive" ? "received" : "cancelled");
				// Whatever happened, the other action is still exclusive afterwards.
				const other = await finishTransfer(id, action === "receive" ? "cancel" : "receive", transferDeps(env, "fault-test"));
				if (status !== "in_transit") expect(other).toMatchObject({ ok: false, reason: "invalid_transition" });
				await reconcileLater();
				await checkPlaces(src, dst, p, id, 10, 4);
			}
		});
	}
});

async function lastTransferFrom(src: string): Promise<string | undefined> {
	const r = await env.DB.prepare(`SELECT transfer_id FROM transfers WHERE from_warehouse_id = ? ORDER BY created_at DESC LIMIT 1`).bind(src).first<{ transfer_id: string }>();
	return r?.transfer_id;
}
