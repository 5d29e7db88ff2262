// The admin API of webhooks: register (generated whsec_ secret), list, delete,
// the deliveries of an endpoint page by page, URL rules, auth, and the OpenAPI
// document listing these routes.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { attemptAll, deliverDue, storeMessages } from "../../src/webhooks/delivery";
import { token } from "../helpers/auth";
import { admin, call, uid } from "../helpers/http";
import { register, scriptedReceiver, transferEvent } from "../helpers/webhooks";

async function create(body: unknown, e = env) {
	const res = await worker.fetch!(
		new Request("https://stockgate.test/admin/webhooks", { method: "POST", headers: { authorization: `Bearer ${await admin()}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
		e,
		createExecutionContext(),
	);
	return { status: res.status, body: (await res.json()) as any };
}

describe("registering an endpoint", () => {
	it("answers 201 with the endpoint and a generated whsec_ secret; the list shows it with its secret", async () => {
		const url = `https://erp.shop.example/hooks/${uid("h")}`;
		const r = await call("POST", "/admin/webhooks", { auth: await admin(), body: { url, events: ["order.placed", "stock.changed"], description: "ERP" } });
		expect(r.status).toBe(201);
		expect(r.body).toEqual({
			webhook_id: expect.stringMatching(/^wh_[0-9a-f]{32}$/),
			url,
			events: ["order.placed", "stock.changed"],
			description: "ERP",
			secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
			active: true,
			created_at: expect.any(String),
			disabled_at: null,
		});
		const other = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["stock.low"]);
		expect(other.secret).not.toBe(r.body.secret);
		const list = await call("GET", "/admin/webhooks", { auth: await admin() });
		expect(list.status).toBe(200);
		expect(list.body.webhooks).toContainEqual(r.body);
		expect(list.body.webhooks.find((w: any) => w.webhook_id === other.webhook_id)).toMatchObject({ secret: other.secret, description: null });
	});

	it.each([
		[{ url: "http://erp.shop.example/hooks", events: ["order.placed"] }, "url"],
		[{ url: "ftp://erp.shop.example/hooks", events: ["order.placed"] }, "url"],
		[{ url: "not a url", events: ["order.placed"] }, "url"],
		[{ url: "https://u:p@erp.shop.example/", events: ["order.placed"] }, "url"],
		[{ url: "https://erp.shop.example/hooks", events: [] }, "events"],
		[{ url: "https://erp.shop.example/hooks", events: ["order.refunded"] }, "events.0"],
		[{ url: "https://erp.shop.example/hooks", events: ["order.placed", "order.placed"] }, "events"],
		[{ url: "https://erp.shop.example/hooks" }, "events"],
		[{ events: ["order.placed"] }, "url"],
		[{ url: "https://erp.shop.example/hooks", events: ["order.placed"], secret: "whsec_mine" }, "secret"],
	])("refuses %j with 400 VALIDATION_ERROR naming %s, and stores nothing", async (body, field) => {
		const before = (await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks.length;
		const r = await call("POST", "/admin/webhooks", { auth: await admin(), body });
		expect(r.status).toBe(400);
		expect(r.body).toMatchObject({ code: "VALIDATION_ERROR", error: expect.any(String) });
		expect(r.body.details.map((d: { field: string }) => d.field)).toContain(field);
		expect((await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks).toHaveLength(before);
	});

	it.each([
		"https://127.0.0.1/hooks",
		"https://[::1]/hooks",
		"https://0.0.0.0/hooks",
		"https://169.254.169.254/latest/meta-data/",
		"https://10.0.0.1/hooks",
		"https://192.168.0.1:22/",
		"https://2130706433/hooks",
		"https://0x7f.1/hooks",
		"https://0177.0.0.1/hooks",
		"https://[::ffff:127.0.0.1]/hooks",
		"https://[64:ff9b::10.0.0.1]/hooks",
		"https://[fd00::1]/hooks",
		"https://[fe80::1]/hooks",
		"https://100.64.0.1/hooks",
		"https://224.0.0.1/hooks",
		"https://metadata.google.internal/computeMetadata/v1/",
		"https://localhost./hooks",
		"https://api.localhost/hooks",
		"https://printer.local/hooks",
	])("refuses %s, an inward target, with 400 VALIDATION_ERROR on url and stores nothing, deployed and under npm start", async (url) => {
		const before = (await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks.length;
		for (const allow of ["false", "true"]) {
			const r = await create({ url, events: ["order.placed"] }, { ...env, WEBHOOK_ALLOW_HTTP_LOCALHOST: allow });
			expect(r.status, allow).toBe(400);
			expect(r.body).toMatchObject({ code: "VALIDATION_ERROR", details: [{ field: "url", message: expect.stringMatching(/^must be a public host \(/) }] });
		}
		expect((await call("GET", "/admin/webhooks", { auth: await admin() })).body.webhooks).toHaveLength(before);
	});

	it("lets exactly http://localhost and http://127.0.0.1 through when WEBHOOK_ALLOW_HTTP_LOCALHOST is true, and no other inward target", async () => {
		const off = { ...env, WEBHOOK_ALLOW_HTTP_LOCALHOST: "false" };
		const on = { ...env, WEBHOOK_ALLOW_HTTP_LOCALHOST: "true" };
		for (const url of ["http://localhost:3000/hooks", "http://127.0.0.1:9000/hooks"]) {
			const refused = await create({ url, events: ["order.paid"] }, off);
			expect(refused.status).toBe(400);
			expect(refused.body).toMatchObject({ code: "VALIDATION_ERROR", details: [{ field: "url", message: expect.stringMatching(/is a loopback address\)$/) }] });
			expect((await create({ url, events: ["order.paid"] }, on)).status).toBe(201);
		}
		for (const url of ["https://localhost:8443/hooks", "https://127.0.0.1/hooks", "http://192.168.1.10/hooks", "http://169.254.169.254/", "https://metadata.google.internal/", "http://[::1]:3000/hooks", "http://10.0.0.1/hooks"]) {
			const refused = await create({ url, events: ["order.paid"] }, on);
			expect(refused.status, url).toBe(400);
			expect(refused.body.details).toEqual([{ field: "url", message: expect.stringMatching(/^must be a public host \(/) }]);
		}
		const plain = await create({ url: "http://shop.example/hooks", events: ["order.paid"] }, on);
		expect(plain.body.details).toEqual([{ field: "url", message: "must be https (plain http only to localhost or 127.0.0.1)" }]);
	});

	it("is for admins only: 401 without a token, 403 for a customer", async () => {
		const body = { url: "https://erp.shop.example/hooks", events: ["order.placed"] };
		expect((await call("POST", "/admin/webhooks", { body })).status).toBe(401);
		const customer = await token(uid("user"));
		expect((await call("POST", "/admin/webhooks", { auth: customer, body })).status).toBe(403);
		expect((await call("GET", "/admin/webhooks", { auth: customer })).status).toBe(403);
		expect((await call("DELETE", "/admin/webhooks/wh_x", { auth: customer })).status).toBe(403);
		expect((await call("GET", "/admin/webhooks/wh_x/deliveries", { auth: customer })).status).toBe(403);
	});
});

describe("deleting an endpoint", () => {
	it("answers 204, then the endpoint and its deliveries are gone (404), and it receives nothing more", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["transfer.updated"]);
		const auth = await admin();
		const r = await call("DELETE", `/admin/webhooks/${ep.webhook_id}`, { auth });
		expect(r.status).toBe(204);
		expect(r.body).toBeUndefined();
		expect((await call("GET", "/admin/webhooks", { auth })).body.webhooks.map((w: any) => w.webhook_id)).not.toContain(ep.webhook_id);
		expect((await call("DELETE", `/admin/webhooks/${ep.webhook_id}`, { auth })).status).toBe(404);
		expect((await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries`, { auth })).status).toBe(404);
		const jobs = await storeMessages(env, [transferEvent()], Date.now());
		expect(jobs.filter((j) => j.webhook_id === ep.webhook_id)).toEqual([]);
	});

	it("refuses a malformed id with 400", async () => {
		expect((await call("DELETE", "/admin/webhooks/bad%20id", { auth: await admin() })).status).toBe(400);
	});
});

describe("the deliveries of an endpoint", () => {
	it("lists every attempt newest first, page by page with next_cursor", async () => {
		const receiver = scriptedReceiver();
		const url = `https://erp.shop.example/hooks/${uid("h")}`;
		const ep = await register(url, ["transfer.updated"]);
		receiver.listen(url, ep.secret, ["fail", "fail", "ok"]);
		const t0 = Date.now();
		const event = transferEvent(t0);
		const jobs = (await storeMessages(env, [event], t0)).filter((j) => j.webhook_id === ep.webhook_id);
		await attemptAll(env, jobs, t0, { send: receiver.send });
		await deliverDue(env, t0 + 5_000, { send: receiver.send });
		await deliverDue(env, t0 + 65_000, { send: receiver.send });

		const auth = await admin();
		const first = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?limit=2`, { auth });
		expect(first.status).toBe(200);
		expect(first.body.deliveries.map((d: any) => [d.attempt, d.status_code, d.event_id, d.event_type])).toEqual([
			[3, 200, event.event_id, "transfer.updated"],
			[2, 503, event.event_id, "transfer.updated"],
		]);
		expect(first.body.next_cursor).toEqual(expect.any(String));
		const second = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?limit=2&cursor=${first.body.next_cursor}`, { auth });
		expect(second.body.deliveries.map((d: any) => [d.attempt, d.status_code, d.error])).toEqual([[1, 503, "http_503"]]);
		expect(second.body.next_cursor).toBeNull();
	});

	it("an endpoint with no attempts has an empty list; a bad cursor or limit is 400", async () => {
		const ep = await register(`https://erp.shop.example/hooks/${uid("h")}`, ["stock.low"]);
		const auth = await admin();
		expect((await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries`, { auth })).body).toEqual({ deliveries: [], next_cursor: null });
		for (const q of ["cursor=nope", "cursor=ZDA", "limit=0", "limit=101", "limit=x"]) {
			const r = await call("GET", `/admin/webhooks/${ep.webhook_id}/deliveries?${q}`, { auth });
			expect(r.status, q).toBe(400);
			expect(r.body.code).toBe("VALIDATION_ERROR");
		}
	});
});

describe("the OpenAPI document", () => {
	it("lists the webhook routes with their schemas", async () => {
		const r = await call("GET", "/openapi.json");
		expect(r.status).toBe(200);
		const paths = r.body.paths;
		expect(Object.keys(paths)).toEqual(expect.arrayContaining(["/admin/webhooks", "/admin/webhooks/{webhook_id}", "/admin/webhooks/{webhook_id}/deliveries"]));
		expect(Object.keys(paths["/admin/webhooks"]).sort()).toEqual(["get", "post"]);
		expect(paths["/admin/webhooks"].post.responses).toHaveProperty("201");
		expect(paths["/admin/webhooks/{webhook_id}"].delete.responses).toHaveProperty("204");
		expect(paths["/admin/webhooks/{webhook_id}/deliveries"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["webhook_id", "limit", "cursor"]));
	});
});
