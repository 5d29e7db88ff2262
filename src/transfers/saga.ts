/**
 * A transfer between two warehouses as a saga over their objects, with its
 * record in D1 as the decision:
 *   create   D1 row (in_transit, step out) -> transfer_out at the source ->
 *            step incoming -> incoming recorded at the destination -> step done
 *   receive  D1 decides received (step receive) -> transfer_in at the destination -> done
 *   cancel   D1 decides cancelled (step cancel) -> transfer_cancel at the source
 *            (puts back what left, or a tombstone) + incoming dropped -> done
 * Every Warehouse step is idempotent by transfer id, and receive and cancel
 * are exclusive in D1 (conditional updates), so a unit is at the source, in
 * transit or at the destination, never two of them and never none. A request
 * that dies leaves its step in the row; `advance()` (also the reconciler's)
 * finishes it.
 */
import { log } from "../shared/log";
import { sumDemand } from "../stock/demand";
import { unitKey, type Line, type Shortage } from "../stock/types";
import type { TransferDeps } from "./ports";
import type { TransferRecord } from "./queries";

export interface CreateTransferInput {
	from_warehouse_id: string;
	to_warehouse_id: string;
	items: Line[];
	reference?: string;
	note?: string;
	/** Which of the two warehouses are inactive now: a new transfer may not touch them (a replay may). */
	inactive?: string[];
}

/** Whether `t`, found by the input's reference, was created by this same request (lines compared as summed units). */
export function sameTransfer(t: TransferRecord, input: CreateTransferInput): boolean {
	const key = (items: Line[]) => JSON.stringify(sumDemand(items).sort((a, b) => (unitKey(a) < unitKey(b) ? -1 : 1)));
	return t.from_warehouse_id === input.from_warehouse_id && t.to_warehouse_id === input.to_warehouse_id && t.note === (input.note ?? null) && key(t.items) === key(input.items);
}

export type TransferResult =
	| { ok: true; transfer: TransferRecord; replayed: boolean }
	| { ok: false; reason: "insufficient_stock"; shortages: Shortage[] }
	| { ok: false; reason: "not_found" }
	| { ok: false; reason: "invalid_transition"; from: string; event: string }
	| { ok: false; reason: "reference_reused" }
	| { ok: false; reason: "warehouse_inactive"; warehouse_ids: string[] }
	/** Infrastructure failed before anything was decided or moved. */
	| { ok: false; reason: "unavailable"; step: string };

/** At most this many step transitions per call: each one is a fresh read-decide-write. */
const MAX_MOVES = 8;

/**
 * Runs whatever warehouse work the transfer's current state still needs, until
 * it is done. Throws when a Warehouse or D1 call fails (the work stays in the row).
 */
export async function advance(t: TransferRecord, deps: TransferDeps): Promise<TransferRecord> {
	const { warehouses: wh, store } = deps;
	let cur = t;
	for (let i = 0; i < MAX_MOVES && cur.step !== "done"; i++) {
		const at = deps.now().toISOString();
		let next: TransferRecord | null = null;
		switch (cur.step) {
			case "out": {
				const r = await wh.transferOut(cur.from_warehouse_id, cur.transfer_id, cur.to_warehouse_id, cur.items);
				next = r.ok
					? await store.move(cur, { status: "in_transit", steps: ["out"] }, { status: "in_transit", step: "incoming" }, at, true)
					: // The source cannot (or may no longer) give the units: nothing left, so the transfer is called off.
						await store.move(cur, { status: "in_transit", steps: ["out"] }, { status: "cancelled", step: "cancel" }, at, true);
				if (!r.ok) log.warn("[transfer]", "source_refused", { transfer_id: cur.transfer_id, reason: r.reason });
				break;
			}
			case "incoming": {
				const r = await wh.expectIncoming(cur.to_warehouse_id, cur.transfer_id, cur.from_warehouse_id, cur.items);
				// A refusal means the destination already closed it (a cancel or receive got there first): re-read.
				if (r.ok) next = await store.move(cur, { status: "in_transit", steps: ["incoming"] }, { status: "in_transit", step: "done" }, at, false);
				break;
			}
			case "receive": {
				const r = await wh.receiveTransfer(cur.to_warehouse_id, cur.transfer_id, cur.items);
				if (!r.ok) throw new Error(`transfer ${cur.transfer_id}: received in D1 but closed at ${cur.to_warehouse_id}`);
				next = await store.move(cur, { status: "received", steps: ["receive"] }, { status: "received", step: "done" }, at, false);
				break;
			}
			case "cancel": {
				const back = await wh.transferCancel(cur.from_warehouse_id, cur.transfer_id);
				const dropped = await wh.cancelIncoming(cur.to_warehouse_id, cur.transfer_id);
				if (!dropped.ok) throw new Error(`transfer ${cur.transfer_id}: cancelled in D1 but received at ${cur.to_warehouse_id}`);
				if (back.restocked && !back.replayed) log.info("[transfer]", "returned_to_source", { transfer_id: cur.transfer_id, warehouse_id: cur.from_warehouse_id });
				next = await store.move(cur, { status: "cancelled", steps: ["cancel"] }, { status: "cancelled", step: "done" }, at, false);
				break;
			}
		}
		// Someone else moved it meanwhile: continue from what D1 says now.
		cur = next ?? (await store.get(cur.transfer_id)) ?? cur;
	}
	return cur;
}

