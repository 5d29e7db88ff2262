/**
 * The reconciler's part for transfers: finishes every transfer whose warehouse
 * work a dead or failed request left undone (the same `advance()` the requests
 * run). Failures back off (30 s, doubling, at most 1 h).
 */
import type { Env } from "../env";
import { log } from "../shared/log";
import { transferDeps } from "./ports";
import { deferTransfer, unfinishedTransfers } from "./queries";
import { advance } from "./saga";

export async function finishTransfers(env: Env, nowMs: number, graceMs: number, limit = 100): Promise<{ finished: number; failures: number }> {
	const rows = await unfinishedTransfers(env.DB, new Date(nowMs).toISOString(), new Date(nowMs - graceMs).toISOString(), limit);
	const deps = transferDeps(env, "reconciler");
	let finished = 0;
	let failures = 0;
	await Promise.all(
		rows.map(async (t) => {
			try {
				const done = await advance(t, deps);
				if (done.step === "done") finished++;
				log.info("[transfer]", "finished_by_reconciler", { transfer_id: t.transfer_id, from_step: t.step, status: done.status, step: done.step });
			} catch (err) {
				failures++;
				const next = new Date(nowMs + Math.min(3_600_000, 30_000 * 2 ** Math.min(t.attempts, 7))).toISOString();
				await deferTransfer(env.DB, t.transfer_id, String(err), next).catch(() => {});
				log.warn("[transfer]", "finish_failed", { transfer_id: t.transfer_id, step: t.step, error: String(err) });
			}
		}),
	);
	return { finished, failures };
}
