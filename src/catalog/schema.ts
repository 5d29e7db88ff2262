/**
 * Catalog shapes: products and the warehouse registry. Request bodies derive
 * from the response shapes, so the two cannot drift.
 */
import { z } from "zod";
import { Id, Money, Size } from "../shared/schema";

export const Country = z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166 alpha-2 code such as US");
// The patterns below hold for the trimmed value and leave no room for blank ends, so the document states the same rule.
export const PostalCode = z
	.string()
	.trim()
	.min(1)
	.max(16)
	.regex(/^[A-Za-z0-9-]([A-Za-z0-9 -]*[A-Za-z0-9-])?$/, "must be letters, digits, spaces or -, not starting or ending with a space");
export const Region = z.string().trim().min(1).max(64).regex(/\S/, "must not be blank");

export const Component = z
	.strictObject({ product_id: Id, size: Size, quantity: z.int().min(1).max(100) })
	.meta({ id: "KitComponent", description: "Units of another product in one kit" });

const Components = z
	.array(Component)
	.min(1)
	.max(20)
	.refine((cs) => new Set(cs.map((c) => JSON.stringify([c.product_id, c.size]))).size === cs.length, "list each component unit once");

export const Product = z
	.strictObject({
		product_id: Id,
		name: z.string().trim().min(1).max(200).regex(/\S/, "must not be blank"),
		price: Money,
		sizes: z
			.array(Size)
			.min(1)
			.max(50)
			.refine((s) => new Set(s).size === s.length, "sizes must be unique")
			.meta({ uniqueItems: true }),
		active: z.boolean(),
		max_per_customer: z
			.int()
			.min(1)
			.max(1_000_000)
			.nullable()
			.meta({ description: "Most units of this product (all sizes together) one customer may hold in live orders plus the cart; null: no limit" }),
		components: Components.nullable().meta({
			description: "A kit (bundle): the units one kit is made of. Its availability is the minimum over its components of floor(available / quantity); null: a plain product",
		}),
	})
	.meta({ id: "Product" });
export type Product = z.infer<typeof Product>;

export const ProductInput = Product.pick({ name: true, price: true, sizes: true })
	.extend({
		active: z.boolean().default(true),
		// A PUT replaces the product: leaving the limit or the components out removes them.
		max_per_customer: Product.shape.max_per_customer.default(null),
		components: Components.nullable().default(null),
	})
	.refine((p) => !p.components || p.sizes.length === 1, { message: "a kit has exactly one size", path: ["sizes"] });
export type ProductInput = z.infer<typeof ProductInput>;

export const ProductWithAvailability = Product.extend({
	availability: z.record(z.string(), z.int()).meta({ description: "Available units per size, summed over active warehouses" }),
}).meta({ id: "ProductWithAvailability" });

export const ProductList = z.object({ products: z.array(ProductWithAvailability) });

export const ProductParams = z.object({ product_id: Id });

export const Warehouse = z
	.strictObject({
		warehouse_id: Id,
		name: z.string().trim().min(1).max(200).regex(/\S/, "must not be blank"),
		postal_code: PostalCode,
		region: Region,
		country: Country,
		active: z.boolean(),
	})
	.meta({ id: "Warehouse" });
export type Warehouse = z.infer<typeof Warehouse>;

export const WarehouseInput = Warehouse.omit({ warehouse_id: true, active: true }).extend({ active: z.boolean().default(true) });
export type WarehouseInput = z.infer<typeof WarehouseInput>;

export const WarehouseParams = z.object({ warehouse_id: Id });
