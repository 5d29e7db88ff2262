/**
 * Shapes of the stock admin API and the deduct/restore endpoints.
 */
import { z } from "zod";
import { Id, Limit, Size, Unit } from "../shared/schema";
import { MAX_SHARDS } from "./shardNames";
import { ADJUST_REASONS } from "./types";

export const Reference = z
	.string()
	.regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1 to 128 characters of A-Z, a-z, 0-9, ., _, : or -")
	.meta({ description: "Idempotency reference: a repeated reference changes stock once" });

const StockQuantity = z.int().min(1).max(1_000_000);
const OnHand = z.int().min(0).max(1_000_000_000);

export const Level = Unit.extend({
	on_hand: z.int(),
	reserved: z.int(),
	available: z.int(),
}).meta({ id: "StockLevel" });

export const LowStockThreshold = z
	.int()
	.min(0)
	.max(1_000_000_000)
	.nullable()
	.meta({ description: "A stock.low event is published when on_hand falls below it; null: none" });

export const OpenHolds = z
	.object({
		held: z.int().meta({ description: "Checkout holds still open at this warehouse" }),
		next_expiry: z.string().nullable().meta({ description: "ISO 8601 time the earliest open hold lapses; null when none is open" }),
	})
	.meta({ id: "OpenHolds" });

export const SafetyStock = z
	.int()
	.min(0)
	.max(1_000_000_000)
	.meta({ description: "Units online orders never take (deduct, adjust and transfers may); available = max(0, on_hand - reserved - safety_stock)" });

export const StockItem = Level.extend({
	safety_stock: SafetyStock,
	incoming: z.int().meta({ description: "Units that transfers in transit will bring here (not available until received)" }),
	low_stock_threshold: LowStockThreshold,
	shards: z.int().meta({ description: "Objects holding this unit's stock here (1: the warehouse's own); levels are summed over them" }),
	pool: z.int().nullable().meta({ description: "For a sharded unit, units on hand in its pool (not yet granted to a shard); null otherwise" }),
}).meta({ id: "StockItem" });

export const WarehouseStock = z
	.object({ warehouse_id: Id, items: z.array(StockItem), holds: OpenHolds })
	.meta({ id: "WarehouseStock" });

export const SetStockBody = z.strictObject({
	items: z
		.array(
			Unit.extend({
				on_hand: OnHand,
				safety_stock: SafetyStock.optional(),
				low_stock_threshold: LowStockThreshold.optional(),
				shards: z
					.int()
					.min(1)
					.max(MAX_SHARDS)
					.optional()
					.meta({ description: "Objects that hold this unit's stock at this warehouse (default 1; more for a hot unit; back to 1 folds it)" }),
			}),
		)
		.min(1)
		.max(500),
	reason: z.string().trim().min(1).max(200).regex(/\S/, "must not be blank").optional(),
});

export const AdjustBody = Unit.extend({
	delta: z
		.int()
		.min(-1_000_000)
		.max(1_000_000)
		.refine((d) => d !== 0, "must not be 0")
		.meta({ not: { const: 0 } }),
	reason: z.enum(ADJUST_REASONS),
	note: z.string().max(500).optional(),
	reference: Reference.optional(),
});

export const LedgerQuery = z.object({
	after: z.coerce.number().int().min(0).default(0),
	limit: Limit(500, 100),
});

export const LedgerEntry = Unit.extend({
	seq: z.int(),
	at: z.string().meta({ description: "ISO 8601 time" }),
	on_hand_delta: z.int(),
	reserved_delta: z.int(),
	reason: z.string(),
	ref: z.string(),
	actor: z.string(),
	note: z.string().nullable(),
	shard: z.int().nullable().optional().meta({ description: "In a warehouse with sharded units: the shard that wrote the entry (null: the warehouse's own object)" }),
});

export const LedgerPage = z.object({ entries: z.array(LedgerEntry), next_after: z.int().nullable() }).meta({ id: "LedgerPage" });

export const MoveStockBody = z.strictObject({
	warehouse_id: Id,
	product_id: Id,
	size: Size,
	quantity: StockQuantity,
	reference: Reference.optional(),
});

export const MovedLevel = Level.extend({ warehouse_id: Id }).meta({ id: "WarehouseLevel" });
