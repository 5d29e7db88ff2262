/**
 * The baseline's small HTTP layer: JSON answers, the contract's error body,
 * bearer-token auth (HS256, the same library and checks as stockgate) and body
 * validation with zod. Deliberately plain: this Worker stands for the usual
 * design, not for a framework.
 */
import { jwtVerify } from "jose";
import { z } from "zod";

export interface Env {
	DB: D1Database;
	JWT_SECRET: string;
	CURRENCY?: string;
	TAX_RATE?: string;
}

export interface User {
	id: string;
	admin: boolean;
}

export class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

export function fail(status: number, code: string, message: string, details?: unknown): never {
	throw new HttpError(status, code, message, details);
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

export function errorResponse(err: unknown): Response {
	if (err instanceof HttpError) {
		const body: Record<string, unknown> = { error: err.message, code: err.code };
		if (err.details !== undefined) body.details = err.details;
		return json(body, err.status);
	}
	console.error(JSON.stringify({ level: "error", tag: "[error]", event: "unhandled", error: String(err) }));
	return json({ error: "Something went wrong on our side.", code: "INTERNAL" }, 500);
}

export async function authenticate(request: Request, env: Env): Promise<User> {
	const m = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
	if (!m) fail(401, "UNAUTHORIZED", "Missing bearer token.");
	try {
		const { payload } = await jwtVerify(m[1]!, new TextEncoder().encode(env.JWT_SECRET), { algorithms: ["HS256"], requiredClaims: ["exp", "sub"] });
		const roles = Array.isArray(payload.roles) ? payload.roles : [];
		return { id: String(payload.sub), admin: payload.role === "admin" || roles.includes("admin") };
	} catch {
		fail(401, "UNAUTHORIZED", "Invalid or expired token.");
	}
}

export async function body<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
	const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
	if (type !== "application/json") fail(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
	const text = await request.text();
	if (text.length > 64 * 1024) fail(413, "PAYLOAD_TOO_LARGE", "The body is larger than 64 KiB.");
	let value: unknown = {};
	if (text.trim() !== "") {
		try {
			value = JSON.parse(text);
		} catch {
			fail(400, "INVALID_JSON", "The body is not valid JSON.");
		}
	}
	const parsed = schema.safeParse(value);
	if (!parsed.success) {
		const details = parsed.error.issues.map((i) => ({ field: i.path.map(String).join(".") || "(root)", message: i.message }));
		fail(400, "VALIDATION_ERROR", "Invalid request body.", details);
	}
	return parsed.data;
}

export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const Size = z.string().regex(/^[A-Za-z0-9._-]{1,32}$/);

export const Address = z.object({
	name: z.string().trim().min(1).max(200),
	line1: z.string().trim().min(1).max(200),
	line2: z.string().trim().max(200).optional(),
	city: z.string().trim().min(1).max(100),
	region: z.string().trim().min(1).max(100),
	postal_code: z.string().trim().min(1).max(20),
	country: z.string().regex(/^[A-Z]{2}$/),
	phone: z.string().optional(),
});
export type Address = z.infer<typeof Address>;

export const ProductBody = z.object({
	name: z.string().min(1).max(200),
	price: z.number().nonnegative(),
	sizes: z.array(Size).min(1).max(50),
	active: z.boolean().default(true),
});

export const WarehouseBody = z.object({
	name: z.string().min(1).max(200),
	postal_code: z.string().min(1).max(20),
	region: z.string().min(1).max(100),
	country: z.string().regex(/^[A-Z]{2}$/),
	active: z.boolean().default(true),
});

export const SetStockBody = z.object({
	items: z.array(z.object({ product_id: Id, size: Size, on_hand: z.int().min(0) })).min(1).max(1000),
	reason: z.string().max(200).optional(),
});

export const AddItemBody = z.object({ product_id: Id, size: Size, quantity: z.int().min(1).max(100) });

export const PlaceOrderBody = z.object({ delivery_mode: z.enum(["standard", "express"]).default("standard") });

export function cents(major: number): number {
	return Math.round(major * 100);
}

export function major(c: number): number {
	return Math.round(c) / 100;
}
