// Demo data: three warehouses in different regions, a few products with sizes
// and stock (low-stock thresholds, one unit already below its threshold), and
// the demo customer's orders in several states so every page of the console
// and the shop shows something. Loading is idempotent: products and warehouses
// are upserted, a warehouse's stock is only set while it has none, and the
// orders are only placed while the demo customer has none (so what happens
// during a demo is not undone by the next `npm start`).
export const warehouses = [
	{ id: "wh-east", name: "East Coast DC", postal_code: "10001", region: "NY", country: "US" },
	{ id: "wh-central", name: "Central DC", postal_code: "60601", region: "IL", country: "US" },
	{ id: "wh-west", name: "West Coast DC", postal_code: "94103", region: "CA", country: "US" },
];

export const products = [
	{ id: "tee-classic", name: "Classic Tee", price: 19.99, sizes: ["S", "M", "L", "XL"] },
	{ id: "hoodie-zip", name: "Zip Hoodie", price: 54.5, sizes: ["S", "M", "L"] },
	// A limited drop: at most 2 pairs per customer.
	{ id: "sneaker-run", name: "Running Sneaker", price: 89.0, sizes: ["40", "41", "42", "43", "44"], max_per_customer: 2 },
	{ id: "cap-logo", name: "Logo Cap", price: 15.0, sizes: ["ONE"] },
];

/** A kit: no stock of its own, its availability comes from its components'. */
export const kits = [
	{
		id: "starter-pack",
		name: "Starter Pack (tee + cap)",
		price: 29.0,
		sizes: ["ONE"],
		components: [
			{ product_id: "tee-classic", size: "M", quantity: 1 },
			{ product_id: "cap-logo", size: "ONE", quantity: 1 },
		],
	},
];

/** Units kept back from online orders at one warehouse (the shop counter's stock). */
export const safetyStock = { warehouse_id: "wh-east", product_id: "tee-classic", size: "M", safety_stock: 3 };

/** A transfer left in transit, so the console shows incoming units (idempotent by its reference). */
export const demoTransfer = {
	from_warehouse_id: "wh-central",
	to_warehouse_id: "wh-west",
	items: [{ product_id: "tee-classic", size: "L", quantity: 3 }],
	reference: "demo-transfer-1",
	note: "demo: rebalance central to west",
};

/** The unit that starts below its low-stock threshold (at the first warehouse). */
export const lowUnit = { product_id: "hoodie-zip", size: "M", on_hand: 2 };
const LOW_STOCK_THRESHOLD = 5;

/** on_hand per warehouse: a little of everything, with gaps so splits happen. */
export function stockFor(warehouseIndex) {
	const items = [];
	products.forEach((p, pi) => {
		p.sizes.forEach((size, si) => {
			let on_hand = (pi + si + warehouseIndex * 2) % 5 === 0 ? 0 : 5 + ((pi * 7 + si * 3 + warehouseIndex * 11) % 20);
			if (warehouseIndex === 0 && p.id === lowUnit.product_id && size === lowUnit.size) on_hand = lowUnit.on_hand;
			const safety = warehouses[warehouseIndex]?.id === safetyStock.warehouse_id && p.id === safetyStock.product_id && size === safetyStock.size ? { safety_stock: safetyStock.safety_stock } : {};
			items.push({ product_id: p.id, size, on_hand: Math.max(on_hand, safety.safety_stock ?? 0), low_stock_threshold: LOW_STOCK_THRESHOLD, ...safety });
		});
	});
	return items;
}

const demoAddress = { name: "Dana Demo", line1: "350 5th Ave", city: "New York", region: "NY", postal_code: "10118", country: "US" };

/** The demo customer's orders: each placed through the API, then moved by the admin along the status path. */
const demoOrders = [
	{ lines: [{ product_id: "tee-classic", size: "M", quantity: 2 }], path: [] },
	{ lines: [{ product_id: "hoodie-zip", size: "L", quantity: 1 }], path: ["paid"] },
	{ lines: [{ product_id: "sneaker-run", size: "42", quantity: 1 }, { product_id: "cap-logo", size: "ONE", quantity: 1 }], path: ["paid", "processing", "shipped"] },
	{ lines: [{ product_id: "cap-logo", size: "ONE", quantity: 2 }], path: ["paid", "processing", "shipped", "delivered"] },
	{ lines: [{ product_id: "tee-classic", size: "L", quantity: 1 }], path: ["cancelled"] },
];

async function send(base, token, method, path, body, headers = {}) {
	const res = await fetch(base + path, {
		method,
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const data = await res.json().catch(() => ({}));
	if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(data)}`);
	return data;
}

async function placeDemoOrders(base, adminToken, customerToken) {
	const { orders } = await send(base, customerToken, "GET", "/orders?limit=1");
	if (orders.length > 0) return 0;
	let placed = 0;
	for (const [i, o] of demoOrders.entries()) {
		await send(base, customerToken, "PUT", "/cart/address", demoAddress);
		for (const line of o.lines) await send(base, customerToken, "POST", "/cart/items", line);
		const order = await send(base, customerToken, "POST", "/cart/place-order", { delivery_mode: i % 2 ? "express" : "standard" }, { "idempotency-key": `demo-order-${i}` });
		for (const status of o.path) {
			const body = { status, ...(status === "shipped" ? { tracking_number: `1ZDEMO${String(1000 + i)}` } : {}), ...(status === "cancelled" ? { reason: "demo: changed my mind" } : {}) };
			await send(base, adminToken, "POST", `/admin/orders/${order.order_id}/status`, body);
		}
		placed++;
	}
	return placed;
}

export async function loadDemo(base, adminToken, customerToken) {
	for (const p of products) {
		await send(base, adminToken, "PUT", `/admin/products/${p.id}`, { name: p.name, price: p.price, sizes: p.sizes, max_per_customer: p.max_per_customer ?? null });
	}
	for (const k of kits) {
		await send(base, adminToken, "PUT", `/admin/products/${k.id}`, { name: k.name, price: k.price, sizes: k.sizes, components: k.components });
	}
	let stocked = 0;
	for (const [i, w] of warehouses.entries()) {
		await send(base, adminToken, "PUT", `/admin/warehouses/${w.id}`, { name: w.name, postal_code: w.postal_code, region: w.region, country: w.country });
		const current = await send(base, adminToken, "GET", `/admin/warehouses/${w.id}/stock`);
		if (current.items.length === 0) {
			await send(base, adminToken, "PUT", `/admin/warehouses/${w.id}/stock`, { items: stockFor(i), reason: "demo data" });
			stocked++;
		}
	}
	// The same reference answers with the first transfer: loading again never moves more units.
	await send(base, adminToken, "POST", "/admin/transfers", demoTransfer).catch((err) => console.warn(`demo transfer skipped: ${err.message}`));
	const orders = customerToken ? await placeDemoOrders(base, adminToken, customerToken) : 0;
	return { products: products.length + kits.length, warehouses: warehouses.length, stocked, orders };
}
