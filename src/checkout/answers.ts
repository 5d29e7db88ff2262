/**
 * Place-order's outcomes as the contract's answers: the only place the
 * checkout's results become HTTP bodies (failures through the one error
 * mapper, ../http/failures.ts). The route answers with them; placeOrder gets
 * `recordAnswers` to write an answer in the batch of the change it describes,
 * without knowing what is in it.
 */
import { errorBody } from "../http/errors";
import { toApiError } from "../http/failures";
import { orderView, type OrderRecord } from "../orders/queries";
import type { Answer, Answered, IdempotencyScope } from "./idempotency";
import type { Answers, PlaceOrderResult } from "./placeOrder";

/** Refusals the route finds before placeOrder runs. */
export type CartRefusal = { ok: false; reason: "cart_empty" } | { ok: false; reason: "address_required" };

export type CheckoutOutcome = PlaceOrderResult | CartRefusal;

export function answerOf(outcome: CheckoutOutcome | { ok: true; order: OrderRecord }): Answer {
	if (outcome.ok) return { status: 201, body: orderView(outcome.order) };
	const err = toApiError(outcome);
	return { status: err.status, body: errorBody(err) };
}

/**
 * The outcome's answer, for `withIdempotency`: a placed order's answer was
 * stored with its decision, a decided-then-cancelled one's with its
 * cancellation; a changed cart asks for a retry (the same key then orders the
 * cart as it is now).
 */
export function answered(outcome: CheckoutOutcome): Answered {
	return {
		answer: answerOf(outcome),
		stored: outcome.ok || (outcome.reason === "out_of_stock" && outcome.cancelledOrderId !== undefined),
		retry: !outcome.ok && outcome.reason === "cart_changed",
	};
}

/** placeOrder's `answers` for a request with an Idempotency-Key. */
export function recordAnswers(scope: IdempotencyScope): Answers {
	return (outcome) => ({ scope, ...answerOf(outcome) });
}
