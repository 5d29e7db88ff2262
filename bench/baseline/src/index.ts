/**
 * The benchmark baseline Worker: the endpoints `npm run bench` uses, with the
 * same paths, bodies and answers as stockgate (catalog and warehouse upserts,
 * stock levels, cart lines and address, place-order), over the optimistic-
 * locking design in ./place.ts. `POST /cart/place-order?retries=N` (0..3) is
 * the variant that retries a lost compare-and-set; `?lock=off` exists only for
 * the harness's self-test (an unguarded UPDATE, to prove oversells get caught).
 */
import { authenticate, AddItemBody, Address, body, cents, errorResponse, fail, json, major, PlaceOrderBody, ProductBody, SetStockBody, WarehouseBody, type Env, type User } from "./http";
import { placeOrder } from "./place";

type Row = Record<string, unknown>;

async function activeCart(db: D1Database, userId: string): Promise<{ cart_id: string; address: string | null }> {
	const found = await db.prepare(`SELECT cart_id, address FROM carts WHERE user_id = ? AND status = 'active'`).bind(userId).first<{ cart_id: string; address: string | null }>();
	if (found) return found;
	const now = new Date().toISOString();
	await db
		.prepare(`INSERT INTO carts (cart_id, user_id, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING`)
		.bind(`cart_${crypto.randomUUID()}`, userId, now, now)
		.run();
	return (await db.prepare(`SELECT cart_id, address FROM carts WHERE user_id = ? AND status = 'active'`).bind(userId).first<{ cart_id: string; address: string | null }>())!;
}

async function cartView(env: Env, cart: { cart_id: string; address: string | null }) {
	const { results } = await env.DB.prepare(
		`SELECT ci.product_id, ci.size, ci.quantity, p.name, p.price_cents FROM cart_items ci JOIN products p ON p.product_id = ci.product_id
		 WHERE ci.cart_id = ? ORDER BY ci.added_at, ci.product_id, ci.size`,
	)
		.bind(cart.cart_id)
		.all<{ product_id: string; size: string; quantity: number; name: string; price_cents: number }>();
	const items = results.map((r) => ({ product_id: r.product_id, size: r.size, name: r.name, quantity: r.quantity, unit_price: major(r.price_cents), line_total: major(r.price_cents * r.quantity) }));
	return {
		cart_id: cart.cart_id,
		status: "active",
		items,
		address: cart.address ? JSON.parse(cart.address) : null,
		subtotal: major(results.reduce((s, r) => s + r.price_cents * r.quantity, 0)),
		currency: env.CURRENCY ?? "USD",
	};
}

function levels(warehouseId: string, rows: Array<{ product_id: string; stock: string }>) {
	const items = [];
	for (const r of rows) {
		const doc = JSON.parse(r.stock) as Record<string, number>;
		for (const size of Object.keys(doc).sort()) items.push({ product_id: r.product_id, size, on_hand: doc[size]!, reserved: 0, available: doc[size]! });
	}
	return { warehouse_id: warehouseId, items };
}

async function requireAdmin(request: Request, env: Env): Promise<User> {
	const user = await authenticate(request, env);
	if (!user.admin) fail(403, "FORBIDDEN", "This endpoint needs the admin role.");
	return user;
}

