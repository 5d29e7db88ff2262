/** Every check over one history; an empty list when all hold. */
import type { History } from "./history.js";
import { checkAnswers } from "./answers.js";
import { checkCommits } from "./commits.js";
import { checkConservation } from "./conservation.js";
import { checkFalseRefusals } from "./falseRefusals.js";
import { checkIdempotency } from "./idempotency.js";
import { checkGrants } from "./legs.js";
import { checkOversold, checkReplay } from "./ledgers.js";
import { checkLimits } from "./limits.js";
import { DEFAULT_SLACK, type Slack } from "./timeline.js";
import type { Violation } from "./violation.js";

export { formatViolation } from "./violation.js";
export type { History } from "./history.js";
export type { Violation } from "./violation.js";

export interface CheckOptions {
	slack?: Slack;
}

export function checkHistory(h: History, opts: CheckOptions = {}): Violation[] {
	return [
		...checkReplay(h),
		...checkOversold(h),
		...checkConservation(h),
		...checkCommits(h),
		...checkGrants(h),
		...checkAnswers(h),
		...checkIdempotency(h),
		...checkLimits(h),
		...checkFalseRefusals(h, opts.slack ?? DEFAULT_SLACK),
	];
}
