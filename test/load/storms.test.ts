/**
 * Concurrency storms against the built Worker in Miniflare, driven from Node
 * over real HTTP. Each storm gets a fresh Worker with its own persist
 * directory, builds its shop through the API, lets its clients loose at once,
 * and ends with the shared invariant check (invariants.ts). Sizes grow with
 * STOCKGATE_LOAD_SCALE (figures.ts); the seed with STOCKGATE_SEED.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { rng, seedFromEnv } from "../helpers/random.ts";
import { Api, paymentSignature, pool, Tally, tokenFor } from "./client.ts";
import { CLIENTS, Clock, report, sized, timeoutMs } from "./figures.ts";
import { freshDir, removeDir, Stockgate } from "./harness.ts";
import { checkInvariants } from "./invariants.ts";
import { checkStorm, Recorder } from "./record.ts";
import { ADDRESSES, Book, checkoutAll, makeBuyers, openShop, threeWarehouses, unitKey } from "./shop.ts";

const SEED = seedFromEnv(20261130);

let sg: Stockgate;
let dir: string;
let api: Api;
let admin: string;
let recorder: Recorder;

beforeEach(async () => {
	dir = freshDir();
	sg = await Stockgate.start({ bundleDir: inject("loadBundleDir"), persistDir: dir, migrate: true });
	recorder = new Recorder();
	api = recorder.api(sg.url);
	admin = await tokenFor("load-admin", { admin: true });
});

afterEach(async () => {
	await sg.dispose();
	removeDir(dir);
});

describe(`load storms (seed ${SEED})`, () => {
	it("sell-out: many buyers for few units spread over three warehouses", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const product = "sellout";
		const [ny, ca, il] = threeWarehouses("so");
		const levels = [sized(20), sized(15), sized(15)];
		const units = levels.reduce((a, b) => a + b, 0);
		await openShop(
			api,
			admin,
			{
				products: [{ id: product, sizes: ["M"] }],
				warehouses: [ny!, ca!, il!].map((w, i) => ({ ...w, stock: [{ product_id: product, size: "M", on_hand: levels[i]! }] })),
			},
			book,
		);
		const buyers = await makeBuyers(
			sg,
			api,
			"so",
			sized(500),
			() => [{ product_id: product, size: "M", quantity: r.chance(0.2) ? 2 : 1 }],
			() => r.pick(ADDRESSES),
		);
		clock.lap("setup_ms");
		// One buyer in ten checks out with an Idempotency-Key and sends it again once answered.
		await checkoutAll(api, buyers, book, (s, b, kind) => tally.add(kind ?? "place-order", s, b), CLIENTS, { keyed: (b) => b.sub.endsWith("0") });
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");
		const sold = book.unitsPlaced();
		report("sell-out", { buyers: buyers.length, units, answers: tally.counts, sold, left: check.figures.on_hand, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("place-order", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("place-order replay", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.of("place-order replay", 201) + tally.of("place-order replay", 409)).toBe(Math.ceil(buyers.length / 10));
		expect([...book.refused.values()].filter((a) => a.body?.code !== "OUT_OF_STOCK")).toEqual([]);
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
		expect(sold).toBeLessThanOrEqual(units);
		expect(sold + check.figures.on_hand).toBe(units);
		expect(book.placed.size).toBeGreaterThan(0);
	});

	it("split: every order needs units from more than one warehouse", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED + 1);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const product = "split";
		const [ny, ca, il] = threeWarehouses("sp");
		// Each size is stocked at one warehouse only, so a cart with two sizes must split.
		const home: Record<string, string> = { S: ny!.id, M: ca!.id, L: il!.id };
		const per = sized(40);
		await openShop(
			api,
			admin,
			{
				products: [{ id: product, sizes: ["S", "M", "L"] }],
				warehouses: [
					{ ...ny!, stock: [{ product_id: product, size: "S", on_hand: per }] },
					{ ...ca!, stock: [{ product_id: product, size: "M", on_hand: per }] },
					{ ...il!, stock: [{ product_id: product, size: "L", on_hand: per }] },
				],
			},
			book,
		);
		const buyers = await makeBuyers(
			sg,
			api,
			"sp",
			sized(200),
			() => r.sample(["S", "M", "L"], r.chance(0.3) ? 3 : 2).map((size) => ({ product_id: product, size, quantity: 1 })),
			() => r.pick(ADDRESSES),
		);
		clock.lap("setup_ms");
		await checkoutAll(api, buyers, book, (s, b) => tally.add("place-order", s, b), CLIENTS);
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");
		const misplaced: string[] = [];
		for (const [id, { body }] of book.placed) {
			const at = new Set<string>();
			for (const p of body.products) {
				for (const a of p.allocations) {
					at.add(a.warehouse_id);
					if (a.warehouse_id !== home[p.size]) misplaced.push(`${id}: ${p.size} from ${a.warehouse_id}`);
				}
			}
			if (at.size < 2) misplaced.push(`${id}: not split (${[...at].join(", ")})`);
		}
		report("split", { buyers: buyers.length, units: 3 * per, answers: tally.counts, sold: book.unitsPlaced(), left: check.figures.on_hand, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("place-order", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect([...book.refused.values()].filter((a) => a.body?.code !== "OUT_OF_STOCK")).toEqual([]);
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
		expect(misplaced).toEqual([]);
		expect(book.unitsPlaced() + check.figures.on_hand).toBe(3 * per);
		expect(book.placed.size).toBeGreaterThan(0);
	});

	it("cancel storm: cancels race payments and admin transitions on the same orders", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED + 2);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const n = sized(100);
		const product = "cx";
		const warehouses = threeWarehouses("cx");
		await openShop(
			api,
			admin,
			{
				products: [{ id: product, sizes: ["S", "M"] }],
				warehouses: warehouses.map((w) => ({ ...w, stock: ["S", "M"].map((size) => ({ product_id: product, size, on_hand: n })) })),
			},
			book,
		);
		const buyers = await makeBuyers(sg, api, "cx", n, () => [{ product_id: product, size: r.pick(["S", "M"]), quantity: r.int(1, 2) }], () => r.pick(ADDRESSES));
		await checkoutAll(api, buyers, book, (s, b) => tally.add("place-order", s, b), CLIENTS);
		expect(book.placed.size, JSON.stringify(tally.counts)).toBe(n);
		clock.lap("setup_ms");

		const tokenOf = new Map(buyers.map((b) => [b.sub, b.token]));
		const targets = ["paid", "processing", "shipped", "cancelled"] as const;
		const outcome = new Map<string, { cancel?: number; pay?: number; admin?: { to: string; status: number } }>();
		const tasks: Array<() => Promise<void>> = [];
		for (const [id, { user, body }] of book.placed) {
			const o: { cancel?: number; pay?: number; admin?: { to: string; status: number } } = {};
			outcome.set(id, o);
			tasks.push(async () => {
				const a = await api.call("POST", `/orders/${id}/cancel`, { token: tokenOf.get(user)!, body: { reason: "changed my mind" } });
				tally.add("cancel", a.status, a.body);
				o.cancel = a.status;
			});
			tasks.push(async () => {
				const raw = JSON.stringify({ id: `evt_${id}`, type: "payment.succeeded", order_id: id, amount: body.total, currency: body.currency });
				const a = await api.call("POST", "/payments/webhook", { raw, headers: { "payment-signature": paymentSignature(raw) } });
				tally.add("payment", a.status, a.body);
				o.pay = a.status;
			});
			const to = r.pick(targets);
			tasks.push(async () => {
				const a = await api.call("POST", `/admin/orders/${id}/status`, { token: admin, body: to === "shipped" ? { status: to, tracking_number: `TRK-${id}` } : { status: to } });
				tally.add(`admin ${to}`, a.status, a.body);
				o.admin = { to, status: a.status };
			});
		}
		await pool(shuffled(r, tasks), CLIENTS);
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");

		const orders = new Map((await sg.orderRows<{ order_id: string; status: string; payment_status: string }>(`SELECT order_id, status, payment_status FROM orders`)).map((o) => [o.order_id, o]));
		const reached = new Set(
			(await sg.orderRows<{ k: string }>(`SELECT order_id || '>' || new_status AS k FROM order_history`)).map((h) => h.k),
		);
		const paid = new Set((await sg.orderRows<{ order_id: string }>(`SELECT order_id FROM payment_events WHERE type = 'payment.succeeded'`)).map((p) => p.order_id));
		const wrong: string[] = [];
		for (const [id, o] of outcome) {
			const row = orders.get(id)!;
			if (o.cancel === 200 && row.status !== "cancelled") wrong.push(`${id}: cancel answered 200, status ${row.status}`);
			if (o.admin?.status === 200 && !reached.has(`${id}>${o.admin.to}`)) wrong.push(`${id}: admin ${o.admin.to} answered 200, never reached`);
			if (o.pay === 200 && !paid.has(id)) wrong.push(`${id}: payment answered 200, not recorded`);
			if (row.status === "cancelled" && paid.has(id) && row.payment_status !== "refund_pending" && row.payment_status !== "refunded") wrong.push(`${id}: cancelled with a payment, payment_status ${row.payment_status}`);
			if (row.status !== "cancelled" && paid.has(id) && row.payment_status !== "paid" && row.payment_status !== "refund_pending") wrong.push(`${id}: live with a payment, payment_status ${row.payment_status}`);
		}
		report("cancel-storm", { orders: n, requests: tasks.length, answers: tally.counts, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("cancel", [200, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("payment", [200]), JSON.stringify(tally.samples)).toEqual({});
		for (const to of targets) expect(tally.unexpected(`admin ${to}`, [200, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
		expect(wrong).toEqual([]);
	});

	it("payment storm: duplicate and distinct successful payments for the same orders", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED + 3);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const n = sized(100);
		const product = "pay";
		const warehouses = threeWarehouses("pay");
		await openShop(
			api,
			admin,
			{ products: [{ id: product, sizes: ["M"] }], warehouses: warehouses.map((w) => ({ ...w, stock: [{ product_id: product, size: "M", on_hand: n }] })) },
			book,
		);
		const buyers = await makeBuyers(sg, api, "pay", n, () => [{ product_id: product, size: "M", quantity: r.int(1, 2) }], () => r.pick(ADDRESSES));
		await checkoutAll(api, buyers, book, (s, b) => tally.add("place-order", s, b), CLIENTS);
		expect(book.placed.size, JSON.stringify(tally.counts)).toBe(n);
		clock.lap("setup_ms");

		// Per order: one event delivered three times, and two more distinct successful charges.
		const DELIVERIES = 3;
		const DISTINCT = 3;
		const tasks: Array<() => Promise<void>> = [];
		for (const [id, { body }] of book.placed) {
			for (let e = 0; e < DISTINCT; e++) {
				const raw = JSON.stringify({ id: `evt_${id}_${e}`, type: "payment.succeeded", order_id: id, amount: body.total, currency: body.currency });
				for (let d = 0; d < (e === 0 ? DELIVERIES : 1); d++) {
					tasks.push(async () => {
						const a = await api.call("POST", "/payments/webhook", { raw, headers: { "payment-signature": paymentSignature(raw) } });
						tally.add(e === 0 ? "payment (repeated event)" : "payment (distinct event)", a.status, a.body);
					});
				}
			}
		}
		await pool(shuffled(r, tasks), CLIENTS);
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		const refunds = await refundEvents(sg, n * (DISTINCT - 1));
		clock.lap("check_ms");

		const orders = await sg.orderRows<{ order_id: string; status: string; payment_status: string }>(`SELECT order_id, status, payment_status FROM orders`);
		const paidRows = new Map(
			(await sg.orderRows<{ order_id: string; n: number }>(`SELECT order_id, COUNT(*) AS n FROM order_history WHERE new_status = 'paid' AND old_status IS NOT 'paid' GROUP BY order_id`)).map((h) => [h.order_id, h.n]),
		);
		const events = new Map(
			(await sg.orderRows<{ order_id: string; n: number }>(`SELECT order_id, COUNT(*) AS n FROM payment_events GROUP BY order_id`)).map((p) => [p.order_id, p.n]),
		);
		const wrong: string[] = [];
		for (const o of orders) {
			// Two extra charges per order: each refund is requested and not yet confirmed.
			if (o.status !== "paid" || o.payment_status !== "refund_pending") wrong.push(`${o.order_id}: ${o.status}/${o.payment_status}`);
			if (paidRows.get(o.order_id) !== 1) wrong.push(`${o.order_id}: paid ${paidRows.get(o.order_id) ?? 0} times in its history`);
			if (events.get(o.order_id) !== DISTINCT) wrong.push(`${o.order_id}: ${events.get(o.order_id) ?? 0} payment events recorded, ${DISTINCT} distinct sent`);
		}
		report("payment-storm", { orders: n, requests: tasks.length, answers: tally.counts, refund_requested: refunds, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("payment (repeated event)", [200]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("payment (distinct event)", [200]), JSON.stringify(tally.samples)).toEqual({});
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
		expect(wrong).toEqual([]);
		expect(refunds).toBe(n * (DISTINCT - 1));
	});

	it("admin storm: PUT stock and adjustments race checkouts", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED + 4);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const product = "adm";
		const sizes = ["S", "M"];
		const warehouses = threeWarehouses("adm");
		await openShop(
			api,
			admin,
			{
				products: [{ id: product, sizes }],
				warehouses: warehouses.map((w) => ({ ...w, stock: sizes.map((size) => ({ product_id: product, size, on_hand: sized(10) })) })),
			},
			book,
		);
		const buyers = await makeBuyers(
			sg,
			api,
			"adm",
			sized(200),
			() => r.sample(sizes, r.int(1, 2)).map((size) => ({ product_id: product, size, quantity: r.int(1, 2) })),
			() => r.pick(ADDRESSES),
		);
		const ops = Array.from({ length: sized(60) }, (_, i) => {
			const w = r.pick(warehouses).id;
			const size = r.pick(sizes);
			if (i % 2 === 0) {
				const on_hand = r.int(0, sized(15));
				return async () => {
					const a = await api.call("PUT", `/admin/warehouses/${w}/stock`, { token: admin, body: { items: [{ product_id: product, size, on_hand }], reason: "recount" } });
					tally.add("put stock", a.status, a.body);
					if (a.status === 200) book.setsDuringStorm++;
				};
			}
			const delta = r.pick([-3, -2, -1, 1, 2, 3, 5]);
			const reason = delta > 0 ? r.pick(["receive", "return", "correction"]) : r.pick(["damage", "shrinkage", "cycle_count"]);
			const reference = `adm-adjust-${i}`;
			return async () => {
				const a = await api.call("POST", `/admin/warehouses/${w}/stock/adjust`, { token: admin, body: { product_id: product, size, delta, reason, reference } });
				tally.add("adjust", a.status, a.body);
				if (a.status === 200) book.adjusted.set(reference, { key: unitKey(w, product, size), delta });
				else book.adjustRefused.add(reference);
			};
		});
		clock.lap("setup_ms");
		await Promise.all([checkoutAll(api, buyers, book, (s, b) => tally.add("place-order", s, b), CLIENTS), pool(ops, 4)]);
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");
		report("admin-storm", { buyers: buyers.length, admin_ops: ops.length, answers: tally.counts, sold: book.unitsPlaced(), left: check.figures.on_hand, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("place-order", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("put stock", [200, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("adjust", [200, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
		expect(book.placed.size).toBeGreaterThan(0);
	});

	it("limits and kits: a limited product sold alone and inside kits, bought twice by the same customers", { timeout: timeoutMs(120_000) }, async () => {
		const r = rng(SEED + 6);
		const clock = new Clock();
		const book = new Book();
		const tally = new Tally();
		const SNEAKER = { product_id: "lk-sneaker", size: "42" };
		const SOCK = { product_id: "lk-sock", size: "M" };
		const KIT = { product_id: "lk-kit", size: "ONE" };
		const LIMIT = 2;
		await api.must("PUT", `/admin/products/${SNEAKER.product_id}`, { token: admin, body: { name: "Sneaker", price: 90, sizes: [SNEAKER.size], max_per_customer: LIMIT } });
		await api.must("PUT", `/admin/products/${SOCK.product_id}`, { token: admin, body: { name: "Sock", price: 5, sizes: [SOCK.size] } });
		await api.must("PUT", `/admin/products/${KIT.product_id}`, {
			token: admin,
			body: { name: "Sneaker kit", price: 95, sizes: [KIT.size], components: [{ ...SNEAKER, quantity: 1 }, { ...SOCK, quantity: 2 }] },
		});
		// Sneakers at ny and ca, socks at ca and il: a kit ships whole only from ca, and its sneakers
		// run out there first. About as many sneakers as the first round asks for, so the second runs short.
		const [ny, ca, il] = threeWarehouses("lk");
		await openShop(
			api,
			admin,
			{
				products: [],
				warehouses: [
					{ ...ny!, stock: [{ ...SNEAKER, on_hand: sized(110) }] },
					{ ...ca!, stock: [{ ...SNEAKER, on_hand: sized(70) }, { ...SOCK, on_hand: sized(60) }] },
					{ ...il!, stock: [{ ...SOCK, on_hand: sized(60) }] },
				],
			},
			book,
		);
		// Some carts pass the limit only when the kit's sneaker is counted (a kit and 2 sneakers).
		const carts = [
			[{ ...SNEAKER, quantity: 1 }],
			[{ ...SNEAKER, quantity: 2 }],
			[{ ...KIT, quantity: 1 }],
			[{ ...KIT, quantity: 2 }],
			[{ ...KIT, quantity: 1 }, { ...SNEAKER, quantity: 1 }],
			[{ ...KIT, quantity: 1 }, { ...SNEAKER, quantity: 2 }],
			[{ ...SNEAKER, quantity: 1 }, { ...SOCK, quantity: 2 }],
		];
		const buyers = await makeBuyers(sg, api, "lk", sized(150), () => r.pick(carts), () => r.pick(ADDRESSES));
		const again = new Map(buyers.map((b) => [b.sub, r.pick([{ ...SNEAKER, quantity: 1 }, { ...KIT, quantity: 1 }])]));
		clock.lap("setup_ms");

		// First round: every cart at once, one in five under an Idempotency-Key sent twice.
		await checkoutAll(api, buyers, book, (s, b, kind) => tally.add(kind ?? "place-order", s, b), CLIENTS, { keyed: (b) => /[05]$/.test(b.sub) });
		// Second round: every buyer who got an order adds one more sneaker or kit (the cart refuses what would pass the limit) and checks out again.
		const placed = new Set([...book.placed.values()].map((p) => p.user));
		await pool(
			buyers
				.filter((b) => placed.has(b.sub))
				.map((b) => async () => {
					const line = again.get(b.sub)!;
					const added = await api.call("POST", "/cart/items", { token: b.token, body: line });
					tally.add("cart add", added.status, added.body);
					if (added.status !== 200) return;
					tally.add("cart address", (await api.call("PUT", "/cart/address", { token: b.token, body: b.address })).status);
					const a = await api.call("POST", "/cart/place-order", { token: b.token, body: {}, asked: [line] });
					tally.add("place-order (second)", a.status, a.body);
					book.checkout(b.sub, a);
				}),
			CLIENTS,
		);
		clock.lap("storm_ms");
		const check = await checkInvariants(sg, api, admin, book);
		const history = await checkStorm(api, admin, recorder);
		clock.lap("check_ms");
		const refusedCodes: Record<string, number> = {};
		for (const a of book.refused.values()) refusedCodes[a.body?.code] = (refusedCodes[a.body?.code] ?? 0) + 1;
		const kitOrders = [...book.placed.values()].filter((p) => p.body.products.some((l: { product_id: string }) => l.product_id === KIT.product_id)).length;
		report("limits-kits", { buyers: buyers.length, answers: tally.counts, refused: refusedCodes, kit_orders: kitOrders, ...clock.laps, figures: check.figures, problems: check.problems.length, checker: history.figures, worker_log_levels: sg.logs.levels });
		expect(tally.unexpected("place-order", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("place-order replay", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("cart add", [200, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("cart address", [200]), JSON.stringify(tally.samples)).toEqual({});
		expect(tally.unexpected("place-order (second)", [201, 409]), JSON.stringify(tally.samples)).toEqual({});
		expect(Object.keys(refusedCodes).filter((c) => c !== "OUT_OF_STOCK" && c !== "PURCHASE_LIMIT")).toEqual([]);
		expect(refusedCodes.PURCHASE_LIMIT ?? 0, "carts over the limit through a kit are refused").toBeGreaterThan(0);
		expect(kitOrders).toBeGreaterThan(0);
		expect(check.problems).toEqual([]);
		expect(history.violations).toEqual([]);
	});
});

function shuffled<T>(r: ReturnType<typeof rng>, items: T[]): T[] {
	return r.sample(items, items.length);
}

/**
 * The payment.refund_requested events written so far, distinct by id: still in
 * the outbox, or already consumed from the queue. Waits (up to 10 s) for the
 * count to reach `expected`, since an event is briefly only on the queue.
 */
async function refundEvents(sg: Stockgate, expected: number): Promise<number> {
	// An event is in some database's outbox or processed table: counted once wherever it is.
	const dbs = [await sg.db(), ...(await sg.orderShards())];
	const deadline = Date.now() + timeoutMs(10_000);
	for (;;) {
		const pages = await Promise.all(
			dbs.map((db) =>
				db
					.prepare(
						`SELECT event_id FROM event_outbox WHERE json_extract(payload, '$.type') = 'payment.refund_requested'
						 UNION SELECT event_id FROM processed_events WHERE type = 'payment.refund_requested'`,
					)
					.all<{ event_id: string }>(),
			),
		);
		const n = new Set(pages.flatMap((p) => p.results.map((r) => r.event_id))).size;
		if (n >= expected || Date.now() > deadline) return n;
		await new Promise((res) => setTimeout(res, 200));
	}
}
