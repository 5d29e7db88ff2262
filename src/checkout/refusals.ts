/**
 * The decision's refusals, one table: what each guard's refusal is called in
 * the log and what place-order answers. Every refusal finds the holds of this
 * attempt and the batch wrote nothing; the holds are released before answering.
 */
import type { LimitExcess } from "../limits/rules";
import type { PlacementRefusal } from "../orders/placement";

export type Refused = { ok: false; reason: "cart_changed" } | { ok: false; reason: "cart_taken" } | { ok: false; reason: "purchase_limit"; excesses: LimitExcess[] };

interface RefusalRow {
	/** The log's `why` (and the rollback's). */
	why: string;
	/** Whether the answer lists the limits passed (read again: the batch only said one was). */
	readsLimits: boolean;
	result: (excesses: LimitExcess[]) => Refused;
}

export const REFUSALS: Record<PlacementRefusal, RefusalRow> = {
	// A line or the address changed after the cart was read.
	cart_changed: { why: "cart_changed", readsLimits: false, result: () => ({ ok: false, reason: "cart_changed" }) },
	// The cart has a live order already, or is no longer active.
	cart_taken: { why: "cart_already_ordered", readsLimits: false, result: () => ({ ok: false, reason: "cart_taken" }) },
	// Another order of this customer's was decided since the pre-check (or the limit was lowered).
	purchase_limit: { why: "purchase_limit", readsLimits: true, result: (excesses) => ({ ok: false, reason: "purchase_limit", excesses }) },
};
