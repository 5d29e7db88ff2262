/**
 * A transfer's steps at its two warehouses (the saga in src/transfers/ drives
 * them; its D1 record decides). Each is idempotent by transfer id; a
 * cancellation at either end is a tombstone, so a late step never moves units.
 */
import { sumDemand } from "../demand";
import type { IncomingResult, Line, TransferCancelResult, TransferInResult, TransferOutResult } from "../types";
import { unreservedShortages } from "./moves";
import * as store from "./store";
import type { Tx } from "./tx";

/** At the source: the units leave on_hand (reserved units never; safety stock may), once per transfer. */
export function transferOut(tx: Tx, transferId: string, toWarehouseId: string, lines: Line[], actor: string): TransferOutResult {
	const demand = sumDemand(lines);
	if (store.applied(tx.sql, "transfer_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
	if (store.applied(tx.sql, "transfer_out", transferId)) return { ok: true, replayed: true };
	const shortages = unreservedShortages(tx, demand);
	if (shortages.length > 0) return { ok: false, reason: "insufficient_stock", shortages };
	tx.apply(demand.map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "transfer_out", ref: transferId, actor, note: `to ${toWarehouseId}`, at: tx.now })));
	store.claimOp(tx.sql, "transfer_out", transferId, tx.now);
	return { ok: true, replayed: false };
}

/**
 * At the source: closes the transfer here for good. Units that left are put
 * back once (what the ledger says left, not what the caller says); if none
 * left yet, the tombstone makes a late `transferOut` refuse.
 */
export function transferCancel(tx: Tx, transferId: string, actor: string): TransferCancelResult {
	const wentOut = store.applied(tx.sql, "transfer_out", transferId);
	if (!store.claimOp(tx.sql, "transfer_cancel", transferId, tx.now)) return { ok: true, restocked: wentOut, replayed: true };
	if (!wentOut) return { ok: true, restocked: false, replayed: false };
	tx.apply(
		store.ledgerLines(tx.sql, transferId, "transfer_out").map((l) => ({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "transfer_cancel", ref: transferId, actor, at: tx.now })),
	);
	return { ok: true, restocked: true, replayed: false };
}

/** At the destination: records the units on their way (shown as incoming, not available). */
export function expectIncoming(tx: Tx, transferId: string, fromWarehouseId: string, lines: Line[]): IncomingResult {
	if (store.applied(tx.sql, "transfer_in", transferId)) return { ok: true, replayed: true };
	if (store.applied(tx.sql, "incoming_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
	const fresh = store.claimOp(tx.sql, "incoming", transferId, tx.now);
	if (fresh) store.expectIncoming(tx.sql, transferId, fromWarehouseId, sumDemand(lines));
	return { ok: true, replayed: !fresh };
}

/** At the destination: the units arrive in on_hand, once; incoming is cleared. */
export function receiveTransfer(tx: Tx, transferId: string, lines: Line[], actor: string): TransferInResult {
	if (store.applied(tx.sql, "transfer_in", transferId)) return { ok: true, replayed: true };
	if (store.applied(tx.sql, "incoming_cancel", transferId)) return { ok: false, reason: "transfer_closed" };
	tx.apply(sumDemand(lines).map((l) => ({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "transfer_in", ref: transferId, actor, at: tx.now })));
	store.dropIncoming(tx.sql, transferId);
	store.claimOp(tx.sql, "transfer_in", transferId, tx.now);
	return { ok: true, replayed: false };
}

/** At the destination: the transfer will not arrive; a late `expectIncoming` or `receiveTransfer` is refused. */
export function cancelIncoming(tx: Tx, transferId: string): TransferInResult {
	if (store.applied(tx.sql, "transfer_in", transferId)) return { ok: false, reason: "transfer_closed" };
	const fresh = store.claimOp(tx.sql, "incoming_cancel", transferId, tx.now);
	store.dropIncoming(tx.sql, transferId);
	return { ok: true, replayed: !fresh };
}
