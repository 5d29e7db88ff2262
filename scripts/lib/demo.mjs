// Demo data: three warehouses in different regions, a few products with sizes
// and stock. Loading is idempotent: products and warehouses are upserted, and a
// warehouse's stock is only set while it has none (so orders placed during a
// demo are not undone by the next `npm start`).
export const warehouses = [
	{ id: "wh-east", name: "East Coast DC", postal_code: "10001", region: "NY", country: "US" },
	{ id: "wh-central", name: "Central DC", postal_code: "60601", region: "IL", country: "US" },
	{ id: "wh-west", name: "West Coast DC", postal_code: "94103", region: "CA", country: "US" },
];

export const products = [
	{ id: "tee-classic", name: "Classic Tee", price: 19.99, sizes: ["S", "M", "L", "XL"] },
	{ id: "hoodie-zip", name: "Zip Hoodie", price: 54.5, sizes: ["S", "M", "L"] },
	{ id: "sneaker-run", name: "Running Sneaker", price: 89.0, sizes: ["40", "41", "42", "43", "44"] },
	{ id: "cap-logo", name: "Logo Cap", price: 15.0, sizes: ["ONE"] },
];

/** on_hand per warehouse: a little of everything, with gaps so splits happen. */
export function stockFor(warehouseIndex) {
	const items = [];
	products.forEach((p, pi) => {
		p.sizes.forEach((size, si) => {
			const on_hand = (pi + si + warehouseIndex * 2) % 5 === 0 ? 0 : 5 + ((pi * 7 + si * 3 + warehouseIndex * 11) % 20);
			items.push({ product_id: p.id, size, on_hand });
		});
	});
	return items;
}

async function send(base, token, method, path, body) {
	const res = await fetch(base + path, {
		method,
		headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const data = await res.json().catch(() => ({}));
	if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(data)}`);
	return data;
}

export async function loadDemo(base, adminToken) {
	for (const p of products) {
		await send(base, adminToken, "PUT", `/admin/products/${p.id}`, { name: p.name, price: p.price, sizes: p.sizes });
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
	return { products: products.length, warehouses: warehouses.length, stocked };
}
