import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** The files the workers-commit-first project runs again with COMMIT_AFTER_ANSWER=false (docs/TESTING.md). */
const COMMIT_FIRST_FILES = [
	"test/checkout/faults.test.ts",
	"test/checkout/edges.test.ts",
	"test/checkout/shortcut.test.ts",
	"test/checkout/commit-later.test.ts",
	"test/http/checkout.test.ts",
	"test/http/checkout-races.test.ts",
	"test/http/idempotency.test.ts",
	"test/events/order-events.test.ts",
];

export default defineConfig(async () => {
	const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
	/** The Workers runtime of the workers projects, checkout committing after the answer or not. */
	const workersRuntime = (commitAfterAnswer: string) =>
		cloudflareTest({
			wrangler: { configPath: "./wrangler.toml" },
			miniflare: {
				bindings: {
					TEST_MIGRATIONS: migrations,
					JWT_SECRET: "test-jwt-secret-not-for-production",
					PAYMENT_WEBHOOK_SECRET: "test-webhook-secret",
					CORS_ORIGINS: "https://shop.example",
					// The webhook tests deliver to a receiver on 127.0.0.1 (test/webhooks/receiver.mts).
					WEBHOOK_ALLOW_HTTP_LOCALHOST: "true",
					// Replays a randomized test's seed inside workerd (test/checkout/random.test.ts).
					STOCKGATE_SEED: process.env.STOCKGATE_SEED ?? "",
					COMMIT_AFTER_ANSWER: commitAfterAnswer,
				},
			},
		});
	const workersTest = {
		setupFiles: ["./test/helpers/apply-migrations.ts"],
		// A webhook receiver and a fake Stripe API, both on 127.0.0.1 (test/stripe/fake-stripe.mts).
		globalSetup: ["./test/webhooks/receiver.mts", "./test/stripe/fake-stripe.mts"],
		testTimeout: 30_000,
		// Console lines go straight to the output instead of through Vitest's console RPC: a log written
		// after a test file ended (a gathered commit or event send finishing) raced the RPC's teardown and
		// failed a green run ("Closing rpc while onUserConsoleLog was pending", vitest-dev/vitest#11153).
		disableConsoleIntercept: true,
	};
	return {
		test: {
			// The Worker's structured JSON logs are silenced in the load and browser projects' output (STOCKGATE_TEST_LOGS=1 shows
			// them); the workers project prints them as they come (see disableConsoleIntercept below).
			onConsoleLog: (line: string) => (process.env.STOCKGATE_TEST_LOGS === "1" || !line.startsWith('{"level"') ? undefined : false),
			projects: [
				{
					// Tests inside the Workers runtime (the source through the Vitest pool), checkout in the production
					// default: the holds are committed after the answer, gathered per warehouse (src/checkout/commitLater.ts).
					// A test that reads committed stock waits for the gathered commit (test/helpers/commits.ts).
					plugins: [workersRuntime(process.env.STOCKGATE_COMMIT_AFTER_ANSWER ?? "true")],
					test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/load/**", "test/browser/**", "test/sim/**", "test/scripts/**"], ...workersTest },
				},
				{
					// The same runtime with checkout committing before the answer (COMMIT_AFTER_ANSWER=false), for the
					// files that cover that mode's own paths: commits and their faults inside the request, the placed
					// event published by the request, and the HTTP answers that go with them.
					plugins: [workersRuntime("false")],
					test: { name: "workers-commit-first", include: COMMIT_FIRST_FILES, ...workersTest },
				},
				{
					// The Node-side scripts' pure parts (scripts/lib/): wrangler.toml rewriting, the shard creation plan with wrangler mocked.
					test: { name: "scripts", include: ["test/scripts/**/*.test.ts"], environment: "node" },
				},
				{
					// The capacity simulation (bench/sim/), plain TypeScript in Node: calibration and the scale-out claim.
					test: {
						name: "sim",
						include: ["test/sim/**/*.test.ts"],
						environment: "node",
						// Last, alone: a claim run is CPU-bound for a quarter of a minute.
						sequence: { groupOrder: 3 },
						testTimeout: 300_000,
						// As `npm run sim`: a young generation large enough for the run's short-lived events.
						execArgv: ["--max-semi-space-size=64"],
						// The claim's run and the minimality runs (test/sim/minimal.test.ts) side by side on two cores.
						maxWorkers: 2,
					},
				},
				{
					// Load storms from Node against the built Worker in Miniflare over real HTTP (test/load/README.md).
					test: {
						name: "load",
						include: ["test/load/**/*.test.ts"],
						environment: "node",
						globalSetup: ["./test/load/global-setup.ts"],
						// One Worker at a time, after the workers project: the machine has few cores.
						fileParallelism: false,
						sequence: { groupOrder: 1 },
						testTimeout: 120_000,
						hookTimeout: 120_000,
					},
				},
				{
					// The pages in headless Chromium against wrangler's dev server (test/browser/harness.ts).
					test: {
						name: "browser",
						include: ["test/browser/**/*.test.ts"],
						environment: "node",
						fileParallelism: false,
						// After the workers and load projects: the machine has few cores.
						sequence: { groupOrder: 2 },
						testTimeout: 60_000,
						hookTimeout: 180_000,
					},
				},
			],
		},
	};
});
