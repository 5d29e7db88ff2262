/**
 * Shapes of the transfer endpoints. A transfer moves units from one warehouse to
 * another: `in_transit` (left the source, incoming at the destination), then
 * `received` or `cancelled`.
 */
import { z } from "zod";
import { Id, Limit, Size } from "../shared/schema";
import { decodeCursor } from "../orders/cursor";
import { Reference } from "../stock/schema";

export const TRANSFER_STATUSES = ["in_transit", "received", "cancelled"] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

export const TransferLine = z.strictObject({ product_id: Id, size: Size, quantity: z.int().min(1).max(1_000_000) });

export const Transfer = z
	.strictObject({
		transfer_id: Id,
		from_warehouse_id: Id,
		to_warehouse_id: Id,
		items: z.array(TransferLine),
		status: z.enum(TRANSFER_STATUSES),
		reference: z.string().nullable(),
		note: z.string().nullable(),
		created_by: z.string(),
		created_at: z.string().meta({ description: "ISO 8601 time" }),
		updated_at: z.string().meta({ description: "ISO 8601 time" }),
	})
	.meta({ id: "Transfer" });
export type Transfer = z.infer<typeof Transfer>;

export const CreateTransferBody = Transfer.pick({ from_warehouse_id: true, to_warehouse_id: true })
	.extend({
		items: z.array(TransferLine).min(1).max(100),
		reference: Reference.optional(),
		note: z.string().trim().min(1).max(500).regex(/\S/, "must not be blank").optional(),
	})
	.refine((b) => b.from_warehouse_id !== b.to_warehouse_id, { message: "must differ from from_warehouse_id", path: ["to_warehouse_id"] });

export const TransferParams = z.object({ transfer_id: Id });

const Cursor = z.string().min(1).max(512).refine((c) => decodeCursor(c) !== null, "is not a cursor from a previous page");
export const TransferListQuery = z.object({ status: z.enum(TRANSFER_STATUSES).optional(), limit: Limit(100, 20), cursor: Cursor.optional() });

export const TransferPage = z.object({ transfers: z.array(Transfer), next_cursor: z.string().nullable() }).meta({ id: "TransferPage" });
