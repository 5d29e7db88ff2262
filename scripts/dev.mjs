// npm start: the whole system locally, in one command.
//  1. creates .dev.vars with random local secrets if it is missing
//  2. builds the pages (Vite, into dist/: the Worker's static assets)
//  3. applies the D1 migrations to the local database (.wrangler/state)
//  4. starts `wrangler dev`, waits for /health
//  5. loads the demo data (idempotent) and prints the URLs and demo tokens
// It also triggers the cron reconciler every minute, as the platform would.
// Ctrl-C stops wrangler. PORT (default 8787) picks the port.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { ensureDevVars, root } from "./lib/devvars.mjs";
import { loadDemo } from "./lib/demo.mjs";
import { mintToken } from "./lib/tokens.mjs";

const port = Number(process.env.PORT ?? 8787);
const base = `http://127.0.0.1:${port}`;
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

const { created, vars } = ensureDevVars();
if (created) console.log("Created .dev.vars with fresh local secrets.");

console.log("Building the pages (vite build)...");
const vite = join(root, "node_modules", "vite", "bin", "vite.js");
const build = spawnSync(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: root, env, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log("Applying D1 migrations locally...");
const migrate = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", "orders-db", "--local"], { cwd: root, env: { ...env, CI: "true" }, stdio: "inherit" });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// DEMO_TOKENS enables POST /demo/tokens (demo customers for the storefront and the race page); never set when deployed.
const dev = spawn(process.execPath, [wrangler, "dev", "--ip", "127.0.0.1", "--port", String(port), "--test-scheduled", "--var", "DEMO_TOKENS:true", "--var", "WEBHOOK_ALLOW_HTTP_LOCALHOST:true"], {
	cwd: root,
	env,
	stdio: ["inherit", "inherit", "inherit"],
});
const stop = () => dev.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 0));

async function waitForHealth(deadline) {
	while (Date.now() < deadline) {
		try {
			const res = await fetch(`${base}/health`);
			if (res.ok) return true;
		} catch {
			/* not up yet */
		}
		await new Promise((r) => setTimeout(r, 300));
	}
	return false;
}

if (!(await waitForHealth(Date.now() + 90_000))) {
	console.error(`stockgate did not answer on ${base}/health within 90 s.`);
	stop();
	process.exit(1);
}

const adminToken = await mintToken(vars.JWT_SECRET, { sub: "demo-admin", admin: true });
const customerToken = await mintToken(vars.JWT_SECRET, { sub: "demo-customer", email: "demo-customer@example.com" });
try {
	const demo = await loadDemo(base, adminToken, customerToken);
	console.log(`Demo data loaded: ${demo.products} products, ${demo.warehouses} warehouses (${demo.stocked} stocked now), ${demo.orders} demo orders placed.`);
} catch (err) {
	console.error(`Loading demo data failed: ${err.message}`);
}

// wrangler dev does not fire cron triggers by itself: tick the reconciler every minute.
const cron = setInterval(() => {
	fetch(`${base}/__scheduled?cron=*+*+*+*+*`).catch(() => {});
}, 60_000);
dev.on("exit", () => clearInterval(cron));

console.log(`
stockgate is running.
  Shop:    ${base}/
  Console: ${base}/admin#token=${adminToken}
           (signs the demo admin in; the token stays in the URL fragment, never sent to the server)
  API:    ${base}
  Docs:   ${base}/docs   (OpenAPI: ${base}/openapi.json)
  Cron:   the reconciler runs every minute; run it now with curl "${base}/__scheduled?cron=*+*+*+*+*"

Demo customer token (sub demo-customer, email demo-customer@example.com, 7 days; order emails land under .wrangler/tmp):
  ${customerToken}

Demo admin token (sub demo-admin, role admin, 7 days):
  ${adminToken}

Try:
  curl ${base}/products
  curl -H "Authorization: Bearer <admin token>" ${base}/admin/warehouses/wh-east/stock
Press Ctrl-C to stop.
`);
