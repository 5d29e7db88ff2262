/**
 * One route = one declaration: method, path, auth, zod schemas for params, query
 * and body, the documented responses, and the handler. The router (src/http/app.ts)
 * and the OpenAPI document (src/http/openapi.ts) are both built from the same
 * list, so a route cannot be served without being documented, or validated
 * against a schema other than the one it documents.
 */
import type { z } from "zod";
import type { Env } from "../env";
import type { ErrorCode } from "./errors";
import type { User } from "./auth";

export type Method = "get" | "post" | "put" | "delete";
export type Access = "public" | "user" | "admin";

export interface HandlerInput<P, Q, B> {
	request: Request;
	env: Env;
	ctx: ExecutionContext;
	params: P;
	query: Q;
	body: B;
	/** Raw body text, for routes that verify signatures over it. */
	rawBody: string | undefined;
}

export interface Reply {
	status?: number;
	body: unknown;
	headers?: Record<string, string>;
}

export interface RouteDef<
	P extends z.ZodType = z.ZodType,
	Q extends z.ZodType = z.ZodType,
	B extends z.ZodType = z.ZodType,
	A extends Access = Access,
> {
	method: Method;
	path: string;
	summary: string;
	tag: string;
	access: A;
	params?: P;
	query?: Q;
	body?: B;
	/** Status -> description and (optionally) the response body schema. */
	responses: Record<number, { description: string; schema?: z.ZodType }>;
	/** Contract error codes this route can answer with, for the docs. */
	errors?: ErrorCode[];
	/** Headers this route's answers may carry besides X-Request-Id, for the docs. */
	responseHeaders?: Record<string, { description: string }>;
	/** Extra request headers this route reads, for the docs. */
	headers?: Record<string, { description: string; required?: boolean }>;
	/** The raw body is handed over unparsed by schema (e.g. signed webhooks). */
	rawBodyOnly?: boolean;
	handler: (
		input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>> & {
			user: A extends "public" ? User | undefined : User;
		},
	) => Promise<Reply | Response> | Reply | Response;
}

/** Identity with inference: lets each route's handler see its own schema types. */
export function route<
	P extends z.ZodType = z.ZodUndefined,
	Q extends z.ZodType = z.ZodUndefined,
	B extends z.ZodType = z.ZodUndefined,
	A extends Access = Access,
>(def: RouteDef<P, Q, B, A>): RouteDef {
	return def as unknown as RouteDef;
}

export function reply(body: unknown, status = 200, headers?: Record<string, string>): Reply {
	return { status, body, headers };
}
