import { describe, expect, it } from "vitest";
import { call } from "../helpers/http";

describe("GET /health", () => {
	it("answers ok with a request id", async () => {
		const r = await call("GET", "/health");
		expect(r.status).toBe(200);
		expect(r.body).toEqual({ ok: true });
		expect(r.headers.get("x-request-id")).toMatch(/.{8,}/);
	});
});
