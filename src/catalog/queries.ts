/**
 * D1 queries for products and warehouses: plain functions, inline SQL, bound
 * parameters, one mapper per table.
 */
import { toCents, toMajor } from "../shared/money";
import type { Product, ProductInput, Warehouse, WarehouseInput } from "./schema";

type Row = Record<string, unknown>;

export function toProduct(r: Row): Product {
	return {
		product_id: String(r.product_id),
		name: String(r.name),
		price: toMajor(Number(r.price_cents)),
		sizes: JSON.parse(String(r.sizes)) as string[],
		active: Number(r.active) === 1,
		max_per_customer: r.max_per_customer === null || r.max_per_customer === undefined ? null : Number(r.max_per_customer),
		components: r.components === null || r.components === undefined ? null : (JSON.parse(String(r.components)) as Product["components"]),
	};
}

export function toWarehouse(r: Row): Warehouse {
	return {
		warehouse_id: String(r.warehouse_id),
		name: String(r.name),
		postal_code: String(r.postal_code),
		region: String(r.region),
		country: String(r.country),
		active: Number(r.active) === 1,
	};
}

/** What product pages list and checkout prices from, in one D1 read (a batch: both tables seen at one moment): active products, active warehouses. */
export async function loadCatalog(db: D1Database): Promise<{ products: Product[]; warehouse_ids: string[]; warehouses: Warehouse[] }> {
	const [products, warehouses] = await db.batch<Row>([
		db.prepare(`SELECT * FROM products WHERE active = 1 ORDER BY product_id`),
		db.prepare(`SELECT * FROM warehouses WHERE active = 1 ORDER BY warehouse_id`),
	]);
	const active = warehouses!.results.map(toWarehouse);
	return { products: products!.results.map(toProduct), warehouse_ids: active.map((w) => w.warehouse_id), warehouses: active };
}

export async function listAllProducts(db: D1Database): Promise<Product[]> {
	const { results } = await db.prepare(`SELECT * FROM products ORDER BY product_id`).all<Row>();
	return results.map(toProduct);
}

export async function getProduct(db: D1Database, productId: string): Promise<Product | null> {
	const row = await db.prepare(`SELECT * FROM products WHERE product_id = ?`).bind(productId).first<Row>();
	return row ? toProduct(row) : null;
}

export async function getProducts(db: D1Database, productIds: string[]): Promise<Map<string, Product>> {
	const ids = [...new Set(productIds)];
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT * FROM products WHERE product_id IN (SELECT value FROM json_each(?))`)
		.bind(JSON.stringify(ids))
		.all<Row>();
	return new Map(results.map((r) => [String(r.product_id), toProduct(r)]));
}

export async function upsertProduct(db: D1Database, productId: string, input: ProductInput, now: string): Promise<Product> {
	const row = await db
		.prepare(
			`INSERT INTO products (product_id, name, price_cents, sizes, active, max_per_customer, components, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (product_id) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, sizes = excluded.sizes,
			   active = excluded.active, max_per_customer = excluded.max_per_customer, components = excluded.components, updated_at = excluded.updated_at
			 RETURNING *`,
		)
		.bind(productId, input.name, toCents(input.price)!, JSON.stringify(input.sizes), input.active ? 1 : 0, input.max_per_customer, input.components ? JSON.stringify(input.components) : null, now, now)
		.first<Row>();
	return toProduct(row!);
}

/** Which of these products are not active (or do not exist): a kit with one of them among its components cannot be sold. */
export async function inactiveProducts(db: D1Database, productIds: string[]): Promise<Set<string>> {
	const ids = [...new Set(productIds)];
	if (ids.length === 0) return new Set();
	const { results } = await db
		.prepare(`SELECT value AS product_id FROM json_each(?) WHERE NOT EXISTS (SELECT 1 FROM products WHERE product_id = value AND active = 1)`)
		.bind(JSON.stringify(ids))
		.all<{ product_id: string }>();
	return new Set(results.map((r) => String(r.product_id)));
}

/** Kits that list `productId` among their components (a product inside a kit cannot become a kit itself). */
export async function kitsContaining(db: D1Database, productId: string): Promise<string[]> {
	const { results } = await db
		.prepare(`SELECT p.product_id FROM products p, json_each(p.components) c WHERE p.components IS NOT NULL AND json_extract(c.value, '$.product_id') = ?`)
		.bind(productId)
		.all<{ product_id: string }>();
	return [...new Set(results.map((r) => r.product_id))];
}

export async function listWarehouses(db: D1Database, onlyActive = false): Promise<Warehouse[]> {
	const sql = onlyActive ? `SELECT * FROM warehouses WHERE active = 1 ORDER BY warehouse_id` : `SELECT * FROM warehouses ORDER BY warehouse_id`;
	const { results } = await db.prepare(sql).all<Row>();
	return results.map(toWarehouse);
}

export async function getWarehouse(db: D1Database, warehouseId: string): Promise<Warehouse | null> {
	const row = await db.prepare(`SELECT * FROM warehouses WHERE warehouse_id = ?`).bind(warehouseId).first<Row>();
	return row ? toWarehouse(row) : null;
}

export async function upsertWarehouse(db: D1Database, warehouseId: string, input: WarehouseInput, now: string): Promise<Warehouse> {
	const row = await db
		.prepare(
			`INSERT INTO warehouses (warehouse_id, name, postal_code, region, country, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (warehouse_id) DO UPDATE SET name = excluded.name, postal_code = excluded.postal_code, region = excluded.region,
			   country = excluded.country, active = excluded.active, updated_at = excluded.updated_at
			 RETURNING *`,
		)
		.bind(warehouseId, input.name, input.postal_code, input.region, input.country, input.active ? 1 : 0, now, now)
		.first<Row>();
	return toWarehouse(row!);
}
