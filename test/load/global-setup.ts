/**
 * Builds the Worker once for the whole load project, the way it is deployed:
 * `wrangler deploy --dry-run --outdir` bundles src/index.ts into one ES module
 * without uploading anything. Every suite boots that bundle in Miniflare
 * (harness.ts); nothing here runs the source through Vite.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
	export interface ProvidedContext {
		loadBundleDir: string;
	}
}

const root = join(import.meta.dirname, "..", "..");

export default function setup(project: TestProject) {
	const outDir = mkdtempSync(join(tmpdir(), "stockgate-load-build-"));
	// The pages (static assets) are not what the storms exercise, and `dist/` may not be
	// built: an empty directory stands in for it, which leaves the Worker's bundle as it is.
	const noAssets = mkdtempSync(join(tmpdir(), "stockgate-load-assets-"));
	const started = Date.now();
	const run = spawnSync(
		process.execPath,
		[
			join(root, "node_modules", "wrangler", "bin", "wrangler.js"),
			"deploy",
			"--dry-run",
			"--outdir",
			outDir,
			"--assets",
			noAssets,
			"--config",
			join(root, "wrangler.toml"),
		],
		{
			cwd: root,
			encoding: "utf8",
			env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", WRANGLER_LOG: "error" },
		},
	);
	if (run.status !== 0) throw new Error(`wrangler build failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
	console.log(`[load] built the Worker in ${Date.now() - started} ms into ${outDir}`);
	project.provide("loadBundleDir", outDir);
	return () => {
		rmSync(outDir, { recursive: true, force: true });
		rmSync(noAssets, { recursive: true, force: true });
	};
}
