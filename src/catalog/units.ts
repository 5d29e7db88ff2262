/**
 * Checks that stock keeping units name a known product and one of its sizes,
 * before anything touches stock: unknown products are 404, unknown sizes 400.
 */
import { fail } from "../http/errors";
import type { Unit } from "../stock/types";
import { isKit, type Component } from "./kits";
import { getProducts, kitsContaining } from "./queries";
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

/** A kit has no stock of its own: setting, adjusting, deducting, restoring or moving one is 400. */
export function rejectKits(products: Map<string, Product>, units: Unit[], listField?: string): void {
	const kits = units.map((u, i) => ({ u, i })).filter(({ u }) => isKit(products.get(u.product_id)));
	if (kits.length === 0) return;
	fail(
		"VALIDATION_ERROR",
		`${kits[0]!.u.product_id} is a kit: its stock is its components' stock.`,
		kits.map(({ u, i }) => ({ field: listField ? `${listField}.${i}.product_id` : "product_id", message: `${u.product_id} is a kit; change its components' stock instead` })),
	);
}

/**
 * A kit's components must be existing plain products in one of their sizes, not
 * the kit itself; and a product that is a component of a kit cannot become a kit.
 */
export async function checkKit(db: D1Database, productId: string, components: Component[] | null): Promise<void> {
	if (!components) return;
	const problems: Array<{ field: string; message: string }> = [];
	const products = await getProducts(
		db,
		components.map((c) => c.product_id),
	);
	components.forEach((c, i) => {
		const p = products.get(c.product_id);
		if (c.product_id === productId) problems.push({ field: `components.${i}.product_id`, message: "a kit cannot contain itself" });
		else if (!p) problems.push({ field: `components.${i}.product_id`, message: `unknown product ${c.product_id}` });
		else if (isKit(p)) problems.push({ field: `components.${i}.product_id`, message: `${c.product_id} is a kit; a kit cannot contain another kit` });
		else if (!p.sizes.includes(c.size)) problems.push({ field: `components.${i}.size`, message: `${c.product_id} comes in ${p.sizes.join(", ")}` });
	});
	const containers = await kitsContaining(db, productId);
	if (containers.length > 0) problems.push({ field: "components", message: `${productId} is a component of ${containers.join(", ")}; a kit cannot contain another kit` });
	if (problems.length > 0) fail("VALIDATION_ERROR", `Invalid kit: ${problems[0]!.message}.`, problems);
}