export async function createTransfer(input: CreateTransferInput, deps: TransferDeps): Promise<TransferResult> {
	const { store } = deps;
	if (input.reference) {
		const existing = await store.byReference(input.reference).catch(() => undefined);
		if (existing === undefined) return { ok: false, reason: "unavailable", step: "record" };
		if (existing && !sameTransfer(existing, input)) return { ok: false, reason: "reference_reused" };
		if (existing) return { ok: true, transfer: await advance(existing, deps).catch(() => existing), replayed: true };
	}
	if (input.inactive?.length) return { ok: false, reason: "warehouse_inactive", warehouse_ids: input.inactive };
	const at = deps.now().toISOString();
	const t: TransferRecord = {
		transfer_id: deps.newId(),
		from_warehouse_id: input.from_warehouse_id,
		to_warehouse_id: input.to_warehouse_id,
		items: sumDemand(input.items),
		status: "in_transit",
		step: "out",
		reference: input.reference ?? null,
		note: input.note ?? null,
		created_by: deps.actor,
		created_at: at,
		updated_at: at,
		attempts: 0,
		next_attempt_at: at,
	};
	try {
		if (!(await store.insert(t))) {
			// The same reference, created concurrently: answer with that one.
			const other = input.reference ? await store.byReference(input.reference) : null;
			if (other && !sameTransfer(other, input)) return { ok: false, reason: "reference_reused" };
			if (other) return { ok: true, transfer: other, replayed: true };
			return { ok: false, reason: "unavailable", step: "record" };
		}
	} catch (err) {
		log.error("transfer_record_failed", { error: String(err) }, "[transfer]");
		return { ok: false, reason: "unavailable", step: "record" };
	}

	let out;
	try {
		out = await deps.warehouses.transferOut(t.from_warehouse_id, t.transfer_id, t.to_warehouse_id, t.items);
	} catch (err) {
		// Unknown whether the units left: the row (step out) stays for the reconciler, which replays the idempotent step.
		log.error("transfer_out_failed", { transfer_id: t.transfer_id, error: String(err) }, "[transfer]");
		return { ok: false, reason: "unavailable", step: "transfer_out" };
	}
	if (!out.ok) {
		// Nothing left the source: forget the record so the transfer never existed. If that fails, the
		// reconciler replays transfer_out later; a refusal then cancels it instead.
		const gone = await store.discard(t.transfer_id).catch(() => false);
		if (!gone) return { ok: false, reason: "unavailable", step: "discard" };
		log.info("[transfer]", "refused", { transfer_id: t.transfer_id, reason: out.reason });
		return out.reason === "insufficient_stock" ? out : { ok: false, reason: "unavailable", step: "transfer_out" };
	}
	// The units have left: from here on the answer is 201 whatever fails; the reconciler finishes the rest.
	const finished = await advance(t, deps).catch((err) => {
		log.warn("[transfer]", "finish_deferred", { transfer_id: t.transfer_id, error: String(err) });
		return null;
	});
	const transfer = finished ?? (await store.get(t.transfer_id).catch(() => null)) ?? t;
	log.info("[transfer]", "created", { transfer_id: t.transfer_id, from: t.from_warehouse_id, to: t.to_warehouse_id, items: t.items.length, step: transfer.step });
	return { ok: true, transfer, replayed: false };
}

/**
 * Receive or cancel: decided in D1 first (exclusive), then the warehouse work.
 * Repeating the same action changes nothing. A failing Warehouse or D1 call
 * before the decision answers `unavailable` (503), never an exception (500);
 * after it, the reconciler finishes the work.
 */
export async function finishTransfer(transferId: string, action: "receive" | "cancel", deps: TransferDeps): Promise<TransferResult> {
	try {
		return await decideAndFinish(transferId, action, deps);
	} catch (err) {
		log.error("transfer_finish_failed", { transfer_id: transferId, action, error: String(err) }, "[transfer]");
		return { ok: false, reason: "unavailable", step: action };
	}
}

async function decideAndFinish(transferId: string, action: "receive" | "cancel", deps: TransferDeps): Promise<TransferResult> {
	const target = action === "receive" ? "received" : "cancelled";
	for (let attempt = 0; attempt < 3; attempt++) {
		let t = await deps.store.get(transferId);
		if (!t) return { ok: false, reason: "not_found" };
		if (t.status === target) {
			const done = await advance(t, deps).catch(() => t!);
			return { ok: true, transfer: done, replayed: true };
		}
		if (t.status !== "in_transit") return { ok: false, reason: "invalid_transition", from: t.status, event: target };
		// Receiving needs the units to have left the source: finish the creation first.
		if (action === "receive" && t.step === "out") {
			t = await advance(t, deps);
			if (t.status !== "in_transit") continue;
		}
		const at = deps.now().toISOString();
		const steps = action === "receive" ? (["incoming", "done"] as const) : (["out", "incoming", "done"] as const);
		const decided = await deps.store.move(t, { status: "in_transit", steps: [...steps] }, { status: target, step: action }, at, true);
		if (!decided) continue; // lost a race: read again
		log.info("[transfer]", action === "receive" ? "received" : "cancelled", { transfer_id: transferId });
		const done = await advance(decided, deps).catch((err) => {
			log.warn("[transfer]", "finish_deferred", { transfer_id: transferId, error: String(err) });
			return decided;
		});
		return { ok: true, transfer: done, replayed: false };
	}
	return { ok: false, reason: "unavailable", step: "decide" };
}
