/**
 * Order endpoints: a customer's own orders (another user's order is a 404,
 * never a 403), cancellation with stock restored, and the admin list and
 * status transitions.
 */
import { z } from "zod";
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { reply, route } from "../http/route";
import { Id, Limit } from "../shared/schema";
import { listAllOrders, listCustomerOrders } from "./lists";
import { decodeCursor, encodeCursor } from "./cursor";
import { getHistory, getOrder, orderView, type Page } from "./queries";
import { ORDER_STATUSES, Order, OrderWithHistory } from "./schema";
import { changeOrder } from "./service";
import { orderDb } from "./shards";

const OrderParams = z.object({ order_id: Id });
const Cursor = z.string().min(1).max(512).refine((c) => decodeCursor(c) !== null, "is not a cursor from a previous page");
const ListQuery = z.object({ limit: Limit(100, 20), cursor: Cursor.optional() });
const AdminListQuery = ListQuery.extend({ status: z.enum(ORDER_STATUSES).optional() });
const OrderPage = z.object({ orders: z.array(Order), next_cursor: z.string().nullable() }).meta({ id: "OrderPage" });
const CancelBody = z.strictObject({ reason: z.string().trim().min(1).max(500).regex(/\S/, "must not be blank").optional() });
const StatusBody = z
	.strictObject({
		status: z.enum(ORDER_STATUSES),
		reason: z.string().trim().min(1).max(500).regex(/\S/, "must not be blank").optional(),
		tracking_number: z
			.string()
			.trim()
			.regex(/^[A-Za-z0-9_-][A-Za-z0-9 _-]{1,62}[A-Za-z0-9_-]$/, "must be 3 to 64 letters, digits, spaces, _ or -, not starting or ending with a space")
			.optional(),
	})
	.refine((b) => b.status !== "shipped" || b.tracking_number !== undefined, { message: "is required to mark an order shipped", path: ["tracking_number"] });

function page(p: Page) {
	return { orders: p.orders.map(orderView), next_cursor: p.next ? encodeCursor(p.next) : null };
}

export const orderRoutes = [
	route({
		method: "get",
		path: "/orders",
		tag: "orders",
		summary: "The user's orders, newest first",
		access: "user",
		query: ListQuery,
		responses: { 200: { description: "A page of orders; pass next_cursor as ?cursor= for the next", schema: OrderPage } },
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, user, query }) =>
			reply(page(await listCustomerOrders(env, user.id, query.cursor ? decodeCursor(query.cursor) : null, query.limit))),
	}),
	route({
		method: "get",
		path: "/orders/:order_id",
		tag: "orders",
		summary: "One of the user's orders with its status history",
		access: "user",
		params: OrderParams,
		responses: { 200: { description: "The order", schema: OrderWithHistory } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, user, params }) => {
			// The id names the order's shard; one naming a shard this Worker lacks is no order of ours.
			const db = orderDb(env, params.order_id);
			const order = db ? await getOrder(db, params.order_id) : null;
			// Admins may read any order; customers only their own, and others' ids do not leak.
			if (!db || !order || (order.user_id !== user.id && !user.admin)) fail("NOT_FOUND", "Order not found.");
			return reply({ ...orderView(order), history: await getHistory(db, order.order_id) });
		},
	}),
	route({
		method: "post",
		path: "/orders/:order_id/cancel",
		tag: "orders",
		summary: "Cancel an order (pending, paid or processing) and restore its stock; repeating it is harmless",
		access: "user",
		params: OrderParams,
		body: CancelBody,
		responses: { 200: { description: "The cancelled order", schema: Order } },
		errors: ["NOT_FOUND", "INVALID_TRANSITION", "VALIDATION_ERROR"],
		handler: async ({ env, user, params, body }) => {
			const result = await changeOrder(
				env,
				params.order_id,
				{ type: "cancel" },
				{ by: user.id, reason: body.reason ?? "cancelled by customer" },
				{ ownerId: user.id, idempotentCancel: true },
			);
			if (!result.ok) raise(result);
			return reply(orderView(result.order));
		},
	}),
	route({
		method: "get",
		path: "/admin/orders",
		tag: "admin",
		summary: "All orders, newest first, optionally by status",
		access: "admin",
		query: AdminListQuery,
		responses: { 200: { description: "A page of orders", schema: OrderPage } },
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, query }) =>
			reply(page(await listAllOrders(env, { status: query.status }, query.cursor ? decodeCursor(query.cursor) : null, query.limit))),
	}),
	route({
		method: "post",
		path: "/admin/orders/:order_id/status",
		tag: "admin",
		summary: "Move an order to a new status (shipped needs a tracking number; cancelled restores stock)",
		access: "admin",
		params: OrderParams,
		body: StatusBody,
		responses: { 200: { description: "The order after the change", schema: Order } },
		errors: ["NOT_FOUND", "INVALID_TRANSITION", "VALIDATION_ERROR"],
		handler: async ({ env, user, params, body }) => {
			const result = await changeOrder(
				env,
				params.order_id,
				{ type: "set_status", to: body.status },
				{ by: user.id, reason: body.reason ?? null, tracking_number: body.status === "shipped" ? body.tracking_number : undefined },
			);
			if (!result.ok) raise(result);
			return reply(orderView(result.order));
		},
	}),
];
