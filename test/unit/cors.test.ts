import { describe, expect, it } from "vitest";
import { allowedOrigins, preflight, withCors } from "../../src/http/cors";
import wranglerToml from "../../wrangler.toml?raw";

/** CORS_ORIGINS as wrangler.toml ships it: the value a deployment gets unless the shop sets its own. */
function shippedCorsOrigins(): string {
	const vars = /^\[vars\]$([\s\S]*?)^\[/m.exec(wranglerToml)?.[1] ?? "";
	const line = /^CORS_ORIGINS\s*=\s*"([^"]*)"\s*$/m.exec(vars);
	if (!line) throw new Error("wrangler.toml has no CORS_ORIGINS under [vars]");
	return line[1]!;
}

const localOrigins = ["http://localhost:3000", "http://localhost:5173", "http://localhost:8787", "http://127.0.0.1:8787", "http://[::1]:8787", "null"];

function corsHeaders(setting: string | undefined, origin: string) {
	const origins = allowedOrigins(setting);
	const get = withCors(new Response("{}"), new Request("https://api.example/health", { headers: { origin } }), origins);
	const options = preflight(
		new Request("https://api.example/cart/place-order", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } }),
		origins,
	)!;
	return [get.headers, options.headers];
}

describe("CORS defaults", () => {
	it("the shipped configuration trusts no localhost origin", () => {
		const setting = shippedCorsOrigins();
		for (const origin of localOrigins) {
			for (const headers of corsHeaders(setting, origin)) {
				expect(headers.get("access-control-allow-origin"), origin).toBeNull();
				expect(headers.get("access-control-allow-credentials"), origin).toBeNull();
			}
		}
	});

	it("an empty or unset CORS_ORIGINS sends no CORS headers at all", () => {
		for (const setting of ["", " , ", undefined]) {
			for (const headers of corsHeaders(setting, "https://shop.example")) {
				expect([...headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
				expect(headers.get("vary")).toBe("Origin");
			}
		}
	});

	it("a wildcard is never reflected, so credentials are never allowed for every origin", () => {
		for (const setting of ["*", "*, https://shop.example"]) {
			for (const headers of corsHeaders(setting, "https://evil.example")) {
				expect(headers.get("access-control-allow-origin")).toBeNull();
			}
		}
		const [get] = corsHeaders("*, https://shop.example", "https://shop.example");
		expect(get!.get("access-control-allow-origin")).toBe("https://shop.example");
		expect(get!.get("access-control-allow-credentials")).toBe("true");
	});
});
