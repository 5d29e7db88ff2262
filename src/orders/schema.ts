/**
 * Order shapes as the API shows them. Money is stored in cents and shown in
 * major units; `products` carries each line's allocation to warehouses.
 */
import { z } from "zod";
import { Address } from "../cart/schema";
import { Id, Money, Size } from "../shared/schema";

export const ORDER_STATUSES = ["pending", "paid", "processing", "shipped", "delivered", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** refund_pending: money is being given back and the provider has not confirmed it yet; refunded: it has. */
export const PAYMENT_STATUSES = ["pending", "paid", "failed", "refund_pending", "refunded"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const DeliveryMode = z.enum(["standard", "express"]);
export const Tier = z.enum(["tier_1", "tier_2", "tier_3"]);

export const OrderProduct = z.object({
	product_id: Id,
	size: Size,
	name: z.string(),
	quantity: z.int(),
	unit_price: Money,
	allocations: z.array(z.object({ warehouse_id: Id, quantity: z.int() })).meta({ description: "Per warehouse; for a kit, the whole kits whose every component ships from there" }),
	components: z
		.array(z.object({ product_id: Id, size: Size, quantity: z.int(), allocations: z.array(z.object({ warehouse_id: Id, quantity: z.int() })) }))
		.optional()
		.meta({ description: "Kit lines only: each component's units for this line and where they come from" }),
});
export type OrderProduct = z.infer<typeof OrderProduct>;

export const Order = z
	.object({
		order_id: z.string(),
		user_id: z.string(),
		status: z.enum(ORDER_STATUSES),
		payment_status: z.enum(PAYMENT_STATUSES),
		products: z.array(OrderProduct),
		address: Address,
		delivery_mode: DeliveryMode,
		delivery_tier: Tier,
		subtotal: Money,
		delivery_cost: Money,
		tax: Money,
		total: Money,
		currency: z.string(),
		estimated_delivery_date: z.string().meta({ description: "YYYY-MM-DD" }),
		tracking_number: z.string().nullable(),
		created_at: z.string(),
		updated_at: z.string(),
	})
	.meta({ id: "Order" });
export type Order = z.infer<typeof Order>;

export const HistoryEntry = z.object({
	old_status: z.string().nullable(),
	new_status: z.string(),
	changed_by: z.string(),
	reason: z.string().nullable(),
	created_at: z.string(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const OrderWithHistory = Order.extend({ history: z.array(HistoryEntry) }).meta({ id: "OrderWithHistory" });
