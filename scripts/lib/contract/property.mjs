// The property-based pass: for every operation of the document, cases drawn by
// fast-check (which token, which ids, which mutation) with bodies from the
// document's schemas (./schemas.mjs). Valid requests go through Prism's
// validation proxy, which checks every answer against the document; requests
// Prism refuses as invalid are sent straight to the Worker, which must refuse
// them too, with a 4xx and the contract's error body.
import fc from "fast-check";
import { deref, MUTATIONS, mutate, validValue } from "./schemas.mjs";

export function operationsOf(doc) {
	return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
}

/** Real ids by path parameter name, so a share of the cases reach existing things. */
export async function knownIds(base, admin) {
	const get = async (path) => (await fetch(base + path, { headers: { authorization: `Bearer ${admin}` } })).json();
	const products = (await get("/admin/products")).products;
	return {
		product_id: products.map((p) => p.product_id),
		size: [...new Set(products.flatMap((p) => p.sizes))],
		warehouse_id: (await get("/admin/warehouses")).warehouses.map((w) => w.warehouse_id),
		order_id: (await get("/admin/orders?limit=50")).orders.map((o) => o.order_id),
		transfer_id: (await get("/admin/transfers?limit=50")).transfers.map((t) => t.transfer_id),
		webhook_id: (await get("/admin/webhooks")).webhooks.map((w) => w.webhook_id),
	};
}

const PRISM_ERROR = /stoplight\.io\/prism\/errors#/;

/**
 * Rules the Worker checks that JSON Schema cannot state (they depend on stored
 * data or on another field): a request the document allows may be refused for
 * these alone. docs/TESTING.md (Contract check) lists them.
 */
export const RULES_NOT_IN_THE_DOCUMENT = [
	{ field: /(^|\.)price$|amount$|(^|\.)unit_price$/, message: /at most two decimals/ },
	{ field: /cursor$/, message: /not a cursor from a previous page/ },
	{ field: /(^|\.)size$/, message: /comes in/ },
	{ field: /^sizes$/, message: /a kit has exactly one size/ },
	{ field: /^tracking_number$/, message: /required to mark an order shipped/ },
	{ field: /^to_warehouse_id$/, message: /must differ from from_warehouse_id/ },
	{ field: /^components$/, message: /list each component unit once/ },
]; 

async function send(url, { method, token, headers, body }) {
	const h = { ...headers };
	if (token) h.authorization = `Bearer ${token}`;
	let payload;
	if (body !== undefined) {
		h["content-type"] = "application/json";
		payload = JSON.stringify(body);
	}
	const res = await fetch(url, { method, headers: h, body: payload });
	const text = await res.text();
	let json;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	return { status: res.status, headers: res.headers, text, json };
}

function prismVerdict(r) {
	if (!(r.headers.get("content-type") ?? "").includes("problem+json") || !PRISM_ERROR.test(String(r.json?.type ?? ""))) return null;
	return String(r.json.type).split("#")[1];
}

/** One request's URL and headers for `op`, drawn from `c`. */
function requestFor(doc, entry, c, ids, tokens) {
	const params = entry.op.parameters ?? [];
	let path = entry.path;
	const query = new URLSearchParams();
	const headers = {};
	params.forEach((p, i) => {
		const seed = c.seed + 7919 * (i + 1);
		const known = ids[p.name] ?? [];
		if (p.in === "path") {
			const v = known.length > 0 && c.realIds ? known[c.pick % known.length] : validValue(doc, p.schema, seed);
			path = path.replace(`{${p.name}}`, encodeURIComponent(String(v)));
		} else if (p.in === "query" && (p.required || (c.pick + i) % 2 === 0)) {
			query.set(p.name, String(validValue(doc, p.schema, seed)));
		} else if (p.in === "header" && (p.required || (c.pick + i) % 2 === 0)) {
			headers[p.name] = String(validValue(doc, p.schema, seed)).replace(/[^\x21-\x7e]/g, "x") || "x";
		}
	});
	const secured = (entry.op.security ?? []).length > 0;
	const token = secured ? (c.admin ? tokens.admin : tokens.customer) : undefined;
	const qs = query.toString();
	return { path: qs ? `${path}?${qs}` : path, headers, token };
}

/**
 * Runs `runs` cases per operation, `concurrency` at a time. Returns the
 * figures and every failure (a 5xx, an answer off the document, an invalid
 * body the Worker did not refuse with a 4xx and the contract's error body).
 */
