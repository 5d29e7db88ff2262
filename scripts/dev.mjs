// npm start: the whole system locally, in one command.
//  1. creates .dev.vars with random local secrets if it is missing
//  2. builds the pages (Vite, into dist/: the Worker's static assets)
//  3. applies the D1 migrations to every local database, the catalog DB and
//     each order shard ORDERS_i (.wrangler/state), one line per database
//  4. starts `wrangler dev`, waits for /health
//  5. loads the demo data (idempotent) and prints the URLs and demo tokens last
// Each step prints one line; a tool's own output is shown only when its step
// fails. The Worker's logs go to .wrangler/dev.log (errors are echoed here);
// `npm start -- --logs` streams them all to the terminal instead.
// It also triggers the cron reconciler every minute, as the platform would.
// Ctrl-C stops wrangler. PORT (default 8787) picks the port; CORS_ORIGINS adds
// origins (a storefront on its own dev server) to the ones npm start trusts.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import net from "node:net";
import { join, relative } from "node:path";
import { migrateOrExit } from "./lib/d1.mjs";
import { loadDemo } from "./lib/demo.mjs";
import { ensureDevVars, root } from "./lib/devvars.mjs";
import { failWith, runCaptured } from "./lib/quiet.mjs";
import { mintToken } from "./lib/tokens.mjs";

const port = Number(process.env.PORT ?? 8787);
const base = `http://127.0.0.1:${port}`;
const streamLogs = process.argv.includes("--logs");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

/** Whether nothing listens on 127.0.0.1:port (the health check would otherwise reach whatever does). */
function portFree(p) {
	return new Promise((resolve) => {
		const probe = net.createServer();
		probe.once("error", () => resolve(false));
		probe.listen(p, "127.0.0.1", () => probe.close(() => resolve(true)));
	});
}
if (!(await portFree(port))) {
	console.error(`Port ${port} is in use on 127.0.0.1 (another npm start?): stop it, or choose another port, e.g. PORT=${port + 1} npm start`);
	process.exit(1);
}

const { created, vars } = ensureDevVars();
if (created) console.log("Created .dev.vars with fresh local secrets.");

const vite = join(root, "node_modules", "vite", "bin", "vite.js");
const build = runCaptured([vite, "build", "--logLevel", "warn"], { cwd: root, env });
if (!build.ok) failWith("Building the pages (vite build) failed:", build);
console.log("Pages built into dist/.");

for (const line of migrateOrExit({ root, wrangler, env, where: "local" })) console.log(line);

// The deployed configuration trusts no browser origin (wrangler.toml); locally the Worker's own
// origins are trusted, plus any the caller lists in CORS_ORIGINS.
const origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, ...(process.env.CORS_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean)];
const devVars = {
	// Enables POST /demo/tokens (demo customers for the storefront and the race page); never set when deployed.
	DEMO_TOKENS: "true",
	WEBHOOK_ALLOW_HTTP_LOCALHOST: "true",
	CORS_ORIGINS: origins.join(","),
};
// wrangler's output until the summary is out: shown only if stockgate does not come up.
let started = false;
const startup = [];
const dev = spawn(
	process.execPath,
	[wrangler, "dev", "--ip", "127.0.0.1", "--port", String(port), "--test-scheduled", ...Object.entries(devVars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
	{ cwd: root, env, stdio: ["ignore", "pipe", "pipe"] },
);
const stop = () => dev.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("close", (code) => {
	if (!started) console.error(`wrangler dev stopped before stockgate was up:\n\n${startup.join("\n").trim()}\n`);
	process.exit(code ?? 0);
});

// Everything wrangler and the Worker print goes to the log file; once the summary is out,
// errors (or, with --logs, every line) also reach the terminal.
const logFile = join(root, ".wrangler", "dev.log");
mkdirSync(join(root, ".wrangler"), { recursive: true });
const log = createWriteStream(logFile, { flags: "w" });
const isError = (line) => /"level":"error"|\[ERROR\]/.test(line);
function onOutput(stream) {
	let partial = "";
	stream.on("data", (chunk) => {
		log.write(chunk);
		const lines = (partial + chunk.toString()).split("\n");
		partial = lines.pop();
		for (const line of lines) {
			if (!started) startup.push(line);
			else if (streamLogs || isError(line)) console.log(line);
		}
	});
}
onOutput(dev.stdout);
onOutput(dev.stderr);

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
	console.error(`stockgate did not answer on ${base}/health within 90 s. wrangler dev said:\n\n${startup.join("\n").trim()}\n`);
	stop();
	process.exit(1);
}
console.log(`Worker up: wrangler dev on ${base} (logs: ${relative(process.cwd(), logFile)}).`);

const adminToken = await mintToken(vars.JWT_SECRET, { sub: "demo-admin", admin: true });
const customerToken = await mintToken(vars.JWT_SECRET, { sub: "demo-customer", email: "demo-customer@example.com" });
try {
	const demo = await loadDemo(base, adminToken, customerToken);
	console.log(`Demo data loaded: ${demo.products} products, ${demo.warehouses} warehouses (${demo.stocked} stocked now), ${demo.orders} demo orders placed.`);
} catch (err) {
	console.error(`Loading demo data failed: ${err.message} (details in ${relative(process.cwd(), logFile)})`);
}

// wrangler dev does not fire cron triggers by itself: tick the reconciler every minute.
const cron = setInterval(() => {
	fetch(`${base}/__scheduled?cron=*+*+*+*+*`).catch(() => {});
}, 60_000);
dev.on("exit", () => clearInterval(cron));

console.log(`
Try:
  curl ${base}/products
  curl -H "Authorization: Bearer <admin token>" ${base}/admin/warehouses/wh-east/stock
  The reconciler runs every minute; run it now with curl "${base}/__scheduled?cron=*+*+*+*+*"
  Worker logs: tail -f ${relative(process.cwd(), logFile)} (or npm start -- --logs)

Demo customer token (sub demo-customer, email demo-customer@example.com, 7 days; order emails land under .wrangler/tmp):
  ${customerToken}

Demo admin token (sub demo-admin, role admin, 7 days):
  ${adminToken}

stockgate is running. Press Ctrl-C to stop.
  Shop:    ${base}/
  Console: ${base}/admin#token=${adminToken}
           (signs the demo admin in; the token stays in the URL fragment, never sent to the server)
  API:     ${base}   (reference: ${base}/docs, OpenAPI: ${base}/openapi.json)
`);
started = true;
