// The Worker for the contract check: built pages, wrangler.toml as deployed, on
// an ephemeral 127.0.0.1 port with its own persist dir and secrets, migrations
// applied (bench/lib/host.mjs does that, in its own process), demo data loaded,
// and an admin and a customer token.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { forkHost } from "../../../bench/lib/hosts.mjs";
import { loadDemo } from "../demo.mjs";
import { root } from "../devvars.mjs";
import { mintToken } from "../tokens.mjs";

export async function startWorker() {
	if (!existsSync(join(root, "dist"))) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
	const tmp = mkdtempSync(join(tmpdir(), "stockgate-contract-"));
	const secret = randomBytes(32).toString("hex");
	const envFile = join(tmp, "contract.env");
	// DEMO_TOKENS: POST /demo/tokens is in the document, so it is served and checked too.
	writeFileSync(envFile, `JWT_SECRET=${secret}\nPAYMENT_WEBHOOK_SECRET=${randomBytes(32).toString("hex")}\nSTRIPE_SECRET_KEY=sk_test_contract\nSTRIPE_WEBHOOK_SECRET=whsec_${randomBytes(24).toString("hex")}\nSTRIPE_API_BASE=http://127.0.0.1:9\nDEMO_TOKENS=true\n`, { mode: 0o600 });
	const persistDir = join(tmp, "state");
	mkdirSync(persistDir);
	const host = forkHost("stockgate");
	const stop = async () => {
		await host.stop();
		rmSync(tmp, { recursive: true, force: true });
	};
	try {
		const info = await host.call("start", { name: "stockgate", configPath: join(root, "wrangler.toml"), persistDir, envFile }, 180_000);
		const base = info.url.replace(/\/$/, "");
		const adminToken = await mintToken(secret, { sub: "contract-admin", admin: true, expiresIn: "2h" });
		const customerToken = await mintToken(secret, { sub: "demo-customer", email: "demo-customer@example.com", expiresIn: "2h" });
		await loadDemo(base, adminToken, customerToken);
		return { base, tmp, adminToken, customerToken, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}
