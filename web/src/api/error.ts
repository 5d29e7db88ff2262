/** An API error as the pages show it: the contract's `{ error, code, details }` with the HTTP status (0: no answer). */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

/** An error for display: ApiErrors keep their sentence, anything else becomes one. */
export function asApiError(err: unknown): ApiError {
	if (err instanceof ApiError) return err;
	return new ApiError(0, "CLIENT_ERROR", err instanceof Error ? err.message : String(err));
}
