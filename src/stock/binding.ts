/**
 * The Warehouse Durable Object as wrangler binds it (class_name "Warehouse"):
 * the object (./object/Warehouse.ts), asking the order shards about orders and reading the
 * system clock.
 */
import type { Env } from "../env";
import { d1OrderLookup } from "../orders/lookup";
import { withD1Stats } from "../shared/d1Count";
import { WarehouseObject } from "./object/Warehouse";
import { systemClock } from "./object/ports";

export class Warehouse extends WarehouseObject {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env, { orders: d1OrderLookup(withD1Stats(env)), clock: systemClock });
	}
}
