/**
 * Opaque pagination cursors: base64url of the last row's sort key. A cursor
 * that does not decode is a validation error, not a 500.
 */
import { z } from "zod";

const Key = z.tuple([z.string().min(1).max(64), z.string().min(1).max(128)]);

export function encodeCursor(key: { created_at: string; order_id: string }): string {
	return btoa(JSON.stringify([key.created_at, key.order_id])).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string): { created_at: string; order_id: string } | null {
	try {
		const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
		const parsed = Key.safeParse(JSON.parse(json));
		return parsed.success ? { created_at: parsed.data[0], order_id: parsed.data[1] } : null;
	} catch {
		return null;
	}
}
