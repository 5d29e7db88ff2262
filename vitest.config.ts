import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
	const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						TEST_MIGRATIONS: migrations,
						JWT_SECRET: "test-jwt-secret-not-for-production",
						PAYMENT_WEBHOOK_SECRET: "test-webhook-secret",
						CORS_ORIGINS: "https://shop.example",
					},
				},
			}),
		],
		test: {
			include: ["test/**/*.test.ts"],
			setupFiles: ["./test/helpers/apply-migrations.ts"],
			testTimeout: 30_000,
			// The Worker's structured JSON logs are silenced in test output; STOCKGATE_TEST_LOGS=1 shows them.
			onConsoleLog: (line: string) => (process.env.STOCKGATE_TEST_LOGS === "1" || !line.startsWith('{"level"') ? undefined : false),
		},
	};
});
