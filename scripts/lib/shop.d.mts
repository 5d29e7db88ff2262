// The shop's shapes are the API's own request bodies (web/src/api/schema.d.ts, generated from /openapi.json).
import type { operations } from "../../web/src/api/schema.d.ts";

type Body<Op extends keyof operations> = operations[Op] extends { requestBody: { content: { "application/json": infer B } } } ? B : never;

/** A product as PUT /admin/products/{id} takes it, with its id. */
export type ShopProduct = { id: string } & Pick<Body<"putAdminProductsProductId">, "name" | "price" | "sizes" | "max_per_customer">;

/** A warehouse as PUT /admin/warehouses/{id} takes it, with its id and the levels PUT .../stock loads. */
export type ShopWarehouse = { id: string; stock?: Body<"putAdminWarehousesWarehouseIdStock">["items"] } & Body<"putAdminWarehousesWarehouseId">;

export function openShop(
	call: (method: string, path: string, body: unknown) => Promise<unknown>,
	shop: { products: readonly ShopProduct[]; warehouses: readonly ShopWarehouse[]; reason: string },
	opts?: { concurrency?: number },
): Promise<void>;
