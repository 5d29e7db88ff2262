// npm run token -- --sub alice [--admin] [--email alice@example.com] [--expires 7d]
// Prints a token signed with the JWT_SECRET in .dev.vars (created if missing).
import { parseArgs } from "node:util";
import { ensureDevVars } from "./lib/devvars.mjs";
import { mintToken } from "./lib/tokens.mjs";

const { values } = parseArgs({
	options: {
		sub: { type: "string", default: "demo-customer" },
		admin: { type: "boolean", default: false },
		email: { type: "string" },
		expires: { type: "string", default: "7d" },
	},
});
const { vars } = ensureDevVars();
if (!vars.JWT_SECRET) {
	console.error("JWT_SECRET is missing from .dev.vars");
	process.exit(1);
}
console.log(await mintToken(vars.JWT_SECRET, { sub: values.sub, admin: values.admin, email: values.email, expiresIn: values.expires }));
