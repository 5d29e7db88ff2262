// Reads and creates .dev.vars (local secrets for `wrangler dev`).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..", "..");
const file = join(root, ".dev.vars");

export function parseVars(text) {
	const vars = {};
	for (const line of text.split(/\r?\n/)) {
		const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
		if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
	}
	return vars;
}

/** Creates .dev.vars from .dev.vars.example with fresh random secrets when it is missing. */
export function ensureDevVars() {
	if (existsSync(file)) return { created: false, vars: parseVars(readFileSync(file, "utf8")) };
	const example = readFileSync(join(root, ".dev.vars.example"), "utf8");
	const text = example
		.replace(/^JWT_SECRET=.*$/m, `JWT_SECRET=${randomBytes(32).toString("hex")}`)
		.replace(/^PAYMENT_WEBHOOK_SECRET=.*$/m, `PAYMENT_WEBHOOK_SECRET=${randomBytes(32).toString("hex")}`);
	writeFileSync(file, text, { mode: 0o600 });
	return { created: true, vars: parseVars(text) };
}
