/**
 * Idempotent replays: per user and Idempotency-Key, every answer marked
 * `Idempotent-Replayed: true` has the same status and body as the first
 * answer given under that key, and the key produced at most one first answer
 * (two would be the request carried out twice). `409 CONFLICT` (the first
 * still running) and `422 IDEMPOTENCY_KEY_REUSED` are neither; nor is a first
 * answer that frees the key for a retry (a 5xx, `409 CART_CHANGED`).
 */
import { groupBy, type History, type Op } from "./history.js";
import { replayed } from "./ops.js";
import type { Violation } from "./violation.js";

const passing = (op: Op) => op.answer !== null && !(op.answer.status === 409 && op.answer.body?.code === "CONFLICT") && !(op.answer.status === 422 && op.answer.body?.code === "IDEMPOTENCY_KEY_REUSED");

/** A first answer that is kept for replays (the others leave the key free for a retry). */
const final = (op: Op) => op.answer!.status < 500 && op.answer!.body?.code !== "CART_CHANGED";

/** Canonical JSON (object keys sorted), so equal bodies compare equal whatever their key order. */
function canonical(v: unknown): string {
	if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
	if (v && typeof v === "object") {
		return `{${Object.keys(v)
			.sort()
			.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
			.join(",")}}`;
	}
	return JSON.stringify(v);
}

export function checkIdempotency(h: History): Violation[] {
	const out: Violation[] = [];
	const keyed = h.ops.filter((op) => op.headers["idempotency-key"] !== undefined && passing(op));
	for (const [k, ops] of groupBy(keyed, (op) => `${op.user}|${op.method} ${op.path}|${op.headers["idempotency-key"]}`)) {
		const firsts = ops.filter((op) => !replayed(op) && final(op));
		const replays = ops.filter(replayed);
		if (firsts.length > 1) {
			out.push({ check: "idempotent-replay", subject: k, message: `${firsts.length} answers not marked replayed`, detail: firsts.map((op) => ({ op: op.id, status: op.answer!.status, body: op.answer!.body })) });
		}
		const base = firsts[0] ?? replays[0];
		if (!base) continue;
		const want = `${base.answer!.status} ${canonical(base.answer!.body)}`;
		for (const r of replays) {
			if (r === base) continue;
			const got = `${r.answer!.status} ${canonical(r.answer!.body)}`;
			if (got !== want) {
				out.push({
					check: "idempotent-replay",
					subject: k,
					message: `replay (op ${r.id}) answered ${r.answer!.status}, the ${firsts[0] ? "first answer" : "first replay"} (op ${base.id}) ${base.answer!.status}`,
					detail: { first: base.answer!.body, replay: r.answer!.body },
				});
			}
		}
	}
	return out;
}