export async function propertyPass({ doc, base, prism, tokens, ids, seed, runs, concurrency = 4 }) {
	const ops = operationsOf(doc);
	const arb = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 30 }), pick: fc.nat(1000), admin: fc.boolean(), realIds: fc.boolean(), invalid: fc.boolean(), mutation: fc.constantFrom(...MUTATIONS) });
	const cases = ops.flatMap((entry, i) => fc.sample(arb, { seed: seed + i, numRuns: runs }).map((c) => ({ entry, c })));
	const figures = { operations: ops.length, cases: cases.length, requests: 0, through_prism: 0, invalid_sent: 0, invalid_refused: 0, prism_refused_valid: 0, mutants_accepted: 0, by_status: {}, refused_by_rule: {} };
	const failures = [];
	const fail = (entry, kind, detail) => failures.push({ operation: `${entry.method} ${entry.path}`, kind, detail });

	const runCase = async ({ entry, c }) => {
		const req = requestFor(doc, entry, c, ids, tokens);
		const schema = entry.op.requestBody?.content?.["application/json"]?.schema;
		let body = schema ? validValue(doc, schema, c.seed) : undefined;
		// Endpoints the pass registers get deliveries: aim them at a name that never resolves (RFC 6761's .invalid), so nothing calls out.
		if (entry.method === "POST" && entry.path === "/admin/webhooks" && typeof body?.url === "string") body.url = `https://hooks-${c.seed}.invalid/stockgate`;
		let mutation;
		if (schema && c.invalid) {
			mutation = mutate(doc, schema, body, c.mutation, c.pick);
			if (mutation) body = mutation.body;
		}
		const viaPrism = await send(prism + req.path, { method: entry.method, token: req.token, headers: req.headers, body });
		figures.requests++;
		const verdict = prismVerdict(viaPrism);
		if (verdict === "VIOLATIONS") {
			return fail(entry, "answer off the document", { status: viaPrism.status, request: { path: req.path, body }, validation: viaPrism.json?.validation });
		}
		if (verdict) {
			// Prism refused the request as invalid by the document (never forwarded): the Worker must refuse it too.
			if (!mutation) {
				figures.prism_refused_valid++;
				return;
			}
			const direct = await send(base + req.path, { method: entry.method, token: req.token, headers: req.headers, body });
			figures.requests++;
			figures.invalid_sent++;
			const documented = entry.op.responses[String(direct.status)] !== undefined;
			const contractBody = typeof direct.json?.error === "string" && typeof direct.json?.code === "string";
			if (direct.status >= 400 && direct.status < 500 && documented && contractBody) figures.invalid_refused++;
			else fail(entry, direct.status >= 500 ? "5xx" : "invalid body not refused", { status: direct.status, mutation: mutation.what, request: { path: req.path, body }, answer: direct.text.slice(0, 300) });
			return;
		}
		figures.through_prism++;
		if (mutation) figures.mutants_accepted++;
		figures.by_status[viaPrism.status] = (figures.by_status[viaPrism.status] ?? 0) + 1;
		if (viaPrism.status >= 500) return fail(entry, "5xx", { status: viaPrism.status, request: { path: req.path, body }, answer: viaPrism.text.slice(0, 300) });
		if (entry.op.responses[String(viaPrism.status)] === undefined) return fail(entry, "status not documented", { status: viaPrism.status, request: { path: req.path, body } });
		if (viaPrism.status === 400 && viaPrism.json?.code === "VALIDATION_ERROR") {
			// The document allowed this request, the Worker refused it: only a rule the document cannot state may do that.
			const details = Array.isArray(viaPrism.json.details) ? viaPrism.json.details : [];
			const unstated = details.filter((d) => !RULES_NOT_IN_THE_DOCUMENT.some((r) => r.field.test(d.field) && r.message.test(d.message)));
			for (const d of details) figures.refused_by_rule[`${d.field}: ${d.message}`.slice(0, 120)] = (figures.refused_by_rule[`${d.field}: ${d.message}`.slice(0, 120)] ?? 0) + 1;
			if (details.length === 0 || unstated.length > 0) return fail(entry, "request the document allows refused", { request: { path: req.path, body }, details: unstated.length ? unstated : viaPrism.json });
		}
		const violations = viaPrism.headers.get("sl-violations");
		if (violations && /"response/.test(violations) && /"severity":"Error"/.test(violations)) return fail(entry, "answer off the document", { status: viaPrism.status, violations: violations.slice(0, 500) });
	};

	let next = 0;
	const lane = async () => {
		while (next < cases.length) await runCase(cases[next++]);
	};
	await Promise.all(Array.from({ length: concurrency }, lane));
	return { figures, failures };
}

export { deref };
