/**
 * Checkout shapes: place-order and summary inputs, the fulfillment check, and
 * the allocation and shortage views they answer with.
 */
import { z } from "zod";
import { Address, CartItem } from "../cart/schema";
import { Country, PostalCode, Region } from "../catalog/schema";
import { DeliveryMode, Tier } from "../orders/schema";
import { Id, Money, Quantity, Unit } from "../shared/schema";

export const PlaceOrderBody = z.strictObject({ delivery_mode: DeliveryMode.default("standard") });

export const IdempotencyKeyHeader = z.string().min(1).max(255);

export const SummaryQuery = z.object({ delivery_mode: DeliveryMode.default("standard") });

export const AllocationView = Unit.extend({ warehouse_id: Id, quantity: z.int(), tier: Tier });
export const ShortageView = Unit.extend({ requested: z.int(), available: z.int() });

export const FulfillmentCheckBody = z.strictObject({
	items: z.array(Unit.extend({ quantity: Quantity })).min(1).max(50),
	postal_code: PostalCode.optional(),
	region: Region.optional(),
	country: Country.optional().meta({ description: "Defaults to the warehouses' country when they all share one" }),
});

export const FulfillmentCheck = z
	.object({ available: z.boolean(), allocations: z.array(AllocationView), shortages: z.array(ShortageView) })
	.meta({ id: "FulfillmentCheck" });

export const DeliveryOptionView = z.object({ delivery_mode: DeliveryMode, delivery_cost: Money, estimated_delivery_date: z.string() });

export const Summary = z
	.object({
		items: z.array(CartItem),
		address: Address.nullable(),
		delivery_mode: DeliveryMode,
		delivery_tier: Tier,
		delivery_cost: Money,
		subtotal: Money,
		tax: Money,
		total: Money,
		currency: z.string(),
		estimated_delivery_date: z.string(),
		available: z.boolean(),
		allocations: z.array(AllocationView),
		shortages: z.array(ShortageView),
		delivery_options: z.array(DeliveryOptionView),
	})
	.meta({ id: "Summary" });
