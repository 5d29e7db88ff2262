/**
 * The `floor` probe: stockgate's Warehouse class and D1 schema, and one endpoint
 * per primitive that place-order is made of. Each request does exactly one
 * primitive, so (its latency - /floor/noop) is that primitive's cost on the same
 * runtime; `/floor/loop?op=...&n=...` repeats one primitive n times inside the
 * Worker and answers the elapsed time (no HTTP per step).
 *
 * For the capacity model (docs/SCALING.md), what bounds a single-threaded
 * store is its service time, not a caller's latency: `/floor/burst?op=...&n=...`
 * issues n of one primitive at once (they queue at the one object or the one D1
 * database) and answers the elapsed time, so ms/n is that store's time per
 * operation; `/floor/commit-many?k=...&n=...` holds n*k units untimed, then times
 * `commitMany` of k holds, one call after another and n calls at once.
 *
 * A unit over shard objects (`/floor/setup?shards=S`: the warehouse's object is
 * the pool): `rpc-grant` is an ask the pool answers with a grant,
 * `rpc-give-back` a give-back the pool takes in, `rpc-reserve-shard` a reserve
 * at a shard that holds units, `rpc-reserve-dry` a reserve at a dry shard (it
 * asks the pool, applies the grant and holds, all before answering). A burst
 * with `lanes=k` runs k callers one after another instead of n at once, the
 * caller i on shard i: a dry shard asks once for every request waiting there,
 * so only one caller per shard keeps each reserve on the dry path.
 * `/floor/requests?w=` answers an object's request counts.
 *
 * Order shards: `ORDERS_0` is one shard's database; `d1-read-shard`,
 * `d1-batch-shard` and `d1-write-shard` are checkout's per-order statements
 * there (its context read, its decision batch, a gathered commit's clean-up),
 * next to the same at DB.
 */
import { jwtVerify } from "jose";
import { contextReadStmt } from "../../../src/cart/load";
import { placementStmts } from "../../../src/orders/placement";
import type { OrderRecord } from "../../../src/orders/queries";
import type { Warehouse as WarehouseClass } from "../../../src/stock/binding";
import { MAX_SHARDS, shardName } from "../../../src/stock/shardNames";

export { Warehouse } from "../../../src/index";

interface Env {
	DB: D1Database;
	/** One order shard (its own database, migrated like DB): the per-order costs where a customer's orders live. */
	ORDERS_0: D1Database;
	WAREHOUSE: DurableObjectNamespace<WarehouseClass>;
	JWT_SECRET: string;
}

const UNIT = { product_id: "floor-p", size: "M" };
/** Units loaded at each probe warehouse. */
const LOADED = 10_000_000;
/** A dry reserve's units: the smallest grant (DEFAULT_ESCROW.minGrant), so the grant it asks for leaves its shard dry again. */
const DRY_UNITS = 8;
/** Units granted to shard 0 of a stocked sharded warehouse at set-up, for `rpc-reserve-shard`. */
const STOCKED_SHARD_UNITS = 100_000;
/**
 * The report an `rpc-grant` ask carries: every grant to the shard so far applied
 * and sold (granted_in at least all the pool ever granted), so each ask needs a
 * fresh grant and none is left waiting in the pool for the alarm to deliver.
 */
const SOLD_REPORT = { free: 0, on_hand: 0, reserved: 0, granted_in: LOADED, version: 0 };
/** The shard an `rpc-grant` or `rpc-give-back` names, or a lane-less `rpc-reserve-dry` goes to: each call the next. */
let nextSlot = 0;
const slot = (): number => nextSlot++ % MAX_SHARDS;
/** The catalog warehouse's units (wh-floor-catalog): a whole shop's worth in one object. */
const CATALOG_UNITS = 1000;
const catalogUnit = (i: number) => ({ product_id: `floor-c${String(i).padStart(4, "0")}`, size: "M" });
/** A catalog order's lines: two distinct units, one of each. */
function catalogLines(): Array<{ product_id: string; size: string; quantity: number }> {
	const a = Math.floor(Math.random() * CATALOG_UNITS);
	const b = (a + 1 + Math.floor(Math.random() * (CATALOG_UNITS - 1))) % CATALOG_UNITS;
	return [a, b].map((i) => ({ ...catalogUnit(i), quantity: 1 }));
}
/** The most units one burst or gathered commit may touch (keeps one probe request bounded). */
const BURST_MAX = 1000;
const FLOOR_USER = "floor-user";
const ORDER_PRODUCTS = JSON.stringify([
	{ product_id: "floor-p", size: "M", name: "Floor Tee", quantity: 1, unit_price_cents: 2000, allocations: [{ warehouse_id: "wh-floor", quantity: 1 }] },
]);
const ORDER_ADDRESS = JSON.stringify({ name: "Floor Buyer", line1: "1 Main St", city: "New York", region: "NY", postal_code: "10001", country: "US" });

