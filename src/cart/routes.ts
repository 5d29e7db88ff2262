/**
 * Cart endpoints, on the customer's order shard. Every answer is the whole
 * cart, priced with the current catalog. Lines are validated against the catalog (404 unknown product, 400
 * unknown size); a line holds 1 to 100 units and a cart at most 50 lines.
 */
import { config } from "../config";
import type { Env } from "../env";
import { sellable } from "../catalog/kits";
import { inactiveProducts } from "../catalog/queries";
import { requireUnits } from "../catalog/units";
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { reply, route } from "../http/route";
import { lineLimits } from "../limits/queries";
import { customerDb } from "../orders/shards";
import { loadActiveCart } from "./load";
import { activeCart, addToLine, removeLine, setAddress, setLine, touchCart, type LineRefusal } from "./queries";
import { AddItemBody, Address, Cart, ItemParams, MAX_CART_LINES, MAX_LINE_QUANTITY, SetQuantityBody } from "./schema";
import { cartView } from "./view";

async function currentCart(env: Env, userId: string) {
	const { cart, lines } = await loadActiveCart(env, userId);
	return cartView(cart, lines, config(env).currency);
}

/** An inactive product is 404; a kit with an inactive component is out of stock for the whole line. */
async function requireBuyable(env: Env, line: { product_id: string; size: string; quantity: number }) {
	const product = (await requireUnits(env.DB, [line])).get(line.product_id)!;
	if (!product.active) fail("NOT_FOUND", `Product ${line.product_id} not found.`);
	if (!product.components) return;
	const off = await inactiveProducts(
		env.DB,
		product.components.map((c) => c.product_id),
	);
	if (!sellable(product, (id) => !off.has(id))) raise({ ok: false, reason: "out_of_stock", shortages: [{ product_id: line.product_id, size: line.size, requested: line.quantity, available: 0 }] });
}

/** The answer to a line change the database refused (the caps are re-checked there, atomically). */
function refuse(why: LineRefusal): never {
	if (typeof why === "object") raise({ ok: false, reason: "purchase_limit", excesses: why.excesses });
	switch (why) {
		case "cart_full":
			fail("VALIDATION_ERROR", `A cart holds at most ${MAX_CART_LINES} different items.`, [{ field: "product_id", message: "cart is full" }]);
		case "line_full":
			fail("VALIDATION_ERROR", `A cart line holds at most ${MAX_LINE_QUANTITY} units.`, [{ field: "quantity", message: `line total would exceed ${MAX_LINE_QUANTITY}` }]);
		case "cart_closed":
			fail("CONFLICT", "The cart was checked out while it was being changed; the next change goes to a new cart.");
	}
}

const cartResponse = { 200: { description: "The cart", schema: Cart } };

export const cartRoutes = [
	route({
		method: "get",
		path: "/cart",
		tag: "cart",
		summary: "The user's active cart (an empty one is made on first use)",
		access: "user",
		responses: cartResponse,
		handler: async ({ env, user }) => reply(await currentCart(env, user.id)),
	}),
	route({
		method: "post",
		path: "/cart/items",
		tag: "cart",
		summary: "Add units to the cart (added to an existing line)",
		access: "user",
		body: AddItemBody,
		responses: cartResponse,
		errors: ["NOT_FOUND", "VALIDATION_ERROR", "CONFLICT", "PURCHASE_LIMIT", "OUT_OF_STOCK"],
		handler: async ({ env, user, body }) => {
			await requireBuyable(env, body);
			const limits = await lineLimits(env.DB, body.product_id);
			const now = new Date().toISOString();
			const { db } = customerDb(env, user.id);
			const cart = await activeCart(db, user.id, now);
			const refused = await addToLine(db, cart.cart_id, body, { maxQuantity: MAX_LINE_QUANTITY, maxLines: MAX_CART_LINES }, now, limits);
			if (refused) refuse(refused);
			await touchCart(db, cart.cart_id, now);
			return reply(await currentCart(env, user.id));
		},
	}),
	route({
		method: "put",
		path: "/cart/items/:product_id/:size",
		tag: "cart",
		summary: "Set a line's quantity (0 removes it)",
		access: "user",
		params: ItemParams,
		body: SetQuantityBody,
		responses: cartResponse,
		errors: ["NOT_FOUND", "VALIDATION_ERROR", "CONFLICT", "PURCHASE_LIMIT", "OUT_OF_STOCK"],
		handler: async ({ env, user, params, body }) => {
			const now = new Date().toISOString();
			const { db } = customerDb(env, user.id);
			const cart = await activeCart(db, user.id, now);
			if (body.quantity > 0) await requireBuyable(env, { ...params, quantity: body.quantity });
			// Removing a line (quantity 0) counts against no limit.
			const limits = body.quantity > 0 ? await lineLimits(env.DB, params.product_id) : { caps: [], weights: [] };
			const refused = await setLine(db, cart.cart_id, { ...params, quantity: body.quantity }, MAX_CART_LINES, now, limits);
			if (refused) refuse(refused);
			await touchCart(db, cart.cart_id, now);
			return reply(await currentCart(env, user.id));
		},
	}),
	route({
		method: "delete",
		path: "/cart/items/:product_id/:size",
		tag: "cart",
		summary: "Remove a line (removing an absent line is not an error)",
		access: "user",
		params: ItemParams,
		responses: cartResponse,
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, user, params }) => {
			const { db } = customerDb(env, user.id);
			const cart = await activeCart(db, user.id, new Date().toISOString());
			await removeLine(db, cart.cart_id, params);
			await touchCart(db, cart.cart_id, new Date().toISOString());
			return reply(await currentCart(env, user.id));
		},
	}),
	route({
		method: "put",
		path: "/cart/address",
		tag: "cart",
		summary: "Set the delivery address",
		access: "user",
		body: Address,
		responses: cartResponse,
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, user, body }) => {
			const { db } = customerDb(env, user.id);
			const cart = await activeCart(db, user.id, new Date().toISOString());
			await setAddress(db, cart.cart_id, body, new Date().toISOString());
			return reply(await currentCart(env, user.id));
		},
	}),
];
