/**
 * Place-order the usual way: read the stock documents, plan, then deduct per
 * (product, warehouse) row with a compare-and-set UPDATE (`... WHERE stock =
 * <the JSON we read>`). A row that changed since the read is a lost race: the
 * deductions already made are put back and the buyer gets 409 CONFLICT, or,
 * with `retries`, the whole read-plan-deduct runs again (at most `retries`
 * more times). The order row is written only after every deduction landed.
 */
import { plan, type Allocation, type Line, type StockRow, type Tier } from "./allocate";
import { fail, json, major, type Address, type Env } from "./http";

interface Deduction {
	warehouse_id: string;
	product_id: string;
	lines: Line[];
	/** The document this request wrote; the first restore attempt expects it. */
	written: string;
}

const RESTORE_ATTEMPTS = 20;

const RATES: Record<"standard" | "express", Record<Tier, { cents: number; days: number }>> = {
	standard: { tier_1: { cents: 499, days: 3 }, tier_2: { cents: 699, days: 4 }, tier_3: { cents: 999, days: 6 } },
	express: { tier_1: { cents: 999, days: 1 }, tier_2: { cents: 1299, days: 2 }, tier_3: { cents: 1799, days: 3 } },
};

function addBusinessDays(from: Date, days: number): string {
	const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
	let left = days;
	while (left > 0) {
		d.setUTCDate(d.getUTCDate() + 1);
		const wd = d.getUTCDay();
		if (wd !== 0 && wd !== 6) left--;
	}
	return d.toISOString().slice(0, 10);
}

async function readStock(db: D1Database, productIds: string[]): Promise<StockRow[]> {
	const { results } = await db
		.prepare(
			`SELECT s.product_id, s.warehouse_id, s.stock, w.postal_code, w.region, w.country
			 FROM stock s JOIN warehouses w ON w.warehouse_id = s.warehouse_id
			 WHERE w.active = 1 AND s.product_id IN (SELECT value FROM json_each(?))`,
		)
		.bind(JSON.stringify([...new Set(productIds)]))
		.all<StockRow>();
	return results;
}

function applyToDoc(text: string, lines: Line[], sign: 1 | -1): string | null {
	const doc = JSON.parse(text) as Record<string, number>;
	for (const l of lines) {
		const next = (doc[l.size] ?? 0) + sign * l.quantity;
		if (next < 0) return null;
		doc[l.size] = next;
	}
	return JSON.stringify(doc);
}

async function compareAndSet(db: D1Database, productId: string, warehouseId: string, expected: string, next: string, at: string, unlocked = false): Promise<boolean> {
	const r = unlocked
		? await db.prepare(`UPDATE stock SET stock = ?, updated_at = ? WHERE product_id = ? AND warehouse_id = ?`).bind(next, at, productId, warehouseId).run()
		: await db
				.prepare(`UPDATE stock SET stock = ?, updated_at = ? WHERE product_id = ? AND warehouse_id = ? AND stock = ?`)
				.bind(next, at, productId, warehouseId, expected)
				.run();
	return r.meta.changes > 0;
}

/** Puts back what this request took, newest first, re-reading a row whenever another writer changed it. */
async function restore(db: D1Database, done: Deduction[]): Promise<number> {
	let failed = 0;
	for (const d of [...done].reverse()) {
		let expected: string | null = d.written;
		let ok = false;
		for (let i = 0; i < RESTORE_ATTEMPTS && !ok; i++) {
			if (expected === null) {
				const row = await db.prepare(`SELECT stock FROM stock WHERE product_id = ? AND warehouse_id = ?`).bind(d.product_id, d.warehouse_id).first<{ stock: string }>();
				if (!row) break;
				expected = row.stock;
			}
			const next = applyToDoc(expected, d.lines, 1)!;
			ok = await compareAndSet(db, d.product_id, d.warehouse_id, expected, next, new Date().toISOString());
			expected = null;
		}
		if (!ok) {
			failed++;
			console.error(JSON.stringify({ level: "error", tag: "[place-order]", event: "restore_failed", ...d }));
		}
	}
	return failed;
}

function groupDeductions(allocations: Allocation[]): Array<{ warehouse_id: string; product_id: string; lines: Line[] }> {
	const out = new Map<string, { warehouse_id: string; product_id: string; lines: Line[] }>();
	for (const a of allocations) {
		const k = `${a.warehouse_id}\u0000${a.product_id}`;
		const g = out.get(k) ?? { warehouse_id: a.warehouse_id, product_id: a.product_id, lines: [] };
		g.lines.push({ product_id: a.product_id, size: a.size, quantity: a.quantity });
		out.set(k, g);
	}
	return [...out.values()].sort((a, b) => (a.warehouse_id + a.product_id < b.warehouse_id + b.product_id ? -1 : 1));
}

interface CartLine extends Line {
	name: string;
	price_cents: number;
}

/**
 * `unlocked`: the harness's self-test only (`npm run bench -- --self-test`): the
 * UPDATE drops its `AND stock = <old JSON>` guard, the classic lost update, so the
 * benchmark can show that its oversell check catches one.
 */