/** The probe's own D1 tables (shaped like checkout's) for the baseline and the reads; `d1-batch` runs checkout's own decision on stockgate's tables. */
const SCHEMA = [
	`CREATE TABLE IF NOT EXISTS floor_orders (order_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, cart_id TEXT UNIQUE, products TEXT NOT NULL, address TEXT NOT NULL,
	   total INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS floor_orders_user ON floor_orders (user_id, created_at)`,
	`CREATE TABLE IF NOT EXISTS floor_history (history_id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, old_status TEXT, new_status TEXT NOT NULL,
	   changed_by TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS floor_outbox (outbox_id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, warehouse_id TEXT NOT NULL, action TEXT NOT NULL,
	   created_at TEXT NOT NULL, UNIQUE (order_id, warehouse_id, action))`,
	`CREATE TABLE IF NOT EXISTS floor_events (event_id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS floor_units (user_id TEXT NOT NULL, product_id TEXT NOT NULL, units INTEGER NOT NULL, cap INTEGER, PRIMARY KEY (user_id, product_id))`,
	`CREATE TABLE IF NOT EXISTS floor_carts (cart_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL, address TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS floor_carts_user ON floor_carts (user_id) WHERE status = 'active'`,
	// The baseline's stock row: one JSON document of per-size counts, changed by compare-and-set.
	`CREATE TABLE IF NOT EXISTS floor_stock (product_id TEXT PRIMARY KEY, stock TEXT NOT NULL, updated_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS floor_cart_items (cart_id TEXT NOT NULL, product_id TEXT NOT NULL, size TEXT NOT NULL, quantity INTEGER NOT NULL, added_at TEXT NOT NULL,
	   PRIMARY KEY (cart_id, product_id, size))`,
	`CREATE TABLE IF NOT EXISTS floor_products (product_id TEXT PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, sizes TEXT NOT NULL, active INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS floor_warehouses (warehouse_id TEXT PRIMARY KEY, name TEXT NOT NULL, postal_code TEXT NOT NULL, region TEXT NOT NULL, country TEXT NOT NULL,
	   active INTEGER NOT NULL)`,
];

async function setupTables(db: D1Database): Promise<void> {
	const at = new Date().toISOString();
	await db.batch([
		...SCHEMA.map((sql) => db.prepare(sql)),
		db.prepare(`INSERT OR IGNORE INTO floor_carts VALUES ('cart-floor', ?, 'active', ?, ?, ?)`).bind(FLOOR_USER, ORDER_ADDRESS, at, at),
		db.prepare(`INSERT OR IGNORE INTO floor_stock VALUES ('floor-p', '{"M":10000000}', ?)`).bind(at),
		db.prepare(`INSERT OR IGNORE INTO floor_products VALUES ('floor-p', 'Floor Tee', 2000, '["S","M","L"]', 1), ('floor-q', 'Floor Cap', 1500, '["ONE"]', 1)`),
		db.prepare(`INSERT OR IGNORE INTO floor_cart_items VALUES ('cart-floor', 'floor-p', 'M', 1, ?), ('cart-floor', 'floor-q', 'ONE', 2, ?)`).bind(at, at),
		db.prepare(
			`INSERT OR IGNORE INTO floor_warehouses VALUES ('wh-a', 'A', '10001', 'NY', 'US', 1), ('wh-b', 'B', '60601', 'IL', 'US', 1), ('wh-c', 'C', '94103', 'CA', 'US', 1), ('wh-d', 'D', '73301', 'TX', 'US', 1)`,
		),
	]);
}

