/**
 * The browser tests' world: the Worker served by wrangler's own dev server
 * (`unstable_startWorker`: the wrangler.toml config, static assets included) on
 * an ephemeral 127.0.0.1 port with its own persist dir, the D1 migrations
 * applied and the demo data loaded; and headless Chromium (Debian's `chromium`
 * package) driven by playwright-core. Every page gets a request guard: a
 * request for another host is aborted and recorded, and the test fails on it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { unstable_startWorker } from "wrangler";
import { migrateAll } from "../../scripts/lib/d1.mjs";
import { loadDemo } from "../../scripts/lib/demo.mjs";
import { mintToken } from "../../scripts/lib/tokens.mjs";

export const root = join(import.meta.dirname, "..", "..");
export const artifacts = join(root, "test-artifacts", "browser");

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);

/** Debian's Chromium, when installed (CHROMIUM_PATH overrides). */
export function findChromium(): string | null {
	return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

const JWT_SECRET = "browser-tests-jwt-secret";
const PAYMENT_WEBHOOK_SECRET = "browser-tests-webhook-secret";

export interface Shop {
	base: string;
	adminToken: string;
	customerToken: string;
	dispose(): Promise<void>;
}

export async function startShop(): Promise<Shop> {
	const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
	// The dev server's own info lines (queue batches, mails) would drown the test output.
	process.env.WRANGLER_LOG ??= "error";
	const persist = mkdtempSync(join(tmpdir(), "stockgate-browser-"));
	const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
	// Every database: the catalog DB and each order shard.
	migrateAll({ root, wrangler, env, where: "local", persistTo: persist });

	const worker = await unstable_startWorker({
		config: join(root, "wrangler.toml"),
		bindings: {
			DEMO_TOKENS: { type: "plain_text", value: "true" },
			JWT_SECRET: { type: "plain_text", value: JWT_SECRET },
			PAYMENT_WEBHOOK_SECRET: { type: "plain_text", value: PAYMENT_WEBHOOK_SECRET },
		},
		dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, liveReload: false, persist, logLevel: "error" },
	});
	await worker.ready;
	const base = (await worker.url).origin;
	const adminToken = await mintToken(JWT_SECRET, { sub: "demo-admin", admin: true, email: undefined });
	const customerToken = await mintToken(JWT_SECRET, { sub: "demo-customer", email: "demo-customer@example.com" });
	await loadDemo(base, adminToken, customerToken);
	return {
		base,
		adminToken,
		customerToken,
		async dispose() {
			await worker.dispose();
			rmSync(persist, { recursive: true, force: true });
		},
	};
}

export async function launch(executablePath: string): Promise<Browser> {
	// --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
	return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
}

/** A browser context whose requests may only go to `base`; others are aborted and listed in `foreign`. */
export async function guardedContext(browser: Browser, base: string): Promise<{ context: BrowserContext; foreign: string[]; errors: string[] }> {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const foreign: string[] = [];
	const errors: string[] = [];
	const origin = new URL(base).origin;
	await context.route("**/*", (route) => {
		const url = route.request().url();
		if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
		foreign.push(url);
		return route.abort();
	});
	context.on("page", (page) => page.on("pageerror", (e) => errors.push(e.message)));
	return { context, foreign, errors };
}

/** Screenshots of the page as it is now, at 1280 and 390 px wide, into test-artifacts/browser/. */
export async function shoot(page: Page, name: string): Promise<void> {
	mkdirSync(artifacts, { recursive: true });
	const size = page.viewportSize() ?? { width: 1280, height: 900 };
	for (const width of [1280, 390]) {
		await page.setViewportSize({ width, height: 900 });
		await page.waitForTimeout(150);
		await page.screenshot({ path: join(artifacts, `${name}-${width}.png`), fullPage: true });
	}
	await page.setViewportSize(size);
}

