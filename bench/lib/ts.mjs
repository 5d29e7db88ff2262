// TypeScript modules of the repository loaded into the bench's Node process through
// Vite's module runner (as `npm run sim` does): the shard names of src/stock and the
// history checker of test/checker, used as they are rather than copied.
import { join } from "node:path";
import { runnerImport } from "vite";

const root = join(import.meta.dirname, "..", "..");
const loaded = new Map();

/** `path` from the repository's root, e.g. "/test/checker/falseRefusals.ts"; loaded once. */
export function importTs(path) {
	if (!loaded.has(path)) loaded.set(path, runnerImport(path, { configFile: false, root, logLevel: "error" }).then((r) => r.module));
	return loaded.get(path);
}