/** The shard's active cart of FLOOR_USER with two lines, for `d1-read-shard` (checkout's context read). */
async function setupShard(db: D1Database): Promise<void> {
	const at = new Date().toISOString();
	await db.batch([
		db.prepare(`INSERT OR IGNORE INTO carts (cart_id, user_id, status, address, created_at, updated_at) VALUES ('cart-floor', ?, 'active', ?, ?, ?)`).bind(FLOOR_USER, ORDER_ADDRESS, at, at),
		db.prepare(`INSERT OR IGNORE INTO cart_items (cart_id, product_id, size, quantity, added_at) VALUES ('cart-floor', 'floor-p', 'M', 1, ?), ('cart-floor', 'floor-q', 'ONE', 2, ?)`).bind(at, at),
	]);
}

/** Checkout's decision batch on stockgate's own tables of `db`: a fresh buyer's cart (one statement more: the decision needs an active cart at the version read), then the decision. */
function decisionBatch(db: D1Database): Promise<D1Result[]> {
	const id = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
	const at = new Date().toISOString();
	const order = floorOrder(id, at);
	return db.batch([
		db.prepare(`INSERT INTO carts (cart_id, user_id, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?)`).bind(order.cart_id, order.user_id, at, at),
		...placementStmts(db, { order, cartVersion: 0, warehouseIds: ["wh-floor"], limits: new Map() }),
	]);
}

