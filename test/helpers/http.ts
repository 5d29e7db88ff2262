/** Calls the Worker under test through its real fetch handler. */
import { exports } from "cloudflare:workers";
import { token } from "./auth";

export interface Call {
	status: number;
	headers: Headers;
	body: any;
}

export type CallOptions = { body?: unknown; auth?: string; headers?: Record<string, string>; raw?: string };

export function requestOf(method: string, path: string, opts: CallOptions): Request {
	const headers = new Headers(opts.headers);
	if (opts.auth) headers.set("authorization", `Bearer ${opts.auth}`);
	let body: string | undefined = opts.raw;
	if (opts.body !== undefined) {
		body = JSON.stringify(opts.body);
		if (!headers.has("content-type")) headers.set("content-type", "application/json");
	}
	return new Request(`https://stockgate.test${path}`, { method, headers, body });
}

export async function answerOf(res: Response): Promise<Call> {
	const text = await res.text();
	let parsed: unknown = text;
	try {
		parsed = text ? JSON.parse(text) : undefined;
	} catch {
		/* not JSON */
	}
	return { status: res.status, headers: res.headers, body: parsed };
}

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Call> {
	return answerOf(await exports.default.fetch(requestOf(method, path, opts)));
}

let adminToken: string | undefined;
export async function admin(): Promise<string> {
	return (adminToken ??= await token("admin-1", { admin: true }));
}

export function uid(prefix: string): string {
	return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Creates a warehouse and a product through the admin API; returns their ids. */
export async function seedCatalog(opts: { warehouses?: Array<{ postal_code?: string; region?: string; country?: string }>; sizes?: string[]; price?: number } = {}) {
	const auth = await admin();
	const product_id = uid("p");
	const sizes = opts.sizes ?? ["S", "M", "L"];
	await call("PUT", `/admin/products/${product_id}`, { auth, body: { name: `Product ${product_id}`, price: opts.price ?? 12.99, sizes } });
	const warehouse_ids: string[] = [];
	for (const w of opts.warehouses ?? [{}]) {
		const id = uid("wh");
		const r = await call("PUT", `/admin/warehouses/${id}`, {
			auth,
			body: { name: `Warehouse ${id}`, postal_code: w.postal_code ?? "10001", region: w.region ?? "NY", country: w.country ?? "US" },
		});
		if (r.status !== 200) throw new Error(`seed warehouse: ${JSON.stringify(r.body)}`);
		warehouse_ids.push(id);
	}
	return { product_id, sizes, warehouse_ids };
}
