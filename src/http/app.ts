/**
 * Turns the route list into an itty-router v5 AutoRouter: request id, CORS,
 * auth, input validation, JSON replies, and the single error mapping. Every
 * response carries `X-Request-Id`; every request ends with one `[http]` log line.
 */
import { AutoRouter, type IRequest } from "itty-router";
import type { Env } from "../env";
import { authenticate, type User } from "./auth";
import { allowedOrigins, preflight, withCors } from "./cors";
import { ApiError, fail, toErrorResponse } from "./errors";
import { d1Stats, d1StatsOn } from "../shared/d1Count";
import { log, requestCounters, withRequestContext } from "../shared/log";
import type { Reply, RouteDef } from "./route";
import { readJsonBody, validate } from "./validate";
import { homeCustomer, rehomeFrom } from "../ops/rehome";

type Args = [Env, ExecutionContext];

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function decodeParams(params: Record<string, string>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of Object.entries(params)) {
		try {
			out[k] = decodeURIComponent(v);
		} catch {
			fail("VALIDATION_ERROR", `Path parameter ${k} is not validly encoded.`, [{ field: `path.${k}`, message: "bad percent-encoding" }]);
		}
	}
	return out;
}

function toResponse(result: Reply | Response): Response {
	if (result instanceof Response) return result;
	const status = result.status ?? 200;
	const headers = new Headers(result.headers);
	if (status === 204) return new Response(null, { status, headers });
	headers.set("content-type", "application/json; charset=utf-8");
	return new Response(JSON.stringify(result.body), { status, headers });
}

function handlerFor(def: RouteDef) {
	return async (request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> => {
		let user: User | undefined;
		if (def.access !== "public") {
			user = await authenticate(request as unknown as Request, env);
			if (def.access === "admin" && !user.admin) fail("FORBIDDEN", "This endpoint needs the admin role.");
			// While customers move between order shards, a customer's rows are moved before anything is done for them.
			if (def.access === "user" && rehomeFrom(env) !== undefined) await homeCustomer(env, user.id, Date.now());
		}
		const params = def.params ? validate(def.params, decodeParams(request.params), "path") : undefined;
		const query = def.query ? validate(def.query, { ...request.query }, "query") : undefined;
		let rawBody: string | undefined;
		let body: unknown;
		if (def.method !== "get" && def.method !== "delete") {
			const parsed = await readJsonBody(request as unknown as Request);
			rawBody = parsed?.raw;
			// Only a request without a body counts as `{}`; a JSON `null` body is validated as what it is.
			body = def.body && !def.rawBodyOnly ? validate(def.body, parsed === undefined ? {} : parsed.value, "body") : parsed?.value;
		}
		const result = await def.handler({
			request: request as unknown as Request,
			env,
			ctx,
			params,
			query,
			body,
			rawBody,
			user: user as User,
		});
		return toResponse(result);
	};
}

export interface App {
	fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response>;
}

export function createApp(routes: RouteDef[]): App {
	// One router per method: itty tries every route's pattern in turn, so a request
	// only walks the routes of its own method (the order within a method is kept).
	const routers = new Map<string, ReturnType<typeof AutoRouter<IRequest, Args>>>();
	/** Each method's route patterns, to tell a path served under other methods (405, with Allow naming them) from none (404). */
	const patterns = new Map<string, RegExp[]>();
	const missing = (request: IRequest) => {
		const path = new URL(request.url).pathname;
		const allowed = [...patterns].filter(([, list]) => list.some((pattern) => pattern.test(path))).map(([method]) => method);
		if (allowed.length === 0) return toErrorResponse(new ApiError("NOT_FOUND", `No route for ${request.method} ${path}.`));
		const response = toErrorResponse(new ApiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}.`));
		// RFC 9110 15.5.6: a 405 names the methods the resource does serve.
		response.headers.set("Allow", allowed.sort().join(", "));
		return response;
	};
	for (const def of routes) {
		const method = def.method.toUpperCase();
		let router = routers.get(method);
		if (!router) {
			router = AutoRouter<IRequest, Args>({
				// The AutoRouter's default formatting is replaced: handlers return Responses.
				format: (r: unknown) => r as Response,
				catch: (err: unknown) => toErrorResponse(err),
				missing,
			});
			routers.set(method, router);
		}
		router[def.method](def.path, handlerFor(def));
	}
	for (const [method, router] of routers) patterns.set(method, router.routes.map(([, pattern]) => pattern));
	const route = async (request: Request, env: Env, ctx: ExecutionContext): Promise<Response> => {
		const router = routers.get(request.method);
		return router ? router.fetch(request, env, ctx) : missing(request as unknown as IRequest);
	};

	return {
		fetch(request, env, ctx) {
			const incoming = request.headers.get("x-request-id");
			const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
			return withRequestContext(requestId, async () => {
				const started = Date.now();
				const origins = allowedOrigins(env.CORS_ORIGINS);
				let response: Response;
				try {
					response = preflight(request, origins) ?? (await route(request, env, ctx));
				} catch (err) {
					response = toErrorResponse(err, requestId);
				}
				response = withCors(response, request, origins);
				response.headers.set("X-Request-Id", requestId);
				const url = new URL(request.url);
				log.info("[http]", "request", {
					method: request.method,
					path: url.pathname,
					status: response.status,
					ms: Date.now() - started,
					...requestCounters(),
					// The bench's per-database busy time (isolate totals so far): off unless D1_STATS is "on".
					...(d1StatsOn(env) ? { d1_db: d1Stats() } : {}),
				});
				return response;
			});
		},
	};
}
