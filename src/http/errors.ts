/**
 * The one error type of the HTTP layer and the one place that turns errors into
 * the contract's body: `{ error: string, code, details? }`. Domain code returns
 * failures as values; handlers convert them with `fail()` and the router's catch
 * calls `toErrorResponse()`. Anything that is not an ApiError is a bug: it is
 * logged with its stack and answered as a bare 500 that leaks nothing.
 */
import { log } from "../shared/log";

export type ErrorCode =
	| "VALIDATION_ERROR"
	| "INVALID_JSON"
	| "PAYLOAD_TOO_LARGE"
	| "UNSUPPORTED_MEDIA_TYPE"
	| "UNAUTHORIZED"
	| "FORBIDDEN"
	| "NOT_FOUND"
	| "METHOD_NOT_ALLOWED"
	| "CONFLICT"
	| "INSUFFICIENT_STOCK"
	| "OUT_OF_STOCK"
	| "CART_CHANGED"
	| "PURCHASE_LIMIT"
	| "CART_EMPTY"
	| "ADDRESS_REQUIRED"
	| "INVALID_TRANSITION"
	| "IDEMPOTENCY_KEY_REUSED"
	| "AMOUNT_MISMATCH"
	| "SERVICE_UNAVAILABLE"
	| "INTERNAL_ERROR";

const STATUS: Record<ErrorCode, number> = {
	VALIDATION_ERROR: 400,
	INVALID_JSON: 400,
	CART_EMPTY: 400,
	ADDRESS_REQUIRED: 400,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 404,
	METHOD_NOT_ALLOWED: 405,
	CONFLICT: 409,
	INSUFFICIENT_STOCK: 409,
	OUT_OF_STOCK: 409,
	CART_CHANGED: 409,
	PURCHASE_LIMIT: 409,
	INVALID_TRANSITION: 409,
	PAYLOAD_TOO_LARGE: 413,
	UNSUPPORTED_MEDIA_TYPE: 415,
	IDEMPOTENCY_KEY_REUSED: 422,
	AMOUNT_MISMATCH: 422,
	INTERNAL_ERROR: 500,
	SERVICE_UNAVAILABLE: 503,
};

export class ApiError extends Error {
	readonly status: number;
	constructor(
		readonly code: ErrorCode,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
		this.name = "ApiError";
		this.status = STATUS[code];
	}
}

/** Throw the contract's error for `code`. */
export function fail(code: ErrorCode, message: string, details?: unknown): never {
	throw new ApiError(code, message, details);
}

export function statusOf(code: ErrorCode): number {
	return STATUS[code];
}

export interface ErrorBody {
	error: string;
	code: ErrorCode;
	details?: unknown;
}

export function errorBody(err: ApiError): ErrorBody {
	return err.details === undefined
		? { error: err.message, code: err.code }
		: { error: err.message, code: err.code, details: err.details };
}

export function toErrorResponse(err: unknown, requestId?: string): Response {
	if (err instanceof ApiError) {
		return Response.json(errorBody(err), { status: err.status });
	}
	log.error("unhandled_error", {
		request_id: requestId,
		error: err instanceof Error ? err.message : String(err),
		name: err instanceof Error ? err.name : undefined,
		stack: err instanceof Error ? err.stack : undefined,
	});
	const body: ErrorBody = { error: "Internal server error. Please try again.", code: "INTERNAL_ERROR" };
	return Response.json(body, { status: 500 });
}
