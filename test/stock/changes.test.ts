// stock.changed gathering in the Warehouse object: a fresh change sent within
// SEND_DELAY_MS (with whatever else changed meanwhile), at most one event per unit
// per second, each carrying the unit's levels when it was written, and the last
// change of a burst always sent (by the object's timer, or after a restart by
// the next operation or resolveDue). Time passes on the object's clock (a
// TestClock): `pass` moves it and has the object send what is due by then, as
// its timer would, so a test never waits for a window to end.
import { describe, expect, it, vi } from "vitest";
import type { StockChanged } from "../../src/events/types";
import { GATHER_MS, SEND_DELAY_MS } from "../../src/stock/object/changes";
import { recordEvents } from "../helpers/orders";
import { freshName, freshWarehouse, line, ref, restartWarehouse, unit, useClock, type TestClock, type WarehouseStub } from "../helpers/stock";
import { eventually } from "../helpers/time";

const events = recordEvents();

function changesOf(warehouseId: string, productId: string): StockChanged[] {
	return events.all().filter((e): e is StockChanged => e.type === "stock.changed" && e.warehouse_id === warehouseId && e.product_id === productId);
}

/** A fresh Warehouse told that an endpoint subscribes to stock.changed (src/webhooks/listeners.ts does so in the shop). */
async function listeningWarehouse(name: string) {
	const w = freshWarehouse(name);
	expect(await w.listenForChanges(true)).toEqual({ changed: true });
	return w;
}

/** A listening warehouse on a TestClock whose one unit was restored to `onHand`, that first change already sent. */
async function firstChangeSent(onHand: number) {
	const name = freshName();
	const w = await listeningWarehouse(name);
	const clock = await useClock(w);
	const u = unit();
	await w.restore(ref("in"), [line(u, onHand)]);
	await eventually(() => expect(changesOf(name, u.product_id)).toHaveLength(1), { timeoutMs: 5_000 });
	return { name, w, clock, u };
}

/** Moves the object's clock by `ms`, then has it send whatever is due by then (resolveDue flushes its events). */
async function pass(stub: WarehouseStub, clock: TestClock, ms: number): Promise<void> {
	clock.advance(ms);
	await stub.resolveDue();
}

/** Consecutive events of one unit are at least GATHER_MS apart. */
function expectSpaced(list: StockChanged[]) {
	for (let i = 1; i < list.length; i++) expect(Date.parse(list[i]!.occurred_at) - Date.parse(list[i - 1]!.occurred_at)).toBeGreaterThanOrEqual(GATHER_MS);
}

