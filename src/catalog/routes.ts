/**
 * Catalog endpoints: public product reads (with availability summed over the
 * active warehouses), served from the catalog cache and the availability cache
 * without D1 in steady state (reads.ts), and the admin upserts of products and
 * warehouses, which drop this location's catalog copies.
 */
import { z } from "zod";
import { fail } from "../http/errors";
import { reply, route } from "../http/route";
import { availabilityAt } from "../stock/client";
import { availabilityOf, availableByWarehouse, unitsOf, unitsOfAll } from "./availability";
import { listAllProducts, listWarehouses, upsertProduct, upsertWarehouse } from "./queries";
import { refuseStrandedStock } from "./kitStock";
import { dropCatalog, readCatalog } from "./reads";
import { checkKit } from "./units";
import { Product, ProductInput, ProductList, ProductParams, ProductWithAvailability, Warehouse, WarehouseInput, WarehouseParams } from "./schema";

export const catalogRoutes = [
	route({
		method: "get",
		path: "/products",
		tag: "catalog",
		summary: "List active products with their available units per size",
		access: "public",
		responses: { 200: { description: "Active products", schema: ProductList } },
		errors: ["SERVICE_UNAVAILABLE"],
		handler: async ({ env }) => {
			const catalog = await readCatalog(env);
			const available = availableByWarehouse(await availabilityAt(env, catalog.warehouse_ids, unitsOfAll(catalog.products)));
			const isActive = (id: string) => catalog.byId.has(id);
			return reply({ products: catalog.products.map((p) => ({ ...p, availability: availabilityOf(p, available, isActive) })) });
		},
	}),
	route({
		method: "get",
		path: "/products/:product_id",
		tag: "catalog",
		summary: "One product with its available units per size",
		access: "public",
		params: ProductParams,
		responses: { 200: { description: "The product", schema: ProductWithAvailability } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"],
		handler: async ({ env, params }) => {
			const catalog = await readCatalog(env);
			const product = catalog.byId.get(params.product_id);
			if (!product) fail("NOT_FOUND", `Product ${params.product_id} not found.`);
			const available = availableByWarehouse(await availabilityAt(env, catalog.warehouse_ids, unitsOf(product)));
			return reply({ ...product, availability: availabilityOf(product, available, (id) => catalog.byId.has(id)) });
		},
	}),
	route({
		method: "get",
		path: "/admin/products",
		tag: "admin",
		summary: "List every product, active or not (the console's catalog)",
		access: "admin",
		responses: { 200: { description: "Products", schema: z.object({ products: z.array(Product) }) } },
		errors: ["UNAUTHORIZED", "FORBIDDEN"],
		handler: async ({ env }) => reply({ products: await listAllProducts(env.DB) }),
	}),
	route({
		method: "put",
		path: "/admin/products/:product_id",
		tag: "admin",
		summary: "Create or replace a product",
		access: "admin",
		params: ProductParams,
		body: ProductInput,
		responses: { 200: { description: "The stored product", schema: Product } },
		errors: ["VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN", "CONFLICT"],
		handler: async ({ env, params, body }) => {
			await checkKit(env.DB, params.product_id, body.components);
			if (body.components) await refuseStrandedStock(env, params.product_id);
			// Dropped whether the write's answer came back or not: a lost answer may hide a landed write.
			try {
				return reply(await upsertProduct(env.DB, params.product_id, body, new Date().toISOString()));
			} finally {
				await dropCatalog(env);
			}
		},
	}),
	route({
		method: "put",
		path: "/admin/warehouses/:warehouse_id",
		tag: "admin",
		summary: "Create or replace a warehouse",
		access: "admin",
		params: WarehouseParams,
		body: WarehouseInput,
		responses: { 200: { description: "The stored warehouse", schema: Warehouse } },
		errors: ["VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN"],
		handler: async ({ env, params, body }) => {
			// Activation changes which warehouses product pages sum over (dropped as for products).
			try {
				return reply(await upsertWarehouse(env.DB, params.warehouse_id, body, new Date().toISOString()));
			} finally {
				await dropCatalog(env);
			}
		},
	}),
	route({
		method: "get",
		path: "/admin/warehouses",
		tag: "admin",
		summary: "List every warehouse, active or not",
		access: "admin",
		responses: { 200: { description: "Warehouses", schema: z.object({ warehouses: z.array(Warehouse) }) } },
		errors: ["UNAUTHORIZED", "FORBIDDEN"],
		handler: async ({ env }) => reply({ warehouses: await listWarehouses(env.DB) }),
	}),
];
