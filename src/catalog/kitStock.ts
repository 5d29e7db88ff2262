/**
 * A plain product becomes a kit only when no warehouse holds units of it: a
 * kit's stock is its components', so its own units (on hand, held for open
 * orders, or in transit) could never be sold, moved or counted again.
 */
import type { Env } from "../env";
import { fail } from "../http/errors";
import { warehouseStub } from "../stock/client";
import { strandedStock } from "./kits";
import { getProduct, listWarehouses } from "./queries";

/** 409 CONFLICT naming every warehouse, active or not, that holds units of `productId`, when it is to become a kit. */
export async function refuseStrandedStock(env: Env, productId: string): Promise<void> {
	const current = await getProduct(env.DB, productId);
	if (!current || current.components) return;
	const warehouses = await listWarehouses(env.DB);
	const views = await Promise.all(warehouses.map((w) => warehouseStub(env, w.warehouse_id).stockView()));
	const stranded = strandedStock(productId, new Map(warehouses.map((w, i) => [w.warehouse_id, views[i]!.items])));
	if (stranded.length === 0) return;
	fail(
		"CONFLICT",
		`${productId} has stock at ${stranded.map((s) => s.warehouse_id).join(", ")}; a kit has no stock of its own. Move or remove it first.`,
		stranded,
	);
}
