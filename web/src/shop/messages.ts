/**
 * Checkout failures in words a shopper understands. The API's own sentence is
 * kept for everything else; these codes carry details the shop can name.
 */
import type { ApiError } from "../api/error";
import type { components } from "../api/schema";

/** An OUT_OF_STOCK detail: the contract gives it the shape of the summary's shortages. */
export type Shortage = components["schemas"]["Summary"]["shortages"][number];

/**
 * A PURCHASE_LIMIT detail, as the contract (API.md) states it: the OpenAPI
 * document types every error's `details` as unknown, so there is no generated
 * type to use, and each entry is checked before it is read.
 */
export interface LimitHit {
	product_id: string;
	limit: number;
	already: number;
	requested: number;
}

/** The `typeof` of each field of T (its fields are strings and numbers). */
type Shape<T> = { [K in keyof T]-?: T[K] extends string ? "string" : "number" };

/** The entries of `details` that have every field of `shape` with its type; none when it is not a list. */
function detailsOf<T>(details: unknown, shape: Shape<T>): T[] {
	if (!Array.isArray(details)) return [];
	const fields = Object.entries(shape);
	return details.filter((d): d is T => typeof d === "object" && d !== null && fields.every(([name, type]) => typeof (d as Record<string, unknown>)[name] === type));
}

export function shortagesOf(err: ApiError): Shortage[] {
	return err.code === "OUT_OF_STOCK" ? detailsOf<Shortage>(err.details, { product_id: "string", size: "string", requested: "number", available: "number" }) : [];
}

export function limitsOf(err: ApiError): LimitHit[] {
	return err.code === "PURCHASE_LIMIT" ? detailsOf<LimitHit>(err.details, { product_id: "string", limit: "number", already: "number", requested: "number" }) : [];
}

export function shortageText(s: Shortage): string {
	return s.available === 0 ? `Sold out: you asked for ${s.requested}, none left.` : `Only ${s.available} left: you asked for ${s.requested}.`;
}

/** One sentence for the whole failure; `name` turns a product id into its name. */
export function explain(err: ApiError, name: (productId: string) => string): string {
	switch (err.code) {
		case "OUT_OF_STOCK":
			return "Some items are no longer available in the quantity you asked for (see your cart). Lower the quantity or remove them, then place the order again.";
		case "PURCHASE_LIMIT":
			return limitsOf(err)
				.map((l) => {
					const left = Math.max(0, l.limit - l.already);
					const already = l.already > 0 ? ` You already have ${l.already} in open orders, so you can add ${left} more.` : "";
					return `${name(l.product_id)} is limited to ${l.limit} per customer.${already}`;
				})
				.join(" ") || err.message;
		case "CART_CHANGED":
			return "Your cart changed while the order was being placed (perhaps in another tab). Nothing was ordered: check your cart and place the order again.";
		case "CONFLICT":
			return "This order is still being placed. Wait a moment, then check your orders.";
		case "UNAUTHORIZED":
			return "Your sign-in has expired. Sign in again to continue.";
		default:
			return err.message;
	}
}
