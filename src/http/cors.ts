/**
 * CORS for the storefront: only origins listed in CORS_ORIGINS are reflected,
 * always with credentials allowed and never with `*`.
 */
const ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const EXPOSE_HEADERS = "X-Request-Id, Idempotent-Replayed";

/** The last setting parsed and its origins: the setting is per deployment, so every request asks for the same one. */
let parsed: { setting: string | undefined; origins: Set<string> } | undefined;

/** The origins CORS_ORIGINS lists (callers must not change the set: it is shared). */
export function allowedOrigins(setting: string | undefined): Set<string> {
	if (!parsed || parsed.setting !== setting) parsed = { setting, origins: parseOrigins(setting) };
	return parsed.origins;
}

function parseOrigins(setting: string | undefined): Set<string> {
	return new Set(
		(setting ?? "")
			.split(",")
			.map((s) => s.trim())
			.filter((s) => s.length > 0 && s !== "*"),
	);
}

function originIfAllowed(request: Request, origins: Set<string>): string | undefined {
	const origin = request.headers.get("origin");
	return origin && origins.has(origin) ? origin : undefined;
}

/** The answer to an OPTIONS preflight, or undefined when the request is not one. */
export function preflight(request: Request, origins: Set<string>): Response | undefined {
	if (request.method !== "OPTIONS") return undefined;
	const origin = originIfAllowed(request, origins);
	const headers = new Headers({ Vary: "Origin" });
	if (origin) {
		headers.set("Access-Control-Allow-Origin", origin);
		headers.set("Access-Control-Allow-Credentials", "true");
		headers.set("Access-Control-Allow-Methods", ALLOW_METHODS);
		headers.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
		headers.set("Access-Control-Max-Age", "600");
	}
	return new Response(null, { status: 204, headers });
}

export function withCors(response: Response, request: Request, origins: Set<string>): Response {
	const origin = originIfAllowed(request, origins);
	response.headers.append("Vary", "Origin");
	if (origin) {
		response.headers.set("Access-Control-Allow-Origin", origin);
		response.headers.set("Access-Control-Allow-Credentials", "true");
		response.headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
	}
	return response;
}