export async function placeOrder(env: Env, userId: string, mode: "standard" | "express", retries: number, unlocked = false): Promise<Response> {
	const db = env.DB;
	const cart = await db.prepare(`SELECT cart_id, address FROM carts WHERE user_id = ? AND status = 'active'`).bind(userId).first<{ cart_id: string; address: string | null }>();
	if (!cart) fail(400, "CART_EMPTY", "The cart is empty.");
	const { results: lines } = await db
		.prepare(
			`SELECT ci.product_id, ci.size, ci.quantity, p.name, p.price_cents FROM cart_items ci JOIN products p ON p.product_id = ci.product_id
			 WHERE ci.cart_id = ? ORDER BY ci.added_at, ci.product_id, ci.size`,
		)
		.bind(cart.cart_id)
		.all<CartLine>();
	if (lines.length === 0) fail(400, "CART_EMPTY", "The cart is empty.");
	if (!cart.address) fail(400, "ADDRESS_REQUIRED", "Set a delivery address before placing the order.");
	const address = JSON.parse(cart.address) as Address;
	const demand = lines.map((l) => ({ product_id: l.product_id, size: l.size, quantity: l.quantity }));

	for (let attempt = 1; attempt <= 1 + retries; attempt++) {
		const rows = await readStock(db, demand.map((l) => l.product_id));
		const p = plan(demand, rows, address);
		if (!p.ok) {
			const details = p.shortages.map(({ product_id, size, requested, available }) => ({ product_id, size, requested, available }));
			fail(409, "OUT_OF_STOCK", "Some items are no longer available in the requested quantity.", details);
		}
		const snapshot = new Map(rows.map((r) => [`${r.warehouse_id}\u0000${r.product_id}`, r.stock]));
		const done: Deduction[] = [];
		let lost = false;
		const at = new Date().toISOString();
		for (const g of groupDeductions(p.allocations)) {
			const expected = snapshot.get(`${g.warehouse_id}\u0000${g.product_id}`)!;
			const next = applyToDoc(expected, g.lines, -1);
			if (next === null || !(await compareAndSet(db, g.product_id, g.warehouse_id, expected, next, at, unlocked))) {
				lost = true;
				break;
			}
			done.push({ ...g, written: next });
		}
		if (lost) {
			await restore(db, done);
			if (attempt <= retries) continue;
			console.log(JSON.stringify({ level: "info", tag: "[place-order]", event: "conflict", user_id: userId, attempts: attempt }));
			fail(409, "CONFLICT", "The stock changed while the order was being placed; please try again.", { attempts: attempt });
		}

		// Every deduction landed: write the order and close the cart, in one batch.
		const now = new Date();
		const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
		const subtotal = lines.reduce((s, l) => s + l.price_cents * l.quantity, 0);
		const rate = RATES[mode][p.tier];
		const tax = Math.round((subtotal * Number(env.TAX_RATE ?? "0.10") * 100) / 100);
		const total = subtotal + rate.cents + tax;
		const products = lines.map((l) => ({
			product_id: l.product_id,
			size: l.size,
			name: l.name,
			quantity: l.quantity,
			unit_price_cents: l.price_cents,
			allocations: p.allocations.filter((a) => a.product_id === l.product_id && a.size === l.size).map((a) => ({ warehouse_id: a.warehouse_id, quantity: a.quantity })),
		}));
		const created = now.toISOString();
		const eta = addBusinessDays(now, rate.days);
		const currency = env.CURRENCY ?? "USD";
		try {
			await db.batch([
				db
					.prepare(
						`INSERT INTO orders (order_id, user_id, cart_id, products, address, delivery_mode, delivery_tier, subtotal, delivery_cost, tax, total, currency,
						   estimated_delivery_date, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					)
					.bind(orderId, userId, cart.cart_id, JSON.stringify(products), cart.address, mode, p.tier, subtotal, rate.cents, tax, total, currency, eta, attempt, created, created),
				db.prepare(`UPDATE carts SET status = 'completed', updated_at = ? WHERE cart_id = ? AND status = 'active'`).bind(created, cart.cart_id),
			]);
		} catch (err) {
			await restore(db, done);
			if (/UNIQUE constraint failed: orders\.cart_id/.test(String(err))) fail(409, "CONFLICT", "This cart already has an order.");
			throw err;
		}
		console.log(JSON.stringify({ level: "info", tag: "[place-order]", event: "placed", order_id: orderId, attempts: attempt }));
		return json(
			{
				order_id: orderId,
				user_id: userId,
				status: "pending",
				payment_status: "pending",
				products: products.map(({ unit_price_cents, ...rest }) => ({ ...rest, unit_price: major(unit_price_cents) })),
				address,
				delivery_mode: mode,
				delivery_tier: p.tier,
				subtotal: major(subtotal),
				delivery_cost: major(rate.cents),
				tax: major(tax),
				total: major(total),
				currency,
				estimated_delivery_date: eta,
				tracking_number: null,
				created_at: created,
				updated_at: created,
			},
			201,
			{ "X-Attempts": String(attempt) },
		);
	}
	throw new Error("unreachable");
}