function json(body: unknown, status = 200): Response {
	return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** The baseline's order row. */
function orderRow(db: D1Database, id: string, at: string, cartId = `cart_${id}`): D1PreparedStatement {
	return db
		.prepare(`INSERT INTO floor_orders (order_id, user_id, cart_id, products, address, total, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`)
		.bind(id, FLOOR_USER, cartId, ORDER_PRODUCTS, ORDER_ADDRESS, 2599, at, at);
}

/** A one-line order of a buyer of its own, as checkout builds it. */
function floorOrder(id: string, at: string): OrderRecord {
	return {
		order_id: id,
		user_id: `floor-buyer-${id}`,
		cart_id: `cart_${id}`,
		status: "pending",
		payment_status: "pending",
		products: JSON.parse(ORDER_PRODUCTS) as OrderRecord["products"],
		address: JSON.parse(ORDER_ADDRESS) as OrderRecord["address"],
		delivery_mode: "standard",
		delivery_tier: "tier_1",
		subtotal: 2000,
		delivery_cost: 500,
		tax: 99,
		total: 2599,
		currency: "USD",
		estimated_delivery_date: at.slice(0, 10),
		tracking_number: null,
		customer_email: null,
		event_seq: 1,
		created_at: at,
		updated_at: at,
	};
}

type Op = (env: Env, w: string, token: string, lane?: number) => Promise<unknown>;

const ops: Record<string, Op> = {
	noop: async () => null,
	jwt: async (env, _w, token) => jwtVerify(token, new TextEncoder().encode(env.JWT_SECRET), { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] }),
	rpc: async (env, w) => env.WAREHOUSE.getByName(w).availability([UNIT]),
	"rpc-reserve": async (env, w) => {
		const r = await env.WAREHOUSE.getByName(w).reserve(`floor-${crypto.randomUUID()}`, [{ ...UNIT, quantity: 1 }], 600_000, { actor: "floor" });
		if (!r.ok) throw new Error(`reserve failed: ${JSON.stringify(r)}`);
		return r;
	},
	// A checkout hold's whole life at one warehouse: reserve, then commit (both write transactions, with the alarm re-armed after each).
	"rpc-hold": async (env, w) => {
		const stub = env.WAREHOUSE.getByName(w);
		const ref = `floor-${crypto.randomUUID()}`;
		const r = await stub.reserve(ref, [{ ...UNIT, quantity: 1 }], 600_000, { actor: "floor" });
		if (!r.ok) throw new Error(`reserve failed: ${JSON.stringify(r)}`);
		const c = await stub.commit(ref, { actor: "floor" });
		if (!c.ok) throw new Error(`commit failed: ${JSON.stringify(c)}`);
		return c;
	},
	// A catalog order at the catalog warehouse: two distinct units out of CATALOG_UNITS.
	"rpc-reserve-catalog": async (env, w) => {
		const r = await env.WAREHOUSE.getByName(w).reserve(`floor-${crypto.randomUUID()}`, catalogLines(), 600_000, { actor: "floor" });
		if (!r.ok) throw new Error(`reserve failed: ${JSON.stringify(r)}`);
		return r;
	},
	// A unit over shard objects (set up with shards=MAX_SHARDS): the pool answers an ask from a sold-out shard with a grant.
	"rpc-grant": async (env, w) => {
		const a = await env.WAREHOUSE.getByName(w).ask(slot(), UNIT, DRY_UNITS, SOLD_REPORT, DRY_UNITS);
		if (a.kind !== "grant" || a.grants.length !== 1) throw new Error(`ask not granted: ${JSON.stringify(a)}`);
		return a;
	},
	// The pool takes in one give-back (a unit a shard had back from a release, an expiry or a cancel), once by its id.
	"rpc-give-back": async (env, w) => env.WAREHOUSE.getByName(w).receiveGiveBacks(slot(), [{ give_id: `floor-give-${crypto.randomUUID()}`, ...UNIT, units: 1 }]),
	// A reserve at a shard holding units (shard 0 of a warehouse set up with stock=1).
	"rpc-reserve-shard": async (env, w) => {
		const r = await env.WAREHOUSE.getByName(shardName(w, UNIT, 0)).reserve(`floor-${crypto.randomUUID()}`, [{ ...UNIT, quantity: 1 }], 600_000, { actor: "floor" });
		if (!r.ok) throw new Error(`reserve failed: ${JSON.stringify(r)}`);
		return r;
	},
	// A reserve at a dry shard: refused there, an ask, the grant applied with the hold (its lane's own shard, else the next).
	"rpc-reserve-dry": async (env, w, _token, lane) => {
		const shard = lane ?? slot();
		const r = await env.WAREHOUSE.getByName(shardName(w, UNIT, shard % MAX_SHARDS)).reserve(`floor-${crypto.randomUUID()}`, [{ ...UNIT, quantity: DRY_UNITS }], 600_000, { actor: "floor" });
		if (!r.ok) throw new Error(`reserve failed: ${JSON.stringify(r)}`);
		return r;
	},
	// What the availability cache asks for: every unit's levels of one warehouse.
	"rpc-snapshot": async (env, w) => env.WAREHOUSE.getByName(w).snapshot(),
	d1: async (env) => env.DB.prepare(`SELECT * FROM floor_warehouses WHERE active = 1 ORDER BY warehouse_id`).all(),
	// The baseline's attempt at one stock row: read the document, then compare-and-set it (under a burst most lose: the same work).
	"d1-cas": async (env) => {
		const row = await env.DB.prepare(`SELECT stock FROM floor_stock WHERE product_id = 'floor-p'`).first<{ stock: string }>();
		if (!row) throw new Error("floor_stock is empty: /floor/setup first");
		const doc = JSON.parse(row.stock) as Record<string, number>;
		const next = JSON.stringify({ ...doc, M: (doc.M ?? 0) - 1 });
		return env.DB.prepare(`UPDATE floor_stock SET stock = ?, updated_at = ? WHERE product_id = 'floor-p' AND stock = ?`).bind(next, new Date().toISOString(), row.stock).run();
	},
	// The baseline's order batch: the order row and the cart closed.
	"d1-order-batch": async (env) => {
		const db = env.DB;
		const id = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
		const at = new Date().toISOString();
		return db.batch([
			orderRow(db, id, at, `base_${id}`),
			db.prepare(`UPDATE floor_carts SET updated_at = ? WHERE cart_id = ? AND status = 'active'`).bind(at, `base_${id}`),
		]);
	},
	"d1-write": async (env) =>
		env.DB.prepare(`DELETE FROM floor_outbox WHERE order_id = ? AND action = 'commit' AND warehouse_id IN (SELECT value FROM json_each(?))`)
			.bind(`ord_${crypto.randomUUID()}`, JSON.stringify(["wh-floor"]))
			.run(),
	// The shape of checkout's context read (src/cart/load.ts): one statement, the cart with a row per line and its product, the active warehouses as JSON.
	"d1-read-batch": async (env) => {
		const db = env.DB;
		return db.batch([
			db
				.prepare(
					`SELECT c.cart_id, c.user_id, c.status, c.address, c.created_at, c.updated_at,
					        (SELECT json_group_array(json_object('warehouse_id', warehouse_id, 'name', name, 'postal_code', postal_code, 'region', region, 'country', country, 'active', active))
					         FROM (SELECT * FROM floor_warehouses WHERE active = 1 ORDER BY warehouse_id)) AS active_warehouses,
					        i.product_id AS line_product_id, i.size AS line_size, i.quantity AS line_quantity,
					        p.product_id AS p_product_id, p.name AS p_name, p.price_cents AS p_price_cents, p.sizes AS p_sizes, p.active AS p_active
					 FROM floor_carts c LEFT JOIN floor_cart_items i ON i.cart_id = c.cart_id LEFT JOIN floor_products p ON p.product_id = i.product_id
					 WHERE c.user_id = ?1 AND c.status = 'active'
					 ORDER BY i.added_at, i.product_id, i.size`,
				)
				.bind(FLOOR_USER),
		]);
	},
	// Checkout's decision itself (src/orders/placement.ts), at DB (the single-database layout) and at an order shard.
	"d1-batch": async (env) => decisionBatch(env.DB),
	"d1-batch-shard": async (env) => decisionBatch(env.ORDERS_0),
	// Checkout's context read at the customer's shard (src/cart/load.ts): the active cart with a row per line, one statement.
	"d1-read-shard": async (env) => contextReadStmt(env.ORDERS_0, FLOOR_USER).all(),
	// A gathered commit's clean-up at the shard (src/orders/queries.ts): the order's outbox rows deleted.
	"d1-write-shard": async (env) =>
		env.ORDERS_0.prepare(`DELETE FROM outbox WHERE order_id = ? AND action = 'commit' AND warehouse_id IN (SELECT value FROM json_each(?))`)
			.bind(`ord_${crypto.randomUUID()}`, JSON.stringify(["wh-floor"]))
			.run(),
};