describe("stock.changed", () => {
	it("is not produced while nobody listens; once told, the next change is sent; told again, nothing is changed", async () => {
		const name = freshName();
		const w = freshWarehouse(name);
		const clock = await useClock(w);
		const u = unit();
		await w.restore(ref("in"), [line(u, 4)]);
		await pass(w, clock, SEND_DELAY_MS + 200);
		expect(changesOf(name, u.product_id)).toEqual([]);
		expect(await w.listenForChanges(true)).toEqual({ changed: true });
		expect(await w.listenForChanges(true)).toEqual({ changed: false });
		await w.restore(ref("in"), [line(u, 1)]);
		await vi.waitFor(() => expect(changesOf(name, u.product_id)).toMatchObject([{ on_hand: 5 }]), { timeout: 5_000, interval: 20 });
		// The setting is stored: a restarted object still listens, and once switched off stays off.
		const again = await restartWarehouse(name);
		expect(await again.listenForChanges(true)).toEqual({ changed: false });
		expect(await again.listenForChanges(false)).toEqual({ changed: true });
		const restarted = await restartWarehouse(name);
		expect(await restarted.listenForChanges(false)).toEqual({ changed: false });
		const later = await useClock(restarted, clock);
		later.advance(GATHER_MS + 100);
		await restarted.restore(ref("in"), [line(u, 1)]);
		await pass(restarted, later, SEND_DELAY_MS + 200);
		expect(changesOf(name, u.product_id)).toHaveLength(1);
	});

	it("a single change sends one event shortly after with the unit's levels, and nothing more", async () => {
		const { name, w, clock, u } = await firstChangeSent(7);
		expect(changesOf(name, u.product_id)).toEqual([
			{ event_id: expect.stringMatching(/^evt_chg_/), type: "stock.changed", occurred_at: expect.any(String), warehouse_id: name, ...u, on_hand: 7, reserved: 0, available: 7 },
		]);
		await pass(w, clock, GATHER_MS + 300);
		expect(changesOf(name, u.product_id)).toHaveLength(1);
	});

	it("a write that moves no level (the same on_hand set again, a threshold) sends nothing", async () => {
		const { name, w, clock, u } = await firstChangeSent(5);
		clock.advance(GATHER_MS + 100);
		const set = await w.setLevels(ref("set"), [{ ...u, on_hand: 5, low_stock_threshold: 2 }]);
		expect(set.ok).toBe(true);
		await pass(w, clock, GATHER_MS + 300);
		expect(changesOf(name, u.product_id)).toHaveLength(1);
	});

	it("a new safety stock changes what is available: it is sent", async () => {
		const { name, w, clock, u } = await firstChangeSent(5);
		clock.advance(GATHER_MS + 100);
		await w.setLevels(ref("set"), [{ ...u, on_hand: 5, safety_stock: 2 }]);
		await vi.waitFor(() => expect(changesOf(name, u.product_id).at(-1)).toMatchObject({ on_hand: 5, reserved: 0, available: 3 }), { timeout: 5_000, interval: 50 });
		expect(changesOf(name, u.product_id)).toHaveLength(2);
	});

	it("changes to many units in a burst of operations leave together, each unit once", async () => {
		const name = freshName();
		const w = await listeningWarehouse(name);
		const product = unit().product_id;
		const units = Array.from({ length: 5 }, (_, i) => unit(`S${i}`, product));
		await Promise.all(units.map((u) => w.restore(ref("in"), [line(u, 3)])));
		await vi.waitFor(() => expect(changesOf(name, product)).toHaveLength(5), { timeout: 5_000, interval: 20 });
		// Gathered, not one gathering per operation (two if the burst straddled a send).
		expect(new Set(changesOf(name, product).map((e) => e.occurred_at)).size).toBeLessThanOrEqual(2);
		expect(changesOf(name, product).map((e) => e.on_hand)).toEqual([3, 3, 3, 3, 3]);
	});

	it("a burst of changes to one unit is gathered: at most one per second, the last one carrying the final levels", async () => {
		const name = freshName();
		const w = await listeningWarehouse(name);
		const u = unit();
		const started = Date.now();
		await w.restore(ref("in"), [line(u, 20)]);
		for (let i = 0; i < 5; i++) await w.deduct(ref("out"), [line(u, 1)]);
		const hold = ref("order");
		await w.reserve(hold, [line(u, 3)], 60_000);
		const elapsed = Date.now() - started;
		await vi.waitFor(() => expect(changesOf(name, u.product_id).at(-1)).toMatchObject({ on_hand: 15, reserved: 3, available: 12 }), { timeout: 5_000, interval: 50 });
		const list = changesOf(name, u.product_id);
		expectSpaced(list);
		// Seven changes; events at most one per started second of the burst, plus the trailing one.
		expect(list.length).toBeLessThanOrEqual(Math.floor(elapsed / GATHER_MS) + 2);
		expect(list.length).toBeLessThan(7);
		expect(list[0]).toMatchObject({ on_hand: 20, reserved: 0, available: 20 });
	});

	it("gathers per unit: two units changed together each get their own event", async () => {
		const name = freshName();
		const w = await listeningWarehouse(name);
		const clock = await useClock(w);
		const a = unit("M");
		const b = unit("L", a.product_id);
		await w.restore(ref("in"), [line(a, 2), line(b, 4)]);
		await vi.waitFor(() => expect(changesOf(name, a.product_id)).toHaveLength(2), { timeout: 5_000, interval: 20 });
		await pass(w, clock, SEND_DELAY_MS);
		const list = changesOf(name, a.product_id);
		expect(list.map((e) => [e.size, e.on_hand])).toEqual(
			expect.arrayContaining([
				["M", 2],
				["L", 4],
			]),
		);
		expect(list).toHaveLength(2);
	});

	it("does not confuse warehouses: the same unit at two warehouses is gathered separately", async () => {
		const [n1, n2] = [freshName(), freshName()];
		const u = unit();
		await (await listeningWarehouse(n1)).restore(ref("in"), [line(u, 1)]);
		await (await listeningWarehouse(n2)).restore(ref("in"), [line(u, 2)]);
		await vi.waitFor(() => expect(changesOf(n1, u.product_id).length + changesOf(n2, u.product_id).length).toBe(2), { timeout: 5_000, interval: 20 });
		expect(changesOf(n1, u.product_id).map((e) => e.on_hand)).toEqual([1]);
		expect(changesOf(n2, u.product_id).map((e) => e.on_hand)).toEqual([2]);
	});

	it("a held-back change survives a restart of the object (its timer lost): resolveDue sends it with the latest levels", async () => {
		const name = freshName();
		const w = await listeningWarehouse(name);
		const u = unit();
		await w.restore(ref("in"), [line(u, 10)]);
		await vi.waitFor(() => expect(changesOf(name, u.product_id)).toHaveLength(1), { timeout: 5_000, interval: 20 });
		await w.deduct(ref("out"), [line(u, 4)]);
		// Restarted within the window: the object's timer for the held-back change is gone.
		const restarted = await restartWarehouse(name);
		// The window ends with nothing to send it: the object's timer went with the old instance.
		const clock = await useClock(restarted);
		clock.advance(GATHER_MS + 200);
		expect(changesOf(name, u.product_id).at(-1)).toMatchObject({ on_hand: 10 });
		const before = changesOf(name, u.product_id).length;
		await restarted.resolveDue();
		await vi.waitFor(() => expect(changesOf(name, u.product_id).at(-1)).toMatchObject({ on_hand: 6, reserved: 0, available: 6 }), { timeout: 5_000, interval: 50 });
		expect(changesOf(name, u.product_id).length).toBeLessThanOrEqual(before + 1);
		expectSpaced(changesOf(name, u.product_id));
	});
});
