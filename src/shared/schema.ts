/**
 * Zod building blocks shared by every feature: ids, sizes, quantities, money,
 * pagination, and the contract's error body.
 */
import { z } from "zod";
import { toCents } from "./money";

/** Ids in paths and bodies: 1 to 64 characters of [A-Za-z0-9_-]. */
export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -");

/** A size label ("M", "42", "10.5"): like an id, a dot allowed, at most 32 characters. */
export const Size = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, "must be 1 to 32 characters of A-Z, a-z, 0-9, ., _ or -");

export const Quantity = z.int().min(1).max(100);

/** The largest amount toCents() accepts: its cents stay exact integers in a double. */
export const MAX_MONEY = 10_000_000_000;

export const Money = z
	.number()
	.nonnegative()
	.max(MAX_MONEY)
	.refine((v) => v > MAX_MONEY || toCents(v) !== undefined, "must have at most two decimals")
	.meta({ description: "Amount in major units, at most two decimals", example: 25.98 });

export const Unit = z.strictObject({ product_id: Id, size: Size });

export const ErrorBody = z
	.object({
		error: z.string().meta({ description: "One human sentence" }),
		code: z.string().meta({ example: "VALIDATION_ERROR" }),
		details: z.unknown().optional(),
	})
	.meta({ id: "Error" });

/** `?limit=` as a query string value. */
export const Limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