/** Reserves `count` holds at `w` (one unit each, or a catalog order's two), untimed, in bursts of 100; answers their refs. */
async function holdMany(env: Env, w: string, count: number, catalog: boolean): Promise<string[]> {
	const stub = env.WAREHOUSE.getByName(w);
	const refs = Array.from({ length: count }, () => `floor-${crypto.randomUUID()}`);
	for (let i = 0; i < refs.length; i += 100) {
		const results = await Promise.all(refs.slice(i, i + 100).map((ref) => stub.reserve(ref, catalog ? catalogLines() : [{ ...UNIT, quantity: 1 }], 600_000, { actor: "floor" })));
		const failed = results.find((r) => !r.ok);
		if (failed) throw new Error(`reserve failed: ${JSON.stringify(failed)}`);
	}
	return refs;
}

/**
 * Phase 2 gathered: `commitMany` of k holds. `seq`: n calls one after another
 * (a call's latency); `burst`: n calls at once (the object's time per call).
 */
async function commitManyProbe(env: Env, w: string, k: number, n: number, catalog: boolean): Promise<Record<string, number>> {
	const stub = env.WAREHOUSE.getByName(w);
	const commitAll = async (refs: string[]) => {
		const out = await stub.commitMany(refs, { actor: "floor" });
		const bad = refs.find((r) => {
			const c = out[r];
			return !c || !c.ok || c.replayed;
		});
		if (bad) throw new Error(`commitMany did not commit ${bad}: ${JSON.stringify(out[bad])}`);
	};
	const chunks = (refs: string[]) => Array.from({ length: n }, (_, i) => refs.slice(i * k, (i + 1) * k));
	const seqHolds = chunks(await holdMany(env, w, n * k, catalog));
	const perCall: number[] = [];
	for (const refs of seqHolds) {
		const t = Date.now();
		await commitAll(refs);
		perCall.push(Date.now() - t);
	}
	const burstHolds = chunks(await holdMany(env, w, n * k, catalog));
	const started = Date.now();
	await Promise.all(burstHolds.map(commitAll));
	const burstMs = Date.now() - started;
	const seqMs = perCall.reduce((a, b) => a + b, 0);
	return { k, n, seq_ms: seqMs, burst_ms: burstMs };
}

/**
 * The probe's unit at `w` over `shards` objects, all its units in the pool; with
 * `stock`, shard 0 is granted STOCKED_SHARD_UNITS as a shard gets them: an ask
 * answered with a grant, delivered to the shard (what the pool's alarm does).
 */
