/**
 * The Warehouse object's view of orders (its OrderLookup port), over D1: an
 * order whose holds may be committed is one that D1 has and that is not cancelled.
 */
import type { OrderLookup } from "../stock/object/ports";
import { orderStatuses } from "./queries";

export function d1OrderLookup(db: D1Database): OrderLookup {
	return {
		async decided(orderIds) {
			const statuses = await orderStatuses(db, orderIds);
			return new Set(orderIds.filter((id) => {
				const status = statuses.get(id);
				return status !== undefined && status !== "cancelled";
			}));
		},
	};
}
