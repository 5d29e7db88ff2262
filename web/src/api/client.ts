/**
 * The pages' only way to the API: openapi-fetch over the types generated from
 * /openapi.json (schema.d.ts), so a path, parameter or field the API does not
 * have is a type error. `must()` turns a non-2xx answer into an ApiError that
 * carries the contract's `{ error, code, details }`, for showing next to the
 * control that caused it.
 */
import createClient, { type Client } from "openapi-fetch";
import { ApiError } from "./error";
import type { components, paths } from "./schema";

export { ApiError, asApiError } from "./error";
export type Schemas = components["schemas"];
export type Api = Client<paths>;

/** A client that sends `token` as the Bearer token (none: public endpoints only). */
export function apiClient(token: string | null, baseUrl = location.origin): Api {
	const client = createClient<paths>({ baseUrl });
	if (token) {
		client.use({
			onRequest({ request }) {
				request.headers.set("authorization", `Bearer ${token}`);
				return request;
			},
		});
	}
	return client;
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an ApiError with the API's sentence (or a plain one when the server did not answer). */
export async function must<T>(pending: Promise<Result<T>>): Promise<NonNullable<T>> {
	let result: Result<T>;
	try {
		result = await pending;
	} catch {
		throw new ApiError(0, "NETWORK", "The server did not answer. Check that stockgate is running and try again.");
	}
	if (result.response.ok) return result.data as NonNullable<T>;
	const body = (result.error ?? {}) as { error?: unknown; code?: unknown; details?: unknown };
	const message = typeof body.error === "string" ? body.error : `The request failed (HTTP ${result.response.status}).`;
	throw new ApiError(result.response.status, typeof body.code === "string" ? body.code : "HTTP_ERROR", message, body.details);
}
