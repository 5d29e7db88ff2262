/**
 * /docs in Chromium against the real Worker (harness.ts): the Scalar reference
 * bundled into the build renders every operation of the served /openapi.json,
 * its "Test Request" reaches this same origin, it fits a 390 px screen, and no
 * request leaves for another host (no web fonts, telemetry or request proxy).
 * Screenshots at 1280 and 390 px go to test-artifacts/browser/.
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifacts, findChromium, guardedContext, launch, startShop, type Shop } from "./harness";

const chromiumPath = findChromium();
if (!chromiumPath) {
	const message = "Browser tests did not run: no Chromium found (install Debian's `chromium` package, or set CHROMIUM_PATH).";
	if (process.env.CI === "true") throw new Error(message);
	console.warn(message);
}

type Operation = { method: string; path: string; summary: string };

describe.skipIf(!chromiumPath)("/docs in Chromium", () => {
	let shop: Shop;
	let browser: Browser;
	let context: BrowserContext;
	let foreign: string[];
	let errors: string[];
	let page: Page;
	let operations: Operation[];

	beforeAll(async () => {
		shop = await startShop();
		browser = await launch(chromiumPath!);
		({ context, foreign, errors } = await guardedContext(browser, shop.base));
		page = await context.newPage();
		const doc = (await (await fetch(`${shop.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { summary: string }>> };
		operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, summary: op.summary })));
	}, 180_000);

	afterAll(async () => {
		await browser?.close();
		await shop?.dispose();
		// Nothing was asked of another host, and the page threw nothing.
		expect(foreign).toEqual([]);
		expect(errors).toEqual([]);
	}, 60_000);

	it("is the bundled reference page, not a Worker answer", async () => {
		const res = await page.goto(`${shop.base}/docs`);
		expect(res?.status()).toBe(200);
		expect(res?.headers()["content-type"]).toMatch(/text\/html/);
		expect(await page.title()).toBe("stockgate API reference");
		const scripts = await page.locator("script[src]").evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).src));
		expect(scripts.length).toBeGreaterThan(0);
		for (const src of scripts) expect(new URL(src).pathname).toMatch(/^\/assets\//);
	});

	// The page is heavy (Scalar): the tests below share the one load above.
	it("shows every route of /openapi.json", async () => {
		expect(operations.length).toBeGreaterThan(20);
		const last = operations.at(-1)!;
		await page.getByText(last.path, { exact: true }).first().waitFor({ state: "attached", timeout: 30_000 });
		const text = await page.locator("body").innerText();
		// Every path with its method, and every summary (the sidebar's entries).
		const missing = operations.filter((op) => !text.includes(op.path) || !text.includes(op.summary));
		expect(missing).toEqual([]);
		await page.setViewportSize({ width: 1280, height: 900 });
		await page.screenshot({ path: join(artifacts, "docs-1280.png") });
	});

	it("fits a 390 px screen", async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.getByText("stockgate", { exact: true }).first().waitFor({ timeout: 30_000 });
		await page.screenshot({ path: join(artifacts, "docs-390.png") });
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		expect(overflow).toBeLessThanOrEqual(0);
		await page.setViewportSize({ width: 1280, height: 900 });
	});

	it("sends a test request to this same origin", async () => {
		const sent: string[] = [];
		page.on("request", (r) => sent.push(r.url()));
		const open = page.getByRole("button", { name: /Test Request.*get \/health/i });
		await open.scrollIntoViewIfNeeded();
		await open.click();
		await page.getByRole("button", { name: /^Send/ }).first().click();
		await page.getByText("200 OK").first().waitFor({ timeout: 30_000 });
		expect(sent).toContain(`${shop.base}/health`);
		await page.screenshot({ path: join(artifacts, "docs-test-request-1280.png") });
	});

	it("asked nothing of another host", () => {
		// Scalar's defaults would fetch fonts.scalar.com (checked: switching withDefaultFonts on fails here).
		expect(foreign).toEqual([]);
	});
});
