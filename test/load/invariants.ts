/**
 * The invariant check every storm ends with, written once. It first lets the
 * storm settle (the outbox drains; then the reconciler runs as the cron would
 * once every hold is due), then reads stock and ledgers through the admin API,
 * the orders through Miniflare's D1 binding, and open holds from each
 * warehouse's own SQLite, and answers a list of problems (empty: all hold):
 *
 * - never oversold: 0 <= reserved <= on_hand, for every unit everywhere;
 * - every ledger replays to its stock (SUM of deltas == levels);
 * - nothing held once settled: reserved == 0, no open hold, empty outbox;
 * - each order's units committed at most once and restocked at most once; a
 *   live order's net units at each warehouse == its allocation in D1, a
 *   cancelled one's == 0; nothing committed for an order D1 does not have;
 * - conservation per unit: loaded + adjustments - units of live orders ==
 *   on_hand (loaded and adjustments as the clients saw them answered);
 * - every 201 has its order in D1 as answered; no refused checkout left an
 *   order, and its cart is still active with its lines;
 * - every order's status history is one unbroken chain to its status.
 */
import type { LedgerEntry } from "../../bench/lib/hot.mjs";
import type { Stockgate } from "./harness.ts";
import type { Api } from "./client.ts";
import { unitKey, type Book } from "./shop.ts";

interface Item {
	product_id: string;
	size: string;
	on_hand: number;
	reserved: number;
}


interface OrderRow {
	order_id: string;
	user_id: string;
	status: string;
	payment_status: string;
	products: string;
}

interface Allocated {
	product_id: string;
	size: string;
	quantity: number;
	allocations: Array<{ warehouse_id: string; quantity: number }>;
	/** Kit lines: the components' units and where they ship from (what the ledgers hold). */
	components?: Array<{ product_id: string; size: string; quantity: number; allocations: Array<{ warehouse_id: string; quantity: number }> }>;
}

const ADJUST_REASONS = new Set(["receive", "return", "correction", "cycle_count", "damage", "shrinkage"]);
const HOLD_REASONS = new Set(["reserve", "release", "expire"]);
/** Units moving between a sharded unit's pool and its shards: the unit's total is unchanged once each has landed. */
const SHARD_MOVES = new Set(["grant_out", "grant_in", "give_back", "give_in"]);

export interface Figures {
	warehouses: number;
	units: number;
	on_hand: number;
	ledger_entries: number;
	orders: number;
	live_orders: number;
	/** Units of the live orders in D1, over every warehouse. */
	live_units: number;
	cancelled_orders: number;
	reconciler_runs: number;
}

export interface CheckResult {
	problems: string[];
	figures: Figures;
}

/** A COUNT(*) summed over every order shard. */
async function count(sg: Stockgate, sql: string): Promise<number> {
	const rows = await sg.orderRows<{ n: number }>(sql);
	return rows.reduce((sum, r) => sum + Number(r.n ?? 0), 0);
}

/**
 * Lets in-flight after-answer work finish, then runs the reconciler at a time
 * when every hold of the storm is due (ttl + its grace), until nothing is left
 * (at most 3 runs). Answers how many runs it took.
 */
export async function settle(sg: Stockgate): Promise<number> {
	const deadline = Date.now() + 5_000;
	while (Date.now() < deadline && (await count(sg, `SELECT COUNT(*) AS n FROM outbox`)) > 0) await new Promise((r) => setTimeout(r, 100));
	let runs = 0;
	for (; runs < 3; ) {
		await sg.scheduled(Date.now() + sg.ttlMs + 60_000);
		runs++;
		const warehouses = (await (await sg.db()).prepare(`SELECT warehouse_id FROM warehouses`).all<{ warehouse_id: string }>()).results;
		let open = 0;
		for (const w of warehouses) open += await sg.openHolds(w.warehouse_id);
		if (open === 0 && (await count(sg, `SELECT COUNT(*) AS n FROM outbox`)) === 0) break;
	}
	return runs;
}

async function ledgerOf(api: Api, admin: string, warehouseId: string): Promise<LedgerEntry[]> {
	const out: LedgerEntry[] = [];
	let after = 0;
	for (;;) {
		const page = await api.must("GET", `/admin/warehouses/${warehouseId}/ledger?after=${after}&limit=500`, { token: admin });
		out.push(...(page.entries as LedgerEntry[]));
		if (page.next_after === null) return out;
		after = page.next_after;
	}
}

function add(m: Map<string, number>, k: string, v: number): void {
	m.set(k, (m.get(k) ?? 0) + v);
}

