/**
 * Admin transfer endpoints: create (units leave the source at once and show as
 * incoming at the destination), list, get, receive, cancel. The saga itself is
 * in saga.ts; this file only validates, checks warehouses and units, and maps.
 */
import type { Env } from "../env";
import { getWarehouse } from "../catalog/queries";
import { rejectKits, requireUnits } from "../catalog/units";
import { fail } from "../http/errors";
import { raise } from "../http/failures";
import { reply, route } from "../http/route";
import { decodeCursor, encodeCursor } from "../orders/cursor";
import { transferDeps } from "./ports";
import { getTransfer, listTransfers, transferView } from "./queries";
import { createTransfer, finishTransfer, type TransferResult } from "./saga";
import { CreateTransferBody, Transfer, TransferListQuery, TransferPage, TransferParams } from "./schema";

/** The ids of the inactive ones among `ids`; 404 when one does not exist. */
async function requireWarehouses(env: Env, ids: string[]): Promise<string[]> {
	const found = await Promise.all(ids.map((id) => getWarehouse(env.DB, id)));
	const missing = ids.filter((_, i) => !found[i]);
	if (missing.length > 0) fail("NOT_FOUND", `Warehouse ${missing.join(", ")} not found.`, missing.map((warehouse_id) => ({ warehouse_id })));
	return ids.filter((_, i) => !found[i]!.active);
}

function answer(result: TransferResult, transferId?: string) {
	if (result.ok) return result;
	if (result.reason === "not_found") fail("NOT_FOUND", `Transfer ${transferId} not found.`);
	raise(result);
}

const action = (kind: "receive" | "cancel") =>
	route({
		method: "post",
		path: `/admin/transfers/:transfer_id/${kind}`,
		tag: "transfers",
		summary:
			kind === "receive"
				? "Receive a transfer: its units are added to the destination's on_hand (repeating it changes nothing)"
				: "Cancel a transfer in transit: its units go back to the source",
		access: "admin",
		params: TransferParams,
		responses: { 200: { description: `The transfer, ${kind === "receive" ? "received" : "cancelled"}`, schema: Transfer } },
		errors: ["NOT_FOUND", "INVALID_TRANSITION", "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"],
		handler: async ({ env, params, user }) => {
			const r = answer(await finishTransfer(params.transfer_id, kind, transferDeps(env, user.id)), params.transfer_id);
			return reply(transferView(r.transfer));
		},
	});

export const transferRoutes = [
	route({
		method: "post",
		path: "/admin/transfers",
		tag: "transfers",
		summary: "Move units from one warehouse to another: they leave the source at once and show as incoming at the destination",
		access: "admin",
		body: CreateTransferBody,
		responses: {
			201: { description: "The transfer, in transit", schema: Transfer },
			200: { description: "A transfer with this reference and this body already exists: that one", schema: Transfer },
		},
		errors: ["INSUFFICIENT_STOCK", "NOT_FOUND", "CONFLICT", "IDEMPOTENCY_KEY_REUSED", "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"],
		handler: async ({ env, body, user }) => {
			const inactive = await requireWarehouses(env, [body.from_warehouse_id, body.to_warehouse_id]);
			rejectKits(await requireUnits(env.DB, body.items, "items"), body.items, "items");
			const r = answer(await createTransfer({ ...body, inactive }, transferDeps(env, user.id)));
			return reply(transferView(r.transfer), r.replayed ? 200 : 201);
		},
	}),
	route({
		method: "get",
		path: "/admin/transfers",
		tag: "transfers",
		summary: "Transfers, newest first",
		access: "admin",
		query: TransferListQuery,
		responses: { 200: { description: "A page of transfers; pass next_cursor as ?cursor= for the next", schema: TransferPage } },
		errors: ["VALIDATION_ERROR"],
		handler: async ({ env, query }) => {
			const c = query.cursor ? decodeCursor(query.cursor) : null;
			const page = await listTransfers(env.DB, query.status, c ? { created_at: c.created_at, id: c.order_id } : null, query.limit);
			return reply({
				transfers: page.transfers.map(transferView),
				next_cursor: page.next ? encodeCursor({ created_at: page.next.created_at, order_id: page.next.id }) : null,
			});
		},
	}),
	route({
		method: "get",
		path: "/admin/transfers/:transfer_id",
		tag: "transfers",
		summary: "One transfer",
		access: "admin",
		params: TransferParams,
		responses: { 200: { description: "The transfer", schema: Transfer } },
		errors: ["NOT_FOUND", "VALIDATION_ERROR"],
		handler: async ({ env, params }) => {
			const t = await getTransfer(env.DB, params.transfer_id);
			if (!t) fail("NOT_FOUND", `Transfer ${params.transfer_id} not found.`);
			return reply(transferView(t));
		},
	}),
	action("receive"),
	action("cancel"),
];
