// Talking to a system under test: start it on the shared host, call its HTTP API,
// load a scenario's catalog, warehouses, stock and carts, mint buyers' tokens.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pool } from "../../scripts/lib/pool.mjs";
import { openShop } from "../../scripts/lib/shop.mjs";
import { mintToken } from "../../scripts/lib/tokens.mjs";
import { agentFor, send } from "./load.mjs";
import { PROFILE, SETUP_CONCURRENCY } from "./options.mjs";

export async function startSystem(host, sys, tmp, envFile, compatFrom) {
	const persistDir = join(tmp, sys.name.replace(/[^a-z0-9]+/gi, "-"));
	mkdirSync(persistDir, { recursive: true });
	const info = await host.call("start", { name: sys.name, configPath: sys.config, persistDir, envFile, compatFrom, inspect: PROFILE && (sys.name === "stockgate" || sys.name === "baseline") }, 180_000);
	const call = (cmd, payload = {}, timeoutMs) => host.call(cmd, { name: sys.name, ...payload }, timeoutMs);
	return { ...sys, call, ...info, pids: { runtime: null, host: host.pid }, persistDir, active: [], agent: agentFor(SETUP_CONCURRENCY) };
}

// ---- API helpers (identical for every system) ---------------------------------------------------

export async function api(sys, method, path, body, token) {
	const res = await send(sys.url, sys.agent, { method, path, body, token });
	if (res.status < 200 || res.status >= 300) throw new Error(`${sys.name}: ${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

/** Catalog, warehouses (the previous scenario's are deactivated, so only this scenario's count), stock, and every buyer's cart. */
export async function prepare(sys, sc, admin, tokens) {
	for (const w of sys.active) await api(sys, "PUT", `/admin/warehouses/${w.id}`, { name: w.name, postal_code: w.postal_code, region: w.region, country: w.country, active: false }, admin);
	// Purchase limits exist on stockgate only; the baseline takes the same products without them.
	const products = sys.limits ? sc.products : sc.products.map(({ max_per_customer: _, ...p }) => p);
	const warehouses = sc.warehouses.map((w) => ({ ...w, stock: sc.stock[w.id] }));
	await openShop((method, path, body) => api(sys, method, path, body, admin), { products, warehouses, reason: "benchmark" }, { concurrency: 8 });
	sys.active = sc.warehouses;
	await pool(sc.buyers, SETUP_CONCURRENCY, async (b) => {
		for (const l of b.lines) await api(sys, "POST", "/cart/items", l, tokens.get(b.sub));
		await api(sys, "PUT", "/cart/address", b.address, tokens.get(b.sub));
	});
}

export async function mintAll(secret, subs) {
	const out = new Map();
	await pool(subs, 32, async (sub) => out.set(sub, await mintToken(secret, { sub, expiresIn: "2h" })));
	return out;
}
