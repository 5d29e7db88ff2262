/**
 * Request input, checked before any handler sees it: JSON bodies (415 when not
 * JSON, 413 over 64 KiB, 400 INVALID_JSON when malformed) and zod validation of
 * bodies, path params and queries (400 VALIDATION_ERROR listing every field;
 * unknown body fields included).
 */
import { z } from "zod";
import { fail } from "./errors";

export const MAX_BODY_BYTES = 64 * 1024;

export interface FieldIssue {
	field: string;
	message: string;
}

export function issuesOf(error: z.ZodError, prefix?: string): FieldIssue[] {
	return error.issues.map((issue) => {
		const path = issue.path.map(String).join(".");
		return { field: [prefix, path].filter(Boolean).join(".") || "(root)", message: issue.message };
	});
}

/** How deep unknownFields() follows the parsed shape (request schemas are far shallower). */
const MAX_SHAPE_DEPTH = 32;

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Keys of `input` that the schema dropped from `output` (zod objects strip unknown
 * keys). Walks the parsed output, not the input, so a deeply nested body costs
 * no more than the schema's own depth; a value the schema passed through as is
 * (same reference) is not searched.
 */
function unknownFields(input: unknown, output: unknown, path: string[], out: FieldIssue[], depth = 0): void {
	if (input === output || depth > MAX_SHAPE_DEPTH) return;
	if (Array.isArray(input) && Array.isArray(output)) {
		for (let i = 0; i < Math.min(input.length, output.length); i++) unknownFields(input[i], output[i], [...path, String(i)], out, depth + 1);
	} else if (isRecord(input) && isRecord(output)) {
		for (const key of Object.keys(input)) {
			if (!Object.hasOwn(output, key)) out.push({ field: [...path, key].join("."), message: "unknown field" });
			else unknownFields(input[key], output[key], [...path, key], out, depth + 1);
		}
	}
}

/**
 * Parses `input` with `schema` or fails with 400 VALIDATION_ERROR listing every
 * offending field. Bodies are strict: a field the schema does not know is an
 * error too (a money API should not silently drop `price` or `total` a client
 * thought it was setting), unless `allowUnknown` (a provider's signed events,
 * whose shape grows without notice). Query strings ignore unknown names.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: "body" | "query" | "path" | "header", opts: { allowUnknown?: boolean } = {}): z.output<S> {
	const result = schema.safeParse(input);
	const prefix = where === "body" ? undefined : where;
	const fields = result.success ? [] : issuesOf(result.error, prefix);
	if (result.success && where === "body" && !opts.allowUnknown) unknownFields(input, result.data, [], fields);
	if (fields.length > 0) {
		const names = [...new Set(fields.map((f) => f.field))].join(", ");
		fail("VALIDATION_ERROR", `Invalid request ${where}: check ${names}.`, fields);
	}
	return result.data as z.output<S>;
}

function isJsonContentType(value: string | null): boolean {
	if (!value) return false;
	const type = value.split(";")[0]!.trim().toLowerCase();
	return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/** Reads at most MAX_BODY_BYTES, so a chunked body without Content-Length cannot exhaust memory. */
async function readLimited(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > MAX_BODY_BYTES) {
			await reader.cancel().catch(() => {});
			fail("PAYLOAD_TOO_LARGE", `Request body is larger than ${MAX_BODY_BYTES} bytes.`);
		}
		chunks.push(value);
	}
	const out = new Uint8Array(total);
	let offset = 0;
	for (const c of chunks) {
		out.set(c, offset);
		offset += c.byteLength;
	}
	return out;
}

/**
 * The parsed JSON body, or `undefined` when the request has none (an empty POST is
 * allowed: the body schema then decides whether fields are required).
 */
export async function readJsonBody(request: Request): Promise<{ raw: string; value: unknown } | undefined> {
	const declared = request.headers.get("content-length");
	if (declared !== null && Number(declared) > MAX_BODY_BYTES) {
		fail("PAYLOAD_TOO_LARGE", `Request body is larger than ${MAX_BODY_BYTES} bytes.`);
	}
	if (!request.body) return undefined;
	// With a valid Content-Length (checked above) the body cannot be longer: read it in one go; otherwise count as it comes.
	const length = declared === null ? Number.NaN : Number(declared);
	const bytes = Number.isSafeInteger(length) && length >= 0 ? new Uint8Array(await request.arrayBuffer()) : await readLimited(request.body);
	if (bytes.byteLength === 0) return undefined;
	if (!isJsonContentType(request.headers.get("content-type"))) {
		fail("UNSUPPORTED_MEDIA_TYPE", "Request body must be JSON (Content-Type: application/json).");
	}
	let raw: string;
	try {
		raw = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
	} catch {
		fail("INVALID_JSON", "Request body is not valid UTF-8 JSON.");
	}
	try {
		return { raw, value: JSON.parse(raw) };
	} catch {
		fail("INVALID_JSON", "Request body is not valid JSON.");
	}
}
