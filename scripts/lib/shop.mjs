// Opens a shop through the admin API: products, then each warehouse with its
// stock levels. Shared by the bench and the load tests, so both set up their
// shops the way a shop's own back office would.
import { pool } from "./pool.mjs";

/**
 * `call(method, path, body)` sends one admin request and throws on anything
 * but success. Products go out `concurrency` at a time; warehouses one by one.
 */
export async function openShop(call, { products, warehouses, reason }, { concurrency = 1 } = {}) {
	await pool(products, concurrency, (p) => call("PUT", `/admin/products/${p.id}`, productBody(p)));
	for (const w of warehouses) {
		await call("PUT", `/admin/warehouses/${w.id}`, { name: w.name, postal_code: w.postal_code, region: w.region, country: w.country, active: w.active ?? true });
		if (w.stock?.length) await call("PUT", `/admin/warehouses/${w.id}/stock`, { items: w.stock, reason });
	}
}

function productBody(p) {
	return { name: p.name, price: p.price, sizes: p.sizes, ...(p.max_per_customer ? { max_per_customer: p.max_per_customer } : {}) };
}
