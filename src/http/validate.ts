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
	const field = (path: PropertyKey[]) => [prefix, path.map(String).join(".")].filter(Boolean).join(".") || "(root)";
	// A strict object's unknown keys are one issue at the object: list each key as its own field.
	return error.issues.flatMap((issue) =>
		issue.code === "unrecognized_keys"
			? issue.keys.map((key) => ({ field: field([...issue.path, key]), message: "unknown field" }))
			: [{ field: field(issue.path), message: issue.message }],
	);
}

/**
 * Parses `input` with `schema` or fails with 400 VALIDATION_ERROR listing every
 * offending field. Body schemas are `z.strictObject`s: a field the schema does not
 * know is an error too (a money API should not silently drop `price` or `total` a
 * client thought it was setting), and the document says so with
 * `additionalProperties: false`. A provider's signed events, whose shape grows
 * without notice, are `z.looseObject`s. Query strings ignore unknown names.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: "body" | "query" | "path" | "header"): z.output<S> {
	const result = schema.safeParse(input);
	const prefix = where === "body" ? undefined : where;
	const fields = result.success ? [] : issuesOf(result.error, prefix);
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
