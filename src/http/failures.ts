/**
 * The one mapping from domain failures (the `ok: false` outcomes of Warehouse
 * methods and of the checkout and order modules) to the contract's HTTP errors.
 * The switch is exhaustive: a new failure reason does not compile until it has
 * a status and a code here.
 */
import type { LimitExcess } from "../limits/rules";
import type { BelowReservedFailure, Insufficient, Shortage } from "../stock/types";
import { ApiError } from "./errors";

export type DomainFailure =
	| Insufficient
	| BelowReservedFailure
	| { ok: false; reason: "unknown_hold" }
	| { ok: false; reason: "hold_released" }
	| { ok: false; reason: "hold_committed" }
	| { ok: false; reason: "hold_closed"; state: string }
	| { ok: false; reason: "out_of_stock"; shortages: Shortage[] }
	| { ok: false; reason: "cart_empty" }
	| { ok: false; reason: "address_required" }
	| { ok: false; reason: "cart_taken" }
	| { ok: false; reason: "cart_changed" }
	| { ok: false; reason: "purchase_limit"; excesses: LimitExcess[] }
	| { ok: false; reason: "unavailable"; step: string }
	| { ok: false; reason: "not_found" }
	| { ok: false; reason: "invalid_transition"; from: string; event: string }
	| { ok: false; reason: "reference_reused" }
	| { ok: false; reason: "warehouse_inactive"; warehouse_ids: string[] };

export function toApiError(failure: DomainFailure): ApiError {
	switch (failure.reason) {
		case "insufficient_stock":
			return new ApiError("INSUFFICIENT_STOCK", "Not enough stock available.", failure.shortages);
		case "below_reserved":
			return new ApiError("INSUFFICIENT_STOCK", "On-hand stock cannot fall below what is reserved for open orders.", failure.conflicts);
		case "unknown_hold":
		case "hold_released":
		case "hold_committed":
		case "hold_closed":
			return new ApiError("CONFLICT", `The reservation is in the wrong state (${failure.reason}).`);
		case "out_of_stock":
			return new ApiError("OUT_OF_STOCK", "Some items are out of stock.", failure.shortages);
		case "purchase_limit":
			return new ApiError(
				"PURCHASE_LIMIT",
				failure.excesses.length === 1
					? `At most ${failure.excesses[0]!.limit} units of ${failure.excesses[0]!.product_id} per customer (orders and cart together).`
					: "Some products are limited per customer (orders and cart together).",
				failure.excesses,
			);
		case "cart_empty":
			return new ApiError("CART_EMPTY", "The cart is empty.");
		case "address_required":
			return new ApiError("ADDRESS_REQUIRED", "Set a delivery address before placing the order.");
		case "cart_taken":
			return new ApiError("CONFLICT", "This cart has already been ordered.");
		case "cart_changed":
			return new ApiError("CART_CHANGED", "The cart changed while the order was being placed; nothing was ordered or held. Review the cart and place the order again.");
		case "unavailable":
			return new ApiError("SERVICE_UNAVAILABLE", "Stock service unavailable; nothing was charged or held. Please retry.");
		case "not_found":
			return new ApiError("NOT_FOUND", "Order not found.");
		case "invalid_transition":
			return new ApiError("INVALID_TRANSITION", `An order that is ${failure.from} cannot go to ${failure.event}.`, { from: failure.from, to: failure.event });
		case "reference_reused":
			return new ApiError("IDEMPOTENCY_KEY_REUSED", "This reference was used for a different request.");
		case "warehouse_inactive":
			return new ApiError(
				"CONFLICT",
				`Warehouse ${failure.warehouse_ids.join(", ")} is inactive.`,
				failure.warehouse_ids.map((warehouse_id) => ({ warehouse_id })),
			);
		default: {
			const unreachable: never = failure;
			throw new Error(`unmapped failure ${JSON.stringify(unreachable)}`);
		}
	}
}

export function raise(failure: DomainFailure): never {
	throw toApiError(failure);
}
