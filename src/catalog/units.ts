/**
 * Checks that stock keeping units name a known product and one of its sizes,
 * before anything touches stock: unknown products are 404, unknown sizes 400.
 */
import { fail } from "../http/errors";
import type { Unit } from "../stock/types";
import { getProducts } from "./queries";
import type { Product } from "./schema";

/** `listField` names the body array the units came from ("items"), for error details; omit for a single unit. */
export async function requireUnits(db: D1Database, units: Unit[], listField?: string): Promise<Map<string, Product>> {
	const products = await getProducts(
		db,
		units.map((u) => u.product_id),
	);
	const missing = [...new Set(units.filter((u) => !products.has(u.product_id)).map((u) => u.product_id))];
	if (missing.length > 0) {
		fail("NOT_FOUND", `Unknown product: ${missing.join(", ")}.`, missing.map((product_id) => ({ product_id })));
	}
	const badSizes = units
		.map((u, i) => ({ u, i }))
		.filter(({ u }) => !products.get(u.product_id)!.sizes.includes(u.size));
	if (badSizes.length > 0) {
		fail(
			"VALIDATION_ERROR",
			`Unknown size for product ${badSizes[0]!.u.product_id}: ${badSizes[0]!.u.size}.`,
			badSizes.map(({ u, i }) => ({
				field: listField ? `${listField}.${i}.size` : "size",
				message: `${u.product_id} comes in ${products.get(u.product_id)!.sizes.join(", ")}`,
			})),
		);
	}
	return products;
}
