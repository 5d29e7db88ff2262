/**
 * Storms at one hot unit split over 8 shard objects, the warehouse's own
 * object its pool: hoarders who never pay, cancellations during the last
 * units, a restock mid-sale, a restart mid-storm (holds left open expire), and
 * folding back to one object while buyers buy. Each ends with the invariant
 * check and the history checker (0 violations: nothing oversold, units
 * conserved, grants and give-backs applied once, no false 409), and every
 * unit sold: units sold == stock loaded + restocked. Spare buyers are sent
 * after the storm at whatever is still free (`last_call_units` in the report:
 * units a storm left free when its buyers were done). Sizes grow with
 * STOCKGATE_LOAD_SCALE (figures.ts).
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { rng, seedFromEnv } from "../helpers/random.ts";
import { type Api, pool, Tally, tokenFor } from "./client.ts";
import { CLIENTS, Clock, report, sized, timeoutMs } from "./figures.ts";
import { freshDir, removeDir, Stockgate } from "./harness.ts";
import { checkout, expectSoldOut, hotBuyers, hotRow, lastCall, loadedBySets, openHot, PRODUCT, SIZE } from "./hot.ts";
import { checkInvariants } from "./invariants.ts";
import { checkStorm, Recorder } from "./record.ts";
import { Book, type Buyer, unitKey } from "./shop.ts";

const SEED = seedFromEnv(20261130) + 11;
const SHARDS = 8;
/**
 * The hot unit's stock at scale 1: half the drop (200 units, 2,000 buyers, 200 hoarders),
 * which STOCKGATE_LOAD_SCALE=2 runs as it is; the load project stays within a few minutes on 2 cores.
 */
const UNITS = 100;

const running: Array<{ sg: Stockgate; dir: string }> = [];

afterEach(async () => {
	for (const { sg, dir } of running.splice(0)) {
		await sg.dispose().catch(() => {});
		removeDir(dir);
	}
});

async function start(vars: Record<string, string> = {}, dir = freshDir(), migrate = true): Promise<{ sg: Stockgate; dir: string }> {
	const sg = await Stockgate.start({ bundleDir: inject("loadBundleDir"), persistDir: dir, migrate, vars });
	const run = { sg, dir };
	running.push(run);
	return run;
}

interface Storm {
	sg: Stockgate;
	api: Api;
	admin: string;
	recorder: Recorder;
	book: Book;
	tally: Tally;
	clock: Clock;
	warehouse: string;
}

async function storm(name: string, units: number, vars: Record<string, string> = {}): Promise<Storm> {
	const { sg } = await start(vars);
	const recorder = new Recorder();
	const api = recorder.api(sg.url);
	const admin = await tokenFor("load-admin", { admin: true });
	const book = new Book();
	const warehouse = `${name}-ny`;
	await openHot(api, admin, book, warehouse, units, SHARDS);
	return { sg, api, admin, recorder, book, tally: new Tally(), clock: new Clock(), warehouse };
}

/** Runs `tasks` with at most `inFlight` at once, calling `when` once `ready()` first holds after a task (then never again). */
async function withTrigger(tasks: Array<() => Promise<unknown>>, ready: () => boolean, when: () => Promise<void>, inFlight = CLIENTS): Promise<void> {
	let fired: Promise<void> | null = null;
	await pool(
		tasks.map((t) => async () => {
			await t();
			if (!fired && ready()) fired = when();
		}),
		inFlight,
	);
	await fired;
}

