/**
 * Cart shapes: the address, cart lines and the cart itself, and the request
 * bodies derived from them.
 */
import { z } from "zod";
import { Country, PostalCode, Region } from "../catalog/schema";
import { Id, Money, Quantity, Size } from "../shared/schema";

export const Address = z
	.strictObject({
		name: z.string().trim().min(1).max(200).regex(/\S/, "must not be blank"),
		line1: z.string().trim().min(1).max(200).regex(/\S/, "must not be blank"),
		line2: z.string().trim().max(200).optional(),
		city: z.string().trim().min(1).max(100).regex(/\S/, "must not be blank"),
		region: Region,
		postal_code: PostalCode,
		country: Country,
		phone: z.string().trim().regex(/^\+?[0-9()-][0-9 ()-]{3,18}[0-9()-]$/, "must be a phone number").optional(),
	})
	.meta({ id: "Address" });
export type Address = z.infer<typeof Address>;

export const CartItem = z.strictObject({
	product_id: Id,
	size: Size,
	name: z.string(),
	quantity: z.int(),
	unit_price: Money,
	line_total: Money,
});
export type CartItem = z.infer<typeof CartItem>;

export const Cart = z
	.object({
		cart_id: z.string(),
		status: z.enum(["active", "completed"]),
		items: z.array(CartItem),
		address: Address.nullable(),
		subtotal: Money,
		currency: z.string(),
	})
	.meta({ id: "Cart" });
export type Cart = z.infer<typeof Cart>;

export const AddItemBody = CartItem.pick({ product_id: true, size: true }).extend({ quantity: Quantity });
export const SetQuantityBody = z.strictObject({ quantity: z.int().min(0).max(100) });
export const ItemParams = CartItem.pick({ product_id: true, size: true });

/** Most lines one cart may hold: keeps a checkout's fan-out and D1 batch bounded. */
export const MAX_CART_LINES = 50;
/** Most units of one unit in a cart. */
export const MAX_LINE_QUANTITY = 100;
