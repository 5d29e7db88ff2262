/**
 * The Warehouse object's view of orders (its OrderLookup port), over the order
 * shards: an order whose holds may be committed is one that its shard (named
 * by its id) has and that is not cancelled. A reference naming a shard this
 * Worker lacks is no order: its holds are released.
 */
import type { Env } from "../env";
import type { OrderLookup } from "../stock/object/ports";
import { groupByOrderShard } from "./fanout";
import { orderStatuses } from "./queries";

export function d1OrderLookup(env: Env): OrderLookup {
	return {
		async decided(orderIds) {
			const groups = groupByOrderShard(env, orderIds, (id) => id);
			const found = await Promise.all(groups.map((g) => orderStatuses(g.db, g.items)));
			const live = new Set<string>();
			for (const statuses of found) for (const [id, status] of statuses) if (status !== "cancelled") live.add(id);
			return new Set(orderIds.filter((id) => live.has(id)));
		},
	};
}