describe(`sharded storms: one hot unit over ${SHARDS} objects (seed ${SEED})`, () => {
	it("hoarders who never pay are cancelled by the payment window while buyers keep buying; every unit is sold to a buyer", { timeout: timeoutMs(150_000) }, async () => {
		const r = rng(SEED);
		const units = sized(UNITS);
		const windowS = 2;
		const s = await storm("hd", units, { PAYMENT_WINDOW_SECONDS: String(windowS) });
		const hoarders = await hotBuyers(s.sg, s.api, "hd-hoarder", sized(100), () => 1);
		const buyers = await hotBuyers(s.sg, s.api, "hd-buyer", sized(1000), () => (r.chance(0.2) ? 0 : 1));
		const spare = await hotBuyers(s.sg, s.api, "hd-spare", units, () => 1);
		s.clock.lap("setup_ms");

		// The hoarders come first and take what they can; they never pay.
		await pool(hoarders.map((b) => () => checkout(s.api, b, s.book, s.tally, { kind: "place-order hoarder" })), CLIENTS);
		const hoarded = s.book.unitsPlaced();
		const hoardedAt = Date.now();
		s.clock.lap("hoarders_ms");
		// The buyers pay at once. A quarter of them come while the hoarders hold every unit; once the
		// hoarders' payment window has passed, half come while the reconciler runs as its cron would
		// (it cancels every order unpaid for longer than the window); the last quarter after.
		const quarter = Math.ceil(buyers.length / 4);
		const buyAll = (list: Buyer[]) => pool(list.map((b) => () => checkout(s.api, b, s.book, s.tally, { pays: true })), CLIENTS);
		await buyAll(buyers.slice(0, quarter));
		const wait = hoardedAt + windowS * 1000 + 50 - Date.now();
		if (wait > 0) await new Promise((done) => setTimeout(done, wait));
		s.clock.lap("early_buyers_ms");
		await Promise.all([buyAll(buyers.slice(quarter, 3 * quarter)), s.sg.scheduled()]);
		const soldWhenCancelled = s.book.unitsPlaced() - hoarded;
		await buyAll(buyers.slice(3 * quarter));
		s.clock.lap("storm_ms");
		const lastCallUnits = await lastCall(s.sg, s.api, s.admin, s.warehouse, spare, s.book, s.tally, { pays: true });
		const check = await checkInvariants(s.sg, s.api, s.admin, s.book);
		const history = await checkStorm(s.api, s.admin, s.recorder);
		s.clock.lap("check_ms");
		// Summed over the order shards, where each hoarder's orders live.
		const hoarderCounts = new Map<string, number>();
		for (const r of await s.sg.orderRows<{ status: string; n: number }>(`SELECT status, COUNT(*) AS n FROM orders WHERE user_id LIKE 'hd-hoarder-%' GROUP BY status`)) {
			hoarderCounts.set(r.status, (hoarderCounts.get(r.status) ?? 0) + Number(r.n));
		}
		const hoarderOrders = [...hoarderCounts].map(([status, n]) => ({ status, n }));
		const hoardedBy = new Set([...s.book.placed.values()].filter((p) => p.user.startsWith("hd-hoarder-")).map((p) => p.user));
		report("sharded-hoarders", {
			shards: SHARDS,
			units,
			hoarders: hoarders.length,
			buyers: buyers.length,
			hoarded_units: hoarded,
			units_to_buyers_when_the_hoarders_were_cancelled: soldWhenCancelled,
			hoarder_orders: Object.fromEntries(hoarderOrders.map((o) => [o.status, o.n])),
			answers: s.tally.counts,
			last_call_units: lastCallUnits,
			...s.clock.laps,
			figures: check.figures,
			checker: history.figures,
			worker_log_levels: s.sg.logs.levels,
		});
		expect(hoarded).toBeGreaterThan(0);
		expect(s.tally.unexpected("place-order hoarder", [201, 409]), JSON.stringify(s.tally.samples)).toEqual({});
		expect(s.tally.unexpected("payment", [200]), JSON.stringify(s.tally.samples)).toEqual({});
		expect(hoarderOrders, "every hoarder's order is cancelled by the payment window").toEqual([{ status: "cancelled", n: hoardedBy.size }]);
		expectSoldOut(s.tally, s.book, check, history, units);
	});

	it("orders cancelled during the last units while the reconciler runs: what comes back is sold again", { timeout: timeoutMs(150_000) }, async () => {
		const r = rng(SEED + 1);
		const units = sized(UNITS);
		const s = await storm("cx", units);
		const buyers = await hotBuyers(s.sg, s.api, "cx-buyer", sized(500), () => (r.chance(0.2) ? 0 : 1));
		const spare = await hotBuyers(s.sg, s.api, "cx-spare", units, () => 1);
		const tokenOf = new Map(buyers.map((b) => [b.sub, b.token]));
		s.clock.lap("setup_ms");
		let cancels = 0;
		// Once half the stock is sold, one buyer in three who gets a 201 cancels at once; the reconciler runs
		// every 500 ms as its cron would (gathered commits it finds, due holds).
		let storming = true;
		const cron = (async () => {
			while (storming) {
				await s.sg.scheduled();
				await new Promise((done) => setTimeout(done, 500));
			}
		})();
		await pool(
			buyers.map((b) => async () => {
				const id = await checkout(s.api, b, s.book, s.tally);
				if (id && s.book.unitsPlaced() >= units / 2 && r.chance(1 / 3)) {
					const a = await s.api.call("POST", `/orders/${id}/cancel`, { token: tokenOf.get(b.sub)!, body: { reason: "changed my mind" } });
					s.tally.add("cancel", a.status, a.body);
					if (a.status === 200) cancels++;
				}
			}),
			// Few buyers in flight at once, so buyers are still coming when the cancelled units return.
			32,
		);
		storming = false;
		await cron;
		s.clock.lap("storm_ms");
		const lastCallUnits = await lastCall(s.sg, s.api, s.admin, s.warehouse, spare, s.book, s.tally);
		const check = await checkInvariants(s.sg, s.api, s.admin, s.book);
		const history = await checkStorm(s.api, s.admin, s.recorder);
		s.clock.lap("check_ms");
		const reasons = await ledgerReasons(s.api, s.admin, s.warehouse);
		report("sharded-cancels", {
			shards: SHARDS,
			units,
			buyers: buyers.length,
			cancelled: cancels,
			ledger: reasons,
			answers: s.tally.counts,
			last_call_units: lastCallUnits,
			...s.clock.laps,
			figures: check.figures,
			checker: history.figures,
			worker_log_levels: s.sg.logs.levels,
		});
		expect(cancels).toBeGreaterThan(0);
		expect(s.tally.unexpected("cancel", [200]), JSON.stringify(s.tally.samples)).toEqual({});
		const cancelled = await s.sg.orderRows<{ n: number }>(`SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'`);
		expect(cancelled.reduce((sum, r) => sum + Number(r.n), 0)).toBe(cancels);
		expectSoldOut(s.tally, s.book, check, history, units);
	});

	it("a restock in the middle of the sale is sold too", { timeout: timeoutMs(150_000) }, async () => {
		const r = rng(SEED + 2);
		const units = sized(UNITS);
		const restock = sized(50);
		const s = await storm("rk", units);
		const buyers = await hotBuyers(s.sg, s.api, "rk-buyer", sized(500), () => (r.chance(0.2) ? 0 : 1));
		const spare = await hotBuyers(s.sg, s.api, "rk-spare", units, () => 1);
		s.clock.lap("setup_ms");
		const reference = "rk-restock-1";
		let soldBefore = 0;
		await withTrigger(
			buyers.map((b) => () => checkout(s.api, b, s.book, s.tally)),
			() => s.book.unitsPlaced() >= units / 2,
			async () => {
				soldBefore = s.book.unitsPlaced();
				const a = await s.api.call("POST", `/admin/warehouses/${s.warehouse}/stock/adjust`, { token: s.admin, body: { product_id: PRODUCT, size: SIZE, delta: restock, reason: "receive", reference } });
				s.tally.add("restock", a.status, a.body);
				if (a.status === 200) s.book.adjusted.set(reference, { key: unitKey(s.warehouse, PRODUCT, SIZE), delta: restock });
			},
			// Few buyers in flight at once, so the sale is still on when the restock lands.
			32,
		);
		s.clock.lap("storm_ms");
		const lastCallUnits = await lastCall(s.sg, s.api, s.admin, s.warehouse, spare, s.book, s.tally);
		const check = await checkInvariants(s.sg, s.api, s.admin, s.book);
		const history = await checkStorm(s.api, s.admin, s.recorder);
		s.clock.lap("check_ms");
		report("sharded-restock", {
			shards: SHARDS,
			units,
			restocked: restock,
			sold_when_restocked: soldBefore,
			buyers: buyers.length,
			answers: s.tally.counts,
			last_call_units: lastCallUnits,
			...s.clock.laps,
			figures: check.figures,
			checker: history.figures,
			worker_log_levels: s.sg.logs.levels,
		});
		expect(s.tally.unexpected("restock", [200]), JSON.stringify(s.tally.samples)).toEqual({});
		expect(soldBefore).toBeLessThan(units);
		expectSoldOut(s.tally, s.book, check, history, units + restock);
	});

	it("a restart mid-storm loses nothing answered 201; the holds it cut off expire and their units are sold", { timeout: timeoutMs(150_000) }, async () => {
		const r = rng(SEED + 3);
		// Twice the stock: the clients in flight at the cut buy on for a while, and the cut must leave units to sell.
		const units = sized(2 * UNITS);
		const vars = { RESERVATION_TTL_SECONDS: "2" };
		const first = await start(vars);
		const recorder = new Recorder();
		let api = recorder.api(first.sg.url);
		const admin = await tokenFor("load-admin", { admin: true });
		const book = new Book();
		const tally = new Tally();
		const clock = new Clock();
		const warehouse = "rs-ny";
		await openHot(api, admin, book, warehouse, units, SHARDS);
		const buyers = await hotBuyers(first.sg, api, "rs-buyer", sized(500), () => (r.chance(0.2) ? 0 : 1));
		const spare = await hotBuyers(first.sg, api, "rs-spare", units, () => 1);
		clock.lap("setup_ms");
		// Few enough in flight that the cut, once a quarter of the units are sold, lands mid-storm.
		const inFlight = 128;
		let cut: Promise<void> | null = null;
		let sent = 0;
		let answered = 0;
		let inFlightAtCut = 0;
		const notSent: Buyer[] = [];
		await pool(
			buyers.map((b) => async () => {
				if (cut) {
					notSent.push(b);
					return;
				}
				sent++;
				await checkout(api, b, book, tally);
				answered++;
				if (book.unitsPlaced() >= units / 4 && !cut) {
					inFlightAtCut = sent - answered;
					cut = first.sg.dispose();
				}
			}),
			inFlight,
		);
		await cut;
		running.splice(running.indexOf(first), 1);
		clock.lap("storm_until_cut_ms");
		const second = await start(vars, first.dir, false);
		api = recorder.api(second.sg.url);
		const heldAfterRestart = await second.sg.openHolds(warehouse);
		// The rest of the buyers while the cut-off holds lapse (2 s) and the reconciler runs as its cron would.
		let storming = true;
		const cron = (async () => {
			while (storming) {
				await new Promise((done) => setTimeout(done, 500));
				await second.sg.scheduled();
			}
		})();
		// As many in flight as before the cut.
		await pool(notSent.map((b) => () => checkout(api, b, book, tally, { kind: "place-order after restart" })), inFlight);
		storming = false;
		await cron;
		clock.lap("second_wave_ms");
		const lastCallUnits = await lastCall(second.sg, api, admin, warehouse, spare, book, tally);
		const check = await checkInvariants(second.sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");
		const statuses = new Map(
			(await second.sg.orderRows<{ order_id: string; status: string }>(`SELECT order_id, status FROM orders`)).map((o) => [o.order_id, o.status]),
		);
		const lost = [...book.placed.keys()].filter((id) => statuses.get(id) !== "pending");
		report("sharded-restart", {
			shards: SHARDS,
			units,
			buyers: buyers.length,
			in_flight_at_cut: inFlightAtCut,
			unanswered: book.unanswered.size,
			holds_open_at_the_warehouse_after_restart: heldAfterRestart,
			sent_after_restart: notSent.length,
			ledger: await ledgerReasons(api, admin, warehouse),
			answers: tally.counts,
			last_call_units: lastCallUnits,
			...clock.laps,
			figures: check.figures,
			checker: history.figures,
		});
		expect(inFlightAtCut, "the cut must land while checkouts are in flight").toBeGreaterThan(0);
		expect(notSent.length).toBeGreaterThan(0);
		expect(lost).toEqual([]);
		expect(tally.unexpected("place-order", [201, 409, "none"]), JSON.stringify(tally.samples)).toEqual({});
		expectSoldOut(tally, book, check, history, units, ["place-order after restart", "place-order last call"]);
	});

	it("folding back to one object while buyers are still buying loses nothing and sells every unit", { timeout: timeoutMs(150_000) }, async () => {
		const r = rng(SEED + 4);
		const units = sized(UNITS);
		const s = await storm("fd", units);
		const buyers = await hotBuyers(s.sg, s.api, "fd-buyer", sized(500), () => (r.chance(0.2) ? 0 : 1));
		const spare = await hotBuyers(s.sg, s.api, "fd-spare", units, () => 1);
		s.clock.lap("setup_ms");
		let foldedAt: { on_hand: number; sold: number } | null = null;
		// Few buyers in flight at once, so the sale is still on when the admin folds the unit.
		await withTrigger(
			buyers.map((b) => () => checkout(s.api, b, s.book, s.tally)),
			() => s.book.unitsPlaced() >= units / 4,
			async () => {
				// The admin reads the unit's level and sets it, now on one object, while buyers go on buying.
				const row = await hotRow(s.api, s.admin, s.warehouse);
				const a = await s.api.call("PUT", `/admin/warehouses/${s.warehouse}/stock`, { token: s.admin, body: { items: [{ product_id: PRODUCT, size: SIZE, on_hand: row.on_hand, shards: 1 }], reason: "fold" } });
				s.tally.add("fold", a.status, a.body);
				if (a.status === 200) s.book.setsDuringStorm++;
				foldedAt = { on_hand: row.on_hand, sold: s.book.unitsPlaced() };
			},
			32,
		);
		s.clock.lap("storm_ms");
		const lastCallUnits = await lastCall(s.sg, s.api, s.admin, s.warehouse, spare, s.book, s.tally);
		const check = await checkInvariants(s.sg, s.api, s.admin, s.book);
		const history = await checkStorm(s.api, s.admin, s.recorder);
		s.clock.lap("check_ms");
		// A level set is absolute: units sold between the admin's read and the set are put back by it (its ledger rows say how many).
		const loaded = await loadedBySets(s.api, s.admin, s.warehouse);
		const row = await hotRow(s.api, s.admin, s.warehouse);
		report("sharded-fold", {
			shards: SHARDS,
			units,
			loaded_by_sets: loaded,
			folded_at: foldedAt,
			buyers: buyers.length,
			answers: s.tally.counts,
			last_call_units: lastCallUnits,
			...s.clock.laps,
			figures: check.figures,
			checker: history.figures,
			worker_log_levels: s.sg.logs.levels,
		});
		expect(s.tally.unexpected("fold", [200]), JSON.stringify(s.tally.samples)).toEqual({});
		expect(row.shards).toBe(1);
		expect(loaded).toBeGreaterThanOrEqual(units);
		expect(foldedAt!.on_hand, "the fold lands while units are left to sell").toBeGreaterThan(0);
		expectSoldOut(s.tally, s.book, check, history, loaded);
	});
});

/** How many ledger rows of each reason the warehouse's objects wrote for the hot unit. */
async function ledgerReasons(api: Api, admin: string, warehouseId: string): Promise<Record<string, number>> {
	const out: Record<string, number> = {};
	for (let after = 0; ; ) {
		const page = await api.must("GET", `/admin/warehouses/${encodeURIComponent(warehouseId)}/ledger?after=${after}&limit=500`, { token: admin });
		for (const e of page.entries as Array<{ reason: string }>) out[e.reason] = (out[e.reason] ?? 0) + 1;
		if (page.next_after === null) return out;
		after = page.next_after;
	}
}
