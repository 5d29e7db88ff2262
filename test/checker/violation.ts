/** What a check answers: one entry per thing that does not hold, with what is needed to find it. */

export type CheckName =
	| "replay"
	| "oversold"
	| "conservation"
	| "commit-once"
	| "grant-once"
	| "order-answered"
	| "idempotent-replay"
	| "purchase-limit"
	| "false-409";

export interface Violation {
	check: CheckName;
	/** What it is about: a unit at an object, an order, an op, a grant id. */
	subject: string;
	message: string;
	/** The rows, ops or figures behind it. */
	detail?: unknown;
}

/** One line per violation, for a test failure. */
export function formatViolation(v: Violation): string {
	return `[${v.check}] ${v.subject}: ${v.message}${v.detail === undefined ? "" : ` ${JSON.stringify(v.detail)}`}`;
}
