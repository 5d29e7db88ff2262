/**
 * The holds of checkout over the store: each operation reads the facts, asks
 * the pure transition (./holds.ts) what to do, and carries the decision out
 * with its ledger rows, inside the caller's transaction.
 */
import { sumDemand } from "../demand";
import type { CancelHoldResult, CommitResult, Line, ReleaseResult, ReserveResult } from "../types";
import { cancelAnswer, commitAnswer, releaseAnswer, reserveAnswer, transition, type HoldCommand, type HoldDecision, type HoldFacts } from "./holds";
import * as store from "./store";
import type { Tx } from "./tx";

function factsOf(tx: Tx, ref: string): HoldFacts {
	const hold = store.getHold(tx.sql, ref);
	return hold && { state: hold.state, expires_at: hold.expires_at, lines: store.holdLines(tx.sql, ref) };
}

/** The decision's writes. Answers false only for a restock an earlier call already made. */
function carryOut(tx: Tx, ref: string, d: HoldDecision, actor: string, note?: string): boolean {
	const at = tx.now;
	switch (d.kind) {
		case "hold":
			tx.apply(d.lines.map((l) => ({ unit: l, on_hand_delta: 0, reserved_delta: l.quantity, reason: "reserve", ref, actor, at })));
			tx.holdOpened(d.expires_at);
			return true;
		case "commit":
			tx.apply(
				d.lines.map((l) =>
					d.late
						? { unit: l, on_hand_delta: -l.quantity, reserved_delta: 0, reason: "commit", ref, actor, note: "late commit: hold had expired", at }
						: { unit: l, on_hand_delta: -l.quantity, reserved_delta: -l.quantity, reason: "commit", ref, actor, at },
				),
			);
			store.setHoldState(tx.sql, ref, "committed", at);
			return true;
		case "free":
			tx.apply(d.lines.map((l) => ({ unit: l, on_hand_delta: 0, reserved_delta: -l.quantity, reason: d.to === "released" ? "release" : "expire", ref, actor, at })));
			store.setHoldState(tx.sql, ref, d.to, at);
			return true;
		case "close":
			store.setHoldState(tx.sql, ref, "released", at);
			return true;
		case "tombstone":
			// A reserve for this reference that arrives late must not hold anything.
			store.insertHold(tx.sql, ref, "released", at, at, []);
			return true;
		case "restock":
			if (!store.claimOp(tx.sql, "restock", ref, at)) return false;
			tx.apply(d.lines.map((l) => ({ unit: l, on_hand_delta: l.quantity, reserved_delta: 0, reason: "restock", ref, actor, note, at })));
			return true;
		case "answer":
		case "refuse":
			return true;
	}
}

export function reserve(tx: Tx, ref: string, lines: Line[], ttlMs: number, actor: string): ReserveResult {
	const demand = sumDemand(lines);
	const command: HoldCommand = { kind: "reserve", lines: demand, ttlMs, levels: store.getLevels(tx.sql, demand) };
	// Decided first as for a new reference: the hold's insert is also the look-up (a statement less on the usual
	// path), and the hold is read only when the reference may be known.
	const fresh = transition(undefined, command, tx.now);
	if (fresh.kind === "hold" && store.insertHoldIfNew(tx.sql, ref, tx.now, fresh.expires_at, demand)) {
		carryOut(tx, ref, fresh, actor);
		return fresh.result;
	}
	const known = factsOf(tx, ref);
	const decision = known ? transition(known, command, tx.now) : fresh;
	return reserveAnswer(known, decision);
}

export function commit(tx: Tx, ref: string, actor: string): CommitResult {
	const hold = factsOf(tx, ref);
	const levels = hold?.state === "expired" ? store.getLevels(tx.sql, hold.lines) : undefined;
	const decision = transition(hold, { kind: "commit", levels }, tx.now);
	carryOut(tx, ref, decision, actor);
	return commitAnswer(decision);
}

/**
 * `commit` for many references in one transaction: the held ones (the usual
 * case) together, with one statement per step for all of them; any other
 * (replayed, released, lapsed, unknown) one by one afterwards, exactly as `commit`.
 */
export function commitMany(tx: Tx, refs: string[], actor: string): Record<string, CommitResult> {
	const holds = store.getHolds(tx.sql, refs);
	const held = refs.filter((r) => holds.get(r)?.state === "held");
	const results: Record<string, CommitResult> = {};
	if (held.length > 0) {
		const lines = store.holdLinesOf(tx.sql, held);
		const decisions = held.map((ref) => {
			const h = holds.get(ref)!;
			return { ref, d: transition({ state: h.state, expires_at: h.expires_at, lines: lines.get(ref)! }, { kind: "commit" }, tx.now) };
		});
		const commits = decisions.flatMap(({ ref, d }) => (d.kind === "commit" ? [{ ref, d }] : []));
		tx.apply(commits.flatMap(({ ref, d }) => d.lines.map((l) => ({ unit: l, on_hand_delta: -l.quantity, reserved_delta: -l.quantity, reason: "commit", ref, actor, at: tx.now }))));
		store.setHoldStates(tx.sql, commits.map((c) => c.ref), "committed", tx.now);
		for (const { ref, d } of decisions) results[ref] = commitAnswer(d);
	}
	for (const ref of refs) if (!(ref in results)) results[ref] = commit(tx, ref, actor);
	return results;
}

export function release(tx: Tx, ref: string, actor: string): ReleaseResult {
	const decision = transition(factsOf(tx, ref), { kind: "release" }, tx.now);
	carryOut(tx, ref, decision, actor);
	return releaseAnswer(decision);
}

/**
 * Undoes whatever an order holds here, atomically and once: a held hold is
 * released, a committed one has its units restocked (once by ref), an expired
 * one is closed for good (a late commit is refused), a released one needs
 * nothing, an unknown one gets a tombstone so a late reserve holds nothing.
 */
export function cancel(tx: Tx, ref: string, actor: string, note?: string): CancelHoldResult {
	const decision = transition(factsOf(tx, ref), { kind: "cancel" }, tx.now);
	return cancelAnswer(decision, carryOut(tx, ref, decision, actor, note));
}

/**
 * The due holds among `refs`, each committed if `decided` says its order was
 * decided, else expired. A hold closed since it was listed is left alone.
 */
export function resolveDue(tx: Tx, refs: string[], decided: (ref: string) => boolean): { committed: number; expired: number } {
	let committed = 0;
	let expired = 0;
	for (const ref of refs) {
		const decision = transition(factsOf(tx, ref), { kind: "due", decided: decided(ref) }, tx.now);
		carryOut(tx, ref, decision, "alarm");
		if (decision.kind === "commit") committed++;
		if (decision.kind === "free") expired++;
	}
	return { committed, expired };
}
