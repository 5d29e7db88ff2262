/**
 * The catalog rows cart lines need (their products and, for kits, their
 * components), from a catalog snapshot (./snapshot.ts), which holds the
 * active products. A product the snapshot lacks (inactive, or made after the
 * snapshot was taken) is read from DB: at most two small reads, none in
 * steady state.
 */
import type { Product } from "./schema";
import { getProducts } from "./queries";
import type { Catalog } from "./snapshot";

export interface LineCatalog {
	/** Each product asked for that exists, and every component of those that are kits. */
	products: Map<string, Product>;
	/** Whether a product is active (unknown ones are not). */
	isActive: (productId: string) => boolean;
	/** Per-customer limits of those products that have one. */
	limits: Map<string, number>;
}

export async function catalogForLines(catalog: Pick<Catalog, "byId">, catalogDb: D1Database, productIds: readonly string[]): Promise<LineCatalog> {
	const products = new Map<string, Product>();
	const take = async (ids: readonly string[]) => {
		const missing: string[] = [];
		for (const id of new Set(ids)) {
			if (products.has(id)) continue;
			const p = catalog.byId.get(id);
			if (p) products.set(id, p);
			else missing.push(id);
		}
		if (missing.length > 0) for (const [id, p] of await getProducts(catalogDb, missing)) products.set(id, p);
	};
	await take(productIds);
	await take([...products.values()].flatMap((p) => (p.components ?? []).map((c) => c.product_id)));
	const limits = new Map<string, number>();
	for (const p of products.values()) if (p.max_per_customer !== null) limits.set(p.product_id, p.max_per_customer);
	return { products, isActive: (id) => products.get(id)?.active === true, limits };
}
