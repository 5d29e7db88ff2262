/**
 * The catalog an order is priced from: the catalog snapshot (../catalog/snapshot.ts),
 * served only while younger than CATALOG_TTL_MS from the moment its D1 read
 * was sent, whichever layer it comes from, and dropped at once in the isolate
 * that made an admin write. Unlike product pages, checkout never takes the
 * stale copy the cache serves while D1 fails: no catalog, no order (503).
 * So an order is priced from catalog data at most CATALOG_TTL_MS old, and a
 * price change reaches every new checkout within that bound.
 */
import { catalogOf } from "../catalog/reads";
import { CATALOG_TTL_MS, type Catalog } from "../catalog/snapshot";
import type { Env } from "../env";
import { log } from "../shared/log";

/** The oldest catalog data an order may be priced from. */
export const PRICE_MAX_AGE_MS = CATALOG_TTL_MS;

export async function pricingCatalog(env: Env): Promise<Catalog | undefined> {
	const read = await catalogOf(env).read();
	if (read.ok && !read.stale) return read.catalog;
	log.error("checkout_catalog_unavailable", { error: read.ok ? "only a stale copy" : String(read.error) }, "[place-order]");
	return undefined;
}
