/**
 * Catalog endpoints: public product reads (with availability summed over the
 * active warehouses) and the admin upserts of products and warehouses.
 */
import { z } from "zod";
import { fail } from "../http/errors";
import { reply, route } from "../http/route";
import { availabilityAt, sumAvailable } from "../stock/client";
import { unitKey } from "../stock/types";
import { getProduct, inactiveProducts, listActiveProducts, listAllProducts, listWarehouses, upsertProduct, upsertWarehouse } from "./queries";
import { kitAvailable, sellable } from "./kits";
import { refuseStrandedStock } from "./kitStock";
import { checkKit } from "./units";
import { Product, ProductInput, ProductParams, ProductWithAvailability, Warehouse, WarehouseInput, WarehouseParams } from "./schema";

export const catalogRoutes = [
	route({
		method: "get",
		path: "/products",
		tag: "catalog",
		summary: "List active products",
		access: "public",
		responses: { 200: { description: "Active products", schema: z.object({ products: z.array(Product) }) } },
		handler: async ({ env }) => reply({ products: await listActiveProducts(env.DB) }),
	}),
	route({
		method: "get",
		path: "/products/:product_id",
		tag: "catalog",
		summary: "One product with its available units per size",
		access: "public",
		params: ProductParams,
		responses: { 200: { description: "The product", schema: ProductWithAvailability } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params }) => {
			const product = await getProduct(env.DB, params.product_id);
			if (!product || !product.active) fail("NOT_FOUND", `Product ${params.product_id} not found.`);
			const warehouses = await listWarehouses(env.DB, true);
			const ids = warehouses.map((w) => w.warehouse_id);
			if (product.components) {
				// A kit with a component off sale is not sold at all.
				const off = await inactiveProducts(
					env.DB,
					product.components.map((c) => c.product_id),
				);
				if (!sellable(product, (id) => !off.has(id))) return reply({ ...product, availability: { [product.sizes[0]!]: 0 } });
				// A kit: whole kits per warehouse (its components must ship together to count), summed.
				const perWarehouse = await availabilityAt(env, ids, product.components);
				let kits = 0;
				for (const levels of perWarehouse.values()) {
					const byUnit = new Map(levels.map((l) => [unitKey(l), l.available]));
					kits += kitAvailable(product.components, (u) => byUnit.get(unitKey(u)) ?? 0);
				}
				return reply({ ...product, availability: { [product.sizes[0]!]: kits } });
			}
			const units = product.sizes.map((size) => ({ product_id: product.product_id, size }));
			const totals = sumAvailable(await availabilityAt(env, ids, units));
			const availability = Object.fromEntries(units.map((u) => [u.size, totals.get(unitKey(u)) ?? 0]));
			return reply({ ...product, availability });
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
			return reply(await upsertProduct(env.DB, params.product_id, body, new Date().toISOString()));
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
		handler: async ({ env, params, body }) => reply(await upsertWarehouse(env.DB, params.warehouse_id, body, new Date().toISOString())),
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