export async function checkInvariants(sg: Stockgate, api: Api, admin: string, book: Book, opts: { settled?: boolean } = {}): Promise<CheckResult> {
	const settled = opts.settled ?? true;
	const runs = settled ? await settle(sg) : 0;
	const problems: string[] = [];

	// D1: the orders and what they allocated.
	const orders = await sg.orderRows<OrderRow>(`SELECT order_id, user_id, status, payment_status, products FROM orders`);
	const orderById = new Map(orders.map((o) => [o.order_id, o]));
	const expected = new Map<string, number>(); // order|warehouse|product|size -> units a live order took
	const liveUnits = new Map<string, number>(); // warehouse|product|size -> units of live orders
	for (const o of orders) {
		for (const p of JSON.parse(o.products) as Allocated[]) {
			// A kit line's units are its components'; each of those must be allocated in full.
			for (const unit of p.components ?? [p]) {
				const sum = unit.allocations.reduce((s, a) => s + a.quantity, 0);
				if (sum !== unit.quantity) problems.push(`order ${o.order_id}: ${unit.product_id}/${unit.size} allocates ${sum} of ${unit.quantity}`);
				if (o.status === "cancelled") continue;
				for (const a of unit.allocations) {
					add(expected, `${o.order_id}|${unitKey(a.warehouse_id, unit.product_id, unit.size)}`, a.quantity);
					add(liveUnits, unitKey(a.warehouse_id, unit.product_id, unit.size), a.quantity);
				}
			}
		}
	}

	// Stock and ledgers, through the admin API.
	const { warehouses } = await api.must("GET", "/admin/warehouses", { token: admin });
	const netTaken = new Map<string, number>(); // order|warehouse|product|size -> commits - restocks
	const opCount = new Map<string, number>(); // reason|order|warehouse|product|size -> entries
	const setSum = new Map<string, number>();
	const adjustInLedger = new Map<string, { key: string; delta: number }>();
	let units = 0;
	let onHandTotal = 0;
	let entriesTotal = 0;
	for (const { warehouse_id: w } of warehouses as Array<{ warehouse_id: string }>) {
		const [stock, ledger] = await Promise.all([api.must("GET", `/admin/warehouses/${w}/stock`, { token: admin }), ledgerOf(api, admin, w)]);
		entriesTotal += ledger.length;
		const replay = new Map<string, { on_hand: number; reserved: number }>();
		for (const e of ledger) {
			const k = unitKey(w, e.product_id, e.size);
			const r = replay.get(k) ?? { on_hand: 0, reserved: 0 };
			r.on_hand += e.on_hand_delta;
			r.reserved += e.reserved_delta;
			replay.set(k, r);
			if (e.reason === "set") add(setSum, k, e.on_hand_delta);
			else if (ADJUST_REASONS.has(e.reason)) {
				if (adjustInLedger.has(e.ref)) problems.push(`${w}: adjustment ${e.ref} applied twice`);
				adjustInLedger.set(e.ref, { key: k, delta: e.on_hand_delta });
			} else if (e.reason === "commit" || e.reason === "restock") {
				const ok = `${e.ref}|${k}`;
				add(opCount, `${e.reason}|${ok}`, 1);
				add(netTaken, ok, -e.on_hand_delta);
				if (!orderById.has(e.ref)) problems.push(`${w}: ${e.reason} for ${e.ref}, which is not an order in D1`);
			} else if (!HOLD_REASONS.has(e.reason) && !SHARD_MOVES.has(e.reason)) problems.push(`${w}: unexpected ledger reason ${e.reason} (${e.ref})`);
		}
		const seen = new Set<string>();
		for (const item of stock.items as Item[]) {
			const k = unitKey(w, item.product_id, item.size);
			seen.add(k);
			units++;
			onHandTotal += item.on_hand;
			if (item.reserved < 0 || item.reserved > item.on_hand) problems.push(`${k}: oversold (on_hand ${item.on_hand}, reserved ${item.reserved})`);
			if (settled && item.reserved !== 0) problems.push(`${k}: ${item.reserved} still reserved after settling`);
			const r = replay.get(k) ?? { on_hand: 0, reserved: 0 };
			if (r.on_hand !== item.on_hand || r.reserved !== item.reserved) {
				problems.push(`${k}: ledger replays to on_hand ${r.on_hand} reserved ${r.reserved}, stock says ${item.on_hand}/${item.reserved}`);
			}
			// Conservation: loaded + adjustments (as answered to the clients) - units of live orders.
			const loaded = book.setsDuringStorm > 0 ? (setSum.get(k) ?? 0) : (book.loaded.get(k) ?? 0);
			let adjusted = 0;
			for (const a of book.adjusted.values()) if (a.key === k) adjusted += a.delta;
			const want = loaded + adjusted - (liveUnits.get(k) ?? 0);
			if (want !== item.on_hand) problems.push(`${k}: conservation: loaded ${loaded} + adjusted ${adjusted} - live orders ${liveUnits.get(k) ?? 0} = ${want}, on_hand ${item.on_hand}`);
		}
		for (const k of replay.keys()) if (!seen.has(k) && (replay.get(k)!.on_hand !== 0 || replay.get(k)!.reserved !== 0)) problems.push(`${k}: in the ledger, not in the stock`);
		if (settled) {
			const open = await sg.openHolds(w);
			if (open !== 0) problems.push(`${w}: ${open} holds still open after settling`);
		}
	}
	for (const [k, n] of setSum) if (book.setsDuringStorm === 0 && n !== (book.loaded.get(k) ?? 0)) problems.push(`${k}: the ledger's sets add up to ${n}, the set-up loaded ${book.loaded.get(k) ?? 0}`);
	for (const [ref, a] of book.adjusted) {
		const l = adjustInLedger.get(ref);
		if (!l || l.key !== a.key || l.delta !== a.delta) problems.push(`adjustment ${ref} answered 200 (${a.key} ${a.delta}), ledger has ${JSON.stringify(l ?? null)}`);
	}
	for (const ref of adjustInLedger.keys()) if (!book.adjusted.has(ref)) problems.push(`adjustment ${ref} in the ledger was ${book.adjustRefused.has(ref) ? "answered 409" : "never answered 200"}`);

	// Each order's units: committed once, restocked at most once, net == its live allocation.
	for (const [k, n] of opCount) if (n > 1) problems.push(`${k}: ${n} times`);
	for (const [k, n] of netTaken) if (n !== (expected.get(k) ?? 0)) problems.push(`${k}: net taken ${n}, the order in D1 says ${expected.get(k) ?? 0}`);
	for (const [k, n] of expected) if (!netTaken.has(k)) problems.push(`${k}: live order allocates ${n}, nothing committed`);

	// Answers against D1.
	for (const [id, { user, body }] of book.placed) {
		const o = orderById.get(id);
		if (!o) {
			problems.push(`order ${id} answered 201 is not in D1`);
			continue;
		}
		if (o.user_id !== user) problems.push(`order ${id}: user ${o.user_id}, answered to ${user}`);
		const stored = (JSON.parse(o.products) as Allocated[]).map((p) => [p.product_id, p.size, p.quantity, p.allocations]);
		const answered = (body.products as Allocated[]).map((p) => [p.product_id, p.size, p.quantity, p.allocations]);
		if (JSON.stringify(stored) !== JSON.stringify(answered)) problems.push(`order ${id}: D1 has ${JSON.stringify(stored)}, the 201 said ${JSON.stringify(answered)}`);
	}
	const perUser = new Map<string, number>();
	for (const o of orders) {
		add(perUser, o.user_id, 1);
		if (book.placed.has(o.order_id)) continue;
		if (book.unanswered.has(o.user_id)) continue;
		problems.push(`order ${o.order_id} of ${o.user_id} is in D1 but was ${book.refused.has(o.user_id) ? `answered ${book.refused.get(o.user_id)!.status}` : "never answered 201"}`);
	}
	for (const u of book.unanswered) if ((perUser.get(u) ?? 0) > 1) problems.push(`${u}: ${perUser.get(u)} orders from one unanswered checkout`);
	if (book.refused.size > 0) {
		const users = JSON.stringify([...book.refused.keys()]);
		const active = await sg.orderRows<{ user_id: string; lines: number }>(
			`SELECT c.user_id AS user_id, COUNT(i.product_id) AS lines FROM carts c LEFT JOIN cart_items i ON i.cart_id = c.cart_id
			 WHERE c.status = 'active' AND c.user_id IN (SELECT value FROM json_each(?)) GROUP BY c.user_id`,
			users,
		);
		const withLines = new Set(active.filter((a) => a.lines > 0).map((a) => a.user_id));
		for (const u of book.refused.keys()) if (!withLines.has(u)) problems.push(`${u}: checkout refused, but no active cart with lines`);
	}

	// Histories: one unbroken chain from null to the order's status.
	// Each order's rows are all in its shard, ordered by the view's position.
	const history = await sg.orderRows<{ order_id: string; old_status: string | null; new_status: string }>(`SELECT order_id, old_status, new_status FROM order_history ORDER BY order_id, position`);
	const chains = new Map<string, Array<{ old_status: string | null; new_status: string }>>();
	for (const h of history) (chains.get(h.order_id) ?? chains.set(h.order_id, []).get(h.order_id)!).push(h);
	for (const o of orders) {
		let at: string | null = null;
		for (const h of chains.get(o.order_id) ?? []) {
			if (h.old_status !== at) problems.push(`order ${o.order_id}: history jumps from ${at} to ${h.old_status} -> ${h.new_status}`);
			at = h.new_status;
		}
		if (at !== o.status) problems.push(`order ${o.order_id}: history ends at ${at}, status is ${o.status}`);
	}

	if (settled) {
		const left = await count(sg, `SELECT COUNT(*) AS n FROM outbox`);
		if (left !== 0) problems.push(`${left} outbox rows left after settling`);
	}
	return {
		problems,
		figures: {
			warehouses: warehouses.length,
			units,
			on_hand: onHandTotal,
			ledger_entries: entriesTotal,
			orders: orders.length,
			live_orders: orders.filter((o) => o.status !== "cancelled").length,
			live_units: [...liveUnits.values()].reduce((a, b) => a + b, 0),
			cancelled_orders: orders.filter((o) => o.status === "cancelled").length,
			reconciler_runs: runs,
		},
	};
}
