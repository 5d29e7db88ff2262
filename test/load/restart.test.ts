/**
 * The restart: a sell-out storm is cut off by disposing of Miniflare while
 * checkouts are in flight; a new instance starts on the same persist
 * directory, the reconciler runs, and the invariant check must hold as after
 * any storm. Nothing answered 201 may be lost: each such order is in D1, live,
 * and its units committed. The buyers who never got to send their checkout
 * then place it against the new instance, and the check runs again.
 */
import { afterAll, expect, inject, it } from "vitest";
import { rng, seedFromEnv } from "../helpers/random.ts";
import { pool, Tally, tokenFor, type Answer } from "./client.ts";
import { Clock, report, sized, timeoutMs } from "./figures.ts";
import { freshDir, removeDir, Stockgate } from "./harness.ts";
import { checkInvariants } from "./invariants.ts";
import { checkStorm, Recorder } from "./record.ts";
import { ADDRESSES, Book, checkoutAll, makeBuyers, openShop, threeWarehouses, type Buyer } from "./shop.ts";

const SEED = seedFromEnv(20261130) + 5;
/** Clients in flight at once: few enough that the cut lands in the middle of the storm. */
const IN_FLIGHT = 128;

const dir = freshDir();
const running: Stockgate[] = [];

afterAll(async () => {
	for (const sg of running) await sg.dispose().catch(() => {});
	removeDir(dir);
});

async function start(migrate: boolean): Promise<Stockgate> {
	const sg = await Stockgate.start({ bundleDir: inject("loadBundleDir"), persistDir: dir, migrate });
	running.push(sg);
	return sg;
}

it(`restart mid-storm loses nothing answered 201 (seed ${SEED})`, { timeout: timeoutMs(150_000) }, async () => {
	const r = rng(SEED);
	const clock = new Clock();
	const book = new Book();
	const tally = new Tally();
	const first = await start(true);
	const admin = await tokenFor("load-admin", { admin: true });
	const product = "rs";
	const warehouses = threeWarehouses("rs");
	// More units than the clients in flight can buy in one wave, so the cut finds stock left.
	const per = sized(80);
	const recorder = new Recorder();
	let api = recorder.api(first.url);
	await openShop(api, admin, { products: [{ id: product, sizes: ["M"] }], warehouses: warehouses.map((w) => ({ ...w, stock: [{ product_id: product, size: "M", on_hand: per }] })) }, book);
	const buyers = await makeBuyers(first, api, "rs", sized(300), () => [{ product_id: product, size: "M", quantity: r.chance(0.2) ? 2 : 1 }], () => r.pick(ADDRESSES));
	clock.lap("setup_ms");

	// The storm, cut once a third of the units are sold: stock is left, and checkouts are
	// caught at every step (holding, deciding, committing, answering).
	const cutAt = per;
	let answered = 0;
	let cut: Promise<void> | null = null;
	let inFlightAtCut = 0;
	let sent = 0;
	const notSent: Buyer[] = [];
	await pool(
		buyers.map((b) => async () => {
			if (cut) {
				notSent.push(b);
				return;
			}
			sent++;
			let a: Answer | null = null;
			try {
				a = await api.call("POST", "/cart/place-order", { token: b.token, body: {}, asked: b.lines });
			} catch (err) {
				tally.add("place-order", "none", String(err));
			}
			if (a) tally.add("place-order", a.status, a.body);
			book.checkout(b.sub, a);
			answered++;
			if (book.unitsPlaced() >= cutAt && !cut) {
				inFlightAtCut = sent - answered;
				cut = first.dispose();
			}
		}),
		IN_FLIGHT,
	);
	await cut;
	running.splice(running.indexOf(first), 1);
	clock.lap("storm_until_cut_ms");

	const second = await start(false);
	api = recorder.api(second.url);
	let heldAfterRestart = 0;
	for (const w of warehouses) heldAfterRestart += await second.openHolds(w.id);
	clock.lap("restart_ms");
	const check = await checkInvariants(second, api, admin, book);
	const history = await checkStorm(api, admin, recorder);
	clock.lap("check_ms");
	const statuses = new Map((await second.orderRows<{ order_id: string; status: string }>(`SELECT order_id, status FROM orders`)).map((o) => [o.order_id, o.status]));
	const lost = [...book.placed.keys()].filter((id) => statuses.get(id) !== "pending");
	const placedBeforeCut = book.placed.size;
	const unansweredWithOrder = [...statuses.keys()].filter((id) => !book.placed.has(id)).length;

	// The rest of the buyers, against the new instance.
	await checkoutAll(api, notSent, book, (s, b) => tally.add("place-order after restart", s, b), IN_FLIGHT);
	clock.lap("second_wave_ms");
	const after = await checkInvariants(second, api, admin, book);
	const historyAfter = await checkStorm(api, admin, recorder);
	clock.lap("second_check_ms");

	report("restart", {
		buyers: buyers.length,
		units: 3 * per,
		cut_after_units_sold: cutAt,
		in_flight_at_cut: inFlightAtCut,
		unanswered: book.unanswered.size,
		holds_open_after_restart: heldAfterRestart,
		unanswered_with_order: unansweredWithOrder,
		placed_before_cut: placedBeforeCut,
		answers: tally.counts,
		sold_answered_201: book.unitsPlaced(),
		sold: after.figures.live_units,
		left: after.figures.on_hand,
		...clock.laps,
		figures: after.figures,
		problems: check.problems.length + after.problems.length,
		checker: historyAfter.figures,
	});
	expect(inFlightAtCut, "the cut must land while checkouts are in flight").toBeGreaterThan(0);
	expect(tally.unexpected("place-order", [201, 409, "none"]), JSON.stringify(tally.samples)).toEqual({});
	expect(tally.unexpected("place-order after restart", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
	expect(check.problems).toEqual([]);
	expect(lost).toEqual([]);
	expect(after.problems).toEqual([]);
	expect(history.violations).toEqual([]);
	expect(historyAfter.violations).toEqual([]);
	// Orders decided before the cut whose answer was lost count too: they are live in D1.
	expect(after.figures.live_units + after.figures.on_hand).toBe(3 * per);
	expect(book.unitsPlaced()).toBeLessThanOrEqual(after.figures.live_units);
});