/** Visible form controls without an accessible name (label, aria-label, aria-labelledby, or a button's text). */
export async function unnamedControls(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const out: string[] = [];
		for (const el of Array.from(document.querySelectorAll<HTMLElement>("input, select, textarea, button"))) {
			if (el.offsetParent === null || (el as HTMLInputElement).type === "hidden") continue;
			const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
			const text = el.tagName === "BUTTON" && el.textContent?.trim();
			if (!labelled && !text) out.push(el.outerHTML.slice(0, 120));
		}
		return out;
	});
}

/** The visible controls' markup, to tell whether the page is still rendering. */
function controlsSnapshot(page: Page): Promise<string> {
	return page.evaluate(() =>
		Array.from(document.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href]"))
			.filter((el) => el.offsetParent !== null)
			.map((el) => el.outerHTML)
			.join("\n"),
	);
}

/** Waits until the controls stop changing (fetches that re-render the page have landed), at most `timeoutMs`. */
export async function settled(page: Page, timeoutMs = 10_000): Promise<void> {
	const until = Date.now() + timeoutMs;
	let last = await controlsSnapshot(page);
	while (Date.now() < until) {
		await page.waitForTimeout(250);
		const now = await controlsSnapshot(page);
		if (now === last) return;
		last = now;
	}
}

/**
 * Visible, enabled controls that pressing Tab from the top of the page never
 * reaches. A page that re-renders during the walk (a late fetch replaces some
 * controls) makes the walk meaningless, so it is walked again on a settled page;
 * only a page that never holds still reports the replaced controls as failures.
 */
export async function unreachableByTab(page: Page): Promise<string[]> {
	let result: { unreachable: string[]; replaced: number } = { unreachable: [], replaced: 0 };
	for (let attempt = 0; attempt < 3; attempt++) {
		await settled(page);
		result = await tabWalk(page);
		if (result.replaced === 0) return result.unreachable;
	}
	return [...result.unreachable, `${result.replaced} control(s) replaced while Tab was walked (the page never settled)`];
}

async function tabWalk(page: Page): Promise<{ unreachable: string[]; replaced: number }> {
	await page.evaluate(() => {
		let i = 0;
		for (const el of Array.from(document.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href]"))) el.dataset.tabProbe = String(i++);
		(document.activeElement as HTMLElement | null)?.blur();
		window.scrollTo(0, 0);
	});
	const targets: string[] = await page.evaluate(() =>
		Array.from(document.querySelectorAll<HTMLElement>("input, select, textarea, button"))
			.filter((el) => el.offsetParent !== null && !(el as HTMLButtonElement).disabled && (el as HTMLInputElement).type !== "hidden")
			.map((el) => el.dataset.tabProbe!),
	);
	const reached = new Set<string>();
	const radioGroups = new Set<string>();
	for (let i = 0; i < targets.length * 2 + 40; i++) {
		await page.keyboard.press("Tab");
		const probe = await page.evaluate(() => {
			const el = document.activeElement as HTMLInputElement | null;
			return el ? { probe: el.dataset.tabProbe ?? "", radio: el.type === "radio" ? el.name : "" } : null;
		});
		if (probe?.probe) reached.add(probe.probe);
		if (probe?.radio) radioGroups.add(probe.radio);
	}
	// A radio group is one Tab stop (arrow keys move inside it): reaching one of its buttons reaches the group.
	return page.evaluate(
		({ targets, reached, radioGroups }) => {
			const missed = targets.filter((t) => !reached.includes(t)).map((t) => document.querySelector<HTMLInputElement>(`[data-tab-probe="${t}"]`));
			return {
				replaced: missed.filter((el) => el === null).length,
				unreachable: missed
					.filter((el): el is HTMLInputElement => el !== null)
					.filter((el) => !(el.type === "radio" && radioGroups.includes(el.name)))
					.map((el) => el.outerHTML.slice(0, 120)),
			};
		},
		{ targets, reached: [...reached], radioGroups: [...radioGroups] },
	);
}
