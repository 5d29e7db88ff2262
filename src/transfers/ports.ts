/**
 * What the transfer saga needs from the world: the two Warehouse objects' steps
 * and the D1 record, as small interfaces with their real adapters. Fault tests
 * wrap them to crash between any two steps.
 */
import type { Env } from "../env";
import { warehouseStub } from "../stock/client";
import type { IncomingResult, Line, TransferCancelResult, TransferInResult, TransferOutResult } from "../stock/types";
import { publish } from "../events/outbox";
import { discardTransfer, getTransfer, getTransferByReference, insertTransfer, moveTransfer, transferEvent, type TransferRecord, type TransferStep } from "./queries";
import type { TransferStatus } from "./schema";

export interface TransferWarehouses {
	transferOut(warehouseId: string, transferId: string, toWarehouseId: string, lines: Line[]): Promise<TransferOutResult>;
	transferCancel(warehouseId: string, transferId: string): Promise<TransferCancelResult>;
	expectIncoming(warehouseId: string, transferId: string, fromWarehouseId: string, lines: Line[]): Promise<IncomingResult>;
	receiveTransfer(warehouseId: string, transferId: string, lines: Line[]): Promise<TransferInResult>;
	cancelIncoming(warehouseId: string, transferId: string): Promise<TransferInResult>;
}

export interface TransferStore {
	get(transferId: string): Promise<TransferRecord | null>;
	byReference(reference: string): Promise<TransferRecord | null>;
	insert(t: TransferRecord): Promise<boolean>;
	move(t: TransferRecord, from: { status: TransferStatus; steps: TransferStep[] }, to: { status: TransferStatus; step: TransferStep }, at: string, announce: boolean): Promise<TransferRecord | null>;
	discard(transferId: string): Promise<boolean>;
}

export interface TransferDeps {
	warehouses: TransferWarehouses;
	store: TransferStore;
	now: () => Date;
	newId: () => string;
	actor: string;
}

export function transferWarehouses(env: Env, actor: string): TransferWarehouses {
	return {
		transferOut: (w, id, to, lines) => warehouseStub(env, w).transferOut(id, to, lines, { actor }),
		transferCancel: (w, id) => warehouseStub(env, w).transferCancel(id, { actor }),
		expectIncoming: (w, id, from, lines) => warehouseStub(env, w).expectIncoming(id, from, lines),
		receiveTransfer: (w, id, lines) => warehouseStub(env, w).receiveTransfer(id, lines, { actor }),
		cancelIncoming: (w, id) => warehouseStub(env, w).cancelIncoming(id),
	};
}

/** D1 as the transfer store; an announced move's event is published right after it (the reconciler re-sends what fails). */
export function transferStore(env: Env): TransferStore {
	const db = env.DB;
	return {
		get: (id) => getTransfer(db, id),
		byReference: (ref) => getTransferByReference(db, ref),
		insert: (t) => insertTransfer(db, t),
		move: async (t, from, to, at, announce) => {
			const moved = await moveTransfer(db, t, from, to, at, announce);
			if (moved && announce) await publish(env, [transferEvent(moved, at)]).catch(() => {});
			return moved;
		},
		discard: (id) => discardTransfer(db, id),
	};
}

/** The production wiring, shared by the routes and the reconciler (tests override parts of it). */
export function transferDeps(env: Env, actor: string): TransferDeps {
	return {
		warehouses: transferWarehouses(env, actor),
		store: transferStore(env),
		now: () => new Date(),
		newId: () => `trf_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
		actor,
	};
}
