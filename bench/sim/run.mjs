// `npm run sim`: loads the TypeScript simulation through Vite's module runner (the sources and src/'s
// extensionless imports run in Node without a build step, as scripts/gen-client.mjs does) and runs it.
import { join } from "node:path";
import { runnerImport } from "vite";

const root = join(import.meta.dirname, "..", "..");
const { module } = await runnerImport("/bench/sim/cli.ts", { configFile: false, root, logLevel: "error" });
process.exitCode = await module.main(process.argv.slice(2));