async function route(request: Request, env: Env): Promise<Response> {
	const url = new URL(request.url);
	const path = url.pathname;
	const method = request.method;
	const db = env.DB;
	let m: RegExpExecArray | null;

	if (method === "GET" && path === "/health") return json({ ok: true });

	if (method === "GET" && (m = /^\/products\/([A-Za-z0-9_-]{1,64})$/.exec(path))) {
		const p = await db.prepare(`SELECT * FROM products WHERE product_id = ? AND active = 1`).bind(m[1]).first<Row>();
		if (!p) fail(404, "NOT_FOUND", `Product ${m[1]} not found.`);
		const { results } = await db
			.prepare(`SELECT s.stock FROM stock s JOIN warehouses w ON w.warehouse_id = s.warehouse_id WHERE s.product_id = ? AND w.active = 1`)
			.bind(m[1])
			.all<{ stock: string }>();
		const sizes = JSON.parse(String(p.sizes)) as string[];
		const availability: Record<string, number> = Object.fromEntries(sizes.map((s) => [s, 0]));
		for (const r of results) {
			const doc = JSON.parse(r.stock) as Record<string, number>;
			for (const s of sizes) availability[s]! += Math.max(0, doc[s] ?? 0);
		}
		return json({ product_id: p.product_id, name: p.name, price: major(Number(p.price_cents)), sizes, active: true, availability });
	}

	if (method === "PUT" && (m = /^\/admin\/products\/([A-Za-z0-9_-]{1,64})$/.exec(path))) {
		await requireAdmin(request, env);
		const b = await body(request, ProductBody);
		await db
			.prepare(
				`INSERT INTO products (product_id, name, price_cents, sizes, active) VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (product_id) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, sizes = excluded.sizes, active = excluded.active`,
			)
			.bind(m[1], b.name, cents(b.price), JSON.stringify(b.sizes), b.active ? 1 : 0)
			.run();
		return json({ product_id: m[1], name: b.name, price: b.price, sizes: b.sizes, active: b.active });
	}

	if (method === "PUT" && (m = /^\/admin\/warehouses\/([A-Za-z0-9_-]{1,64})$/.exec(path))) {
		await requireAdmin(request, env);
		const b = await body(request, WarehouseBody);
		await db
			.prepare(
				`INSERT INTO warehouses (warehouse_id, name, postal_code, region, country, active) VALUES (?, ?, ?, ?, ?, ?)
				 ON CONFLICT (warehouse_id) DO UPDATE SET name = excluded.name, postal_code = excluded.postal_code, region = excluded.region,
				   country = excluded.country, active = excluded.active`,
			)
			.bind(m[1], b.name, b.postal_code, b.region, b.country, b.active ? 1 : 0)
			.run();
		return json({ warehouse_id: m[1], ...b });
	}

	if ((m = /^\/admin\/warehouses\/([A-Za-z0-9_-]{1,64})\/stock$/.exec(path)) && (method === "GET" || method === "PUT")) {
		await requireAdmin(request, env);
		const warehouseId = m[1]!;
		if (!(await db.prepare(`SELECT 1 AS x FROM warehouses WHERE warehouse_id = ?`).bind(warehouseId).first())) fail(404, "NOT_FOUND", `Warehouse ${warehouseId} not found.`);
		if (method === "PUT") {
			const b = await body(request, SetStockBody);
			const byProduct = new Map<string, Array<{ size: string; on_hand: number }>>();
			for (const i of b.items) byProduct.set(i.product_id, [...(byProduct.get(i.product_id) ?? []), i]);
			const now = new Date().toISOString();
			for (const [productId, items] of byProduct) {
				const row = await db.prepare(`SELECT stock FROM stock WHERE product_id = ? AND warehouse_id = ?`).bind(productId, warehouseId).first<{ stock: string }>();
				const doc = row ? (JSON.parse(row.stock) as Record<string, number>) : {};
				for (const i of items) doc[i.size] = i.on_hand;
				await db
					.prepare(`INSERT INTO stock (product_id, warehouse_id, stock, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (product_id, warehouse_id) DO UPDATE SET stock = excluded.stock, updated_at = excluded.updated_at`)
					.bind(productId, warehouseId, JSON.stringify(doc), now)
					.run();
			}
		}
		const { results } = await db.prepare(`SELECT product_id, stock FROM stock WHERE warehouse_id = ? ORDER BY product_id`).bind(warehouseId).all<{ product_id: string; stock: string }>();
		return json(levels(warehouseId, results));
	}

	if (method === "POST" && path === "/cart/items") {
		const user = await authenticate(request, env);
		const b = await body(request, AddItemBody);
		const p = await db.prepare(`SELECT sizes, active FROM products WHERE product_id = ?`).bind(b.product_id).first<{ sizes: string; active: number }>();
		if (!p || p.active !== 1) fail(404, "NOT_FOUND", `Unknown product: ${b.product_id}.`);
		if (!(JSON.parse(p.sizes) as string[]).includes(b.size)) fail(400, "VALIDATION_ERROR", `Unknown size for product ${b.product_id}: ${b.size}.`);
		const cart = await activeCart(db, user.id);
		const r = await db
			.prepare(
				`INSERT INTO cart_items (cart_id, product_id, size, quantity, added_at) VALUES (?, ?, ?, ?, ?)
				 ON CONFLICT (cart_id, product_id, size) DO UPDATE SET quantity = quantity + excluded.quantity WHERE quantity + excluded.quantity <= 100`,
			)
			.bind(cart.cart_id, b.product_id, b.size, b.quantity, new Date().toISOString())
			.run();
		if (r.meta.changes === 0) fail(400, "VALIDATION_ERROR", "A cart line holds at most 100 units.");
		return json(await cartView(env, cart));
	}

	if (method === "PUT" && path === "/cart/address") {
		const user = await authenticate(request, env);
		const b = await body(request, Address);
		const cart = await activeCart(db, user.id);
		const text = JSON.stringify(b);
		await db.prepare(`UPDATE carts SET address = ?, updated_at = ? WHERE cart_id = ?`).bind(text, new Date().toISOString(), cart.cart_id).run();
		return json(await cartView(env, { ...cart, address: text }));
	}

	if (method === "POST" && path === "/cart/place-order") {
		const user = await authenticate(request, env);
		const b = await body(request, PlaceOrderBody);
		const retries = Math.max(0, Math.min(3, Number(url.searchParams.get("retries") ?? "0") || 0));
		return placeOrder(env, user.id, b.delivery_mode, retries, url.searchParams.get("lock") === "off");
	}

	fail(404, "NOT_FOUND", `No route for ${method} ${path}.`);
}

export default {
	async fetch(request, env): Promise<Response> {
		const started = Date.now();
		let response: Response;
		try {
			response = await route(request, env);
		} catch (err) {
			response = errorResponse(err);
		}
		console.log(JSON.stringify({ level: "info", tag: "[http]", event: "request", method: request.method, path: new URL(request.url).pathname, status: response.status, ms: Date.now() - started }));
		return response;
	},
} satisfies ExportedHandler<Env>;