async function setUpSharded(env: Env, w: string, shards: number, stock: boolean): Promise<{ ok: boolean; shards: number; stocked: number }> {
	const pool = env.WAREHOUSE.getByName(w);
	const r = await pool.setSharded(`floor-setup-${crypto.randomUUID()}`, { ...UNIT, on_hand: LOADED, shards }, { actor: "floor" });
	if (!r.ok || !stock) return { ok: r.ok, shards, stocked: 0 };
	const a = await pool.ask(0, UNIT, STOCKED_SHARD_UNITS, { free: 0, on_hand: 0, reserved: 0, granted_in: 0, version: 0 }, STOCKED_SHARD_UNITS);
	if (a.kind !== "grant") throw new Error(`set-up ask not granted: ${JSON.stringify(a)}`);
	const shard = env.WAREHOUSE.getByName(shardName(w, UNIT, 0));
	for (const g of a.grants) await shard.receiveGrant(g.grant_id, UNIT, g.units);
	return { ok: true, shards, stocked: a.grants.reduce((s, g) => s + g.units, 0) };
}

export default {
	async fetch(request, env): Promise<Response> {
		const url = new URL(request.url);
		const w = url.searchParams.get("w") ?? "wh-floor";
		const token = (request.headers.get("authorization") ?? "").replace(/^Bearer\s+/i, "");
		try {
			if (url.pathname === "/health") return json({ ok: true });
			if (url.pathname === "/floor/setup") {
				await setupTables(env.DB);
				await setupShard(env.ORDERS_0);
				const units = url.searchParams.get("catalog") === "1" ? Array.from({ length: CATALOG_UNITS }, (_, i) => catalogUnit(i)) : [UNIT];
				const shards = Number(url.searchParams.get("shards") ?? "1") || 1;
				if (shards > 1) return json(await setUpSharded(env, w, shards, url.searchParams.get("stock") === "1"));
				const r = await env.WAREHOUSE.getByName(w).setLevels(`floor-setup-${crypto.randomUUID()}`, units.map((u) => ({ ...u, on_hand: LOADED })), { actor: "floor" });
				return json({ ok: r.ok, units: units.length });
			}
			if (url.pathname === "/floor/requests") return json(await env.WAREHOUSE.getByName(w).requestCounts());
			if (url.pathname === "/floor/burst") {
				const op = ops[url.searchParams.get("op") ?? ""];
				const n = Math.max(1, Math.min(BURST_MAX, Number(url.searchParams.get("n") ?? "100") || 100));
				if (!op) return json({ error: "unknown op", code: "NOT_FOUND" }, 404);
				const lanes = Math.max(0, Math.min(MAX_SHARDS, Number(url.searchParams.get("lanes") ?? "0") || 0));
				const started = Date.now();
				if (lanes > 0) {
					let left = n;
					await Promise.all(
						Array.from({ length: lanes }, async (_, lane) => {
							while (left > 0) {
								left--;
								await op(env, w, token, lane);
							}
						}),
					);
				} else {
					await Promise.all(Array.from({ length: n }, () => op(env, w, token)));
				}
				return json({ n, ms: Date.now() - started });
			}
			if (url.pathname === "/floor/commit-many") {
				const k = Math.max(1, Math.min(BURST_MAX, Number(url.searchParams.get("k") ?? "10") || 10));
				const n = Math.max(1, Math.min(Math.floor(BURST_MAX / k), Number(url.searchParams.get("n") ?? "10") || 10));
				return json(await commitManyProbe(env, w, k, n, url.searchParams.get("catalog") === "1"));
			}
			if (url.pathname === "/floor/loop") {
				const op = ops[url.searchParams.get("op") ?? ""];
				const n = Math.max(1, Math.min(1000, Number(url.searchParams.get("n") ?? "100") || 100));
				if (!op) return json({ error: "unknown op", code: "NOT_FOUND" }, 404);
				const started = Date.now();
				for (let i = 0; i < n; i++) await op(env, w, token);
				return json({ n, ms: Date.now() - started });
			}
			const op = ops[url.pathname.replace(/^\/floor\//, "")];
			if (!op) return json({ error: "no such probe", code: "NOT_FOUND" }, 404);
			await op(env, w, token);
			return json({ ok: true });
		} catch (err) {
			return json({ error: String(err), code: "PROBE_FAILED" }, 500);
		}
	},
} satisfies ExportedHandler<Env>;
