/**
 * Grants and give-backs of a sharded unit: free units leave one object's
 * ledger (`out`) and arrive in another's (`in`) under one id. Each is applied
 * once at each end: one out row in the right kind of object, at most one in
 * row (exactly one once settled) with the same units, never an in without
 * its out.
 */
import { groupBy, objectKey, unitKey, type History, type LedgerRow, type ObjectRef } from "./history.js";
import { GIVEBACK, GRANT, TRANSFER, type Leg } from "./reasons.js";
import type { Violation } from "./violation.js";

/** The pool of a sharded unit is kept by the warehouse's own object (no shard), or named "pool". */
const isPool = (o: ObjectRef) => o.shard === "pool" || o.shard === undefined;
const isShard = (o: ObjectRef) => typeof o.shard === "number";

/** Units in transit per unit key (grants, give-backs and transfers sent, not yet arrived): minus the sum of their rows' deltas. */
export function inTransit(ledger: LedgerRow[]): Map<string, number> {
	const reasons = new Set([GRANT, GIVEBACK, TRANSFER].flatMap((l) => [l.out, l.in, ...(l.back ? [l.back] : [])]));
	const out = new Map<string, number>();
	for (const r of ledger) if (reasons.has(r.reason)) out.set(unitKey(r), (out.get(unitKey(r)) ?? 0) - r.on_hand_delta);
	return out;
}

function checkLeg(h: History, name: string, leg: Leg, from: (o: ObjectRef) => boolean, to: (o: ObjectRef) => boolean): Violation[] {
	const out: Violation[] = [];
	const rows = h.ledger.filter((r) => r.reason === leg.out || r.reason === leg.in);
	for (const [ref, all] of groupBy(rows, (r) => r.ref)) {
		const subject = `${name} ${ref}`;
		const outs = all.filter((r) => r.reason === leg.out);
		const ins = all.filter((r) => r.reason === leg.in);
		const detail = all.map((r) => ({ object: objectKey(r.object), unit: unitKey(r), reason: r.reason, on_hand_delta: r.on_hand_delta, seq: r.seq }));
		if (outs.length > 1) out.push({ check: "grant-once", subject, message: `sent ${outs.length} times`, detail });
		if (ins.length > 1) out.push({ check: "grant-once", subject, message: `received ${ins.length} times`, detail });
		if (outs.length === 0) {
			out.push({ check: "grant-once", subject, message: "received, never sent", detail });
			continue;
		}
		if (ins.length === 0 && h.settled) out.push({ check: "grant-once", subject, message: "sent, never received (in transit after settling)", detail });
		const o = outs[0]!;
		if (!from(o.object)) out.push({ check: "grant-once", subject, message: `sent from ${objectKey(o.object)}, which is not a ${name === "grant" ? "pool" : "shard"}`, detail });
		if (o.on_hand_delta >= 0 || o.reserved_delta !== 0) out.push({ check: "grant-once", subject, message: `out row moves on_hand ${o.on_hand_delta}, reserved ${o.reserved_delta}`, detail });
		for (const i of ins) {
			if (!to(i.object)) out.push({ check: "grant-once", subject, message: `received at ${objectKey(i.object)}, which is not a ${name === "grant" ? "shard" : "pool"}`, detail });
			if (i.object.warehouse_id !== o.object.warehouse_id || unitKey(i) !== unitKey(o)) {
				out.push({ check: "grant-once", subject, message: `sent as ${unitKey(o)} at ${o.object.warehouse_id}, received as ${unitKey(i)} at ${i.object.warehouse_id}`, detail });
			}
			if (i.on_hand_delta !== -o.on_hand_delta || i.reserved_delta !== 0) out.push({ check: "grant-once", subject, message: `sent ${-o.on_hand_delta}, received ${i.on_hand_delta}`, detail });
		}
	}
	return out;
}

export function checkGrants(h: History): Violation[] {
	return [...checkLeg(h, "grant", GRANT, isPool, isShard), ...checkLeg(h, "give-back", GIVEBACK, isShard, isPool)];
}
