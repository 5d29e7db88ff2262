// stock.changed costs nothing until someone wants it: the Warehouse objects
// mark changes only while an active endpoint subscribes to stock.changed. The
// admin API tells them when such an endpoint is registered or deleted, and the
// reconciler tells them on every run (a warehouse added later, an endpoint
// disabled for failing).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { StockChanged } from "../../src/events/types";
import { reconcile } from "../../src/ops/reconcile";
import { GATHER_MS, SEND_DELAY_MS } from "../../src/stock/object/changes";
import { admin, call } from "../helpers/http";
import { recordEvents } from "../helpers/orders";
import { makeShop, type Shop } from "../helpers/shop";
import { useClock, type TestClock } from "../helpers/stock";
import { register } from "../helpers/webhooks";

const events = recordEvents();
let shop: Shop;
beforeAll(async () => {
	shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 5 } }, { postal_code: "94103", region: "CA", stock: { "0/M": 5 } }] });
});

const clocks = new Map<string, TestClock>();

/**
 * Moves the warehouse's own clock past a whole gathering window and has it send
 * what is due (resolveDue flushes its events), as its timer would by then: a
 * change it marked is out after this, so "nothing was sent" needs no waiting.
 */
async function windowPassed(w: string): Promise<void> {
	const stub = env.WAREHOUSE.getByName(w);
	const clock = clocks.get(w) ?? (await useClock(stub));
	clocks.set(w, clock);
	clock.advance(GATHER_MS + SEND_DELAY_MS);
	await stub.resolveDue();
}

const changesAt = (w: string) => events.all().filter((e): e is StockChanged => e.type === "stock.changed" && e.warehouse_id === w);

async function setStock(w: string, onHand: number) {
	const r = await call("PUT", `/admin/warehouses/${w}/stock`, { auth: await admin(), body: { items: [{ product_id: shop.products[0]!, size: "M", on_hand: onHand }] } });
	expect(r.status).toBe(200);
}

describe("stock.changed only while an endpoint wants it", () => {
	it("no subscribed endpoint: a stock change produces no stock.changed; registering one turns it on at every warehouse; deleting it turns it off", async () => {
		const [w1, w2] = shop.warehouses as [string, string];
		await setStock(w1, 7);
		await windowPassed(w1);
		expect(changesAt(w1)).toEqual([]);

		// An endpoint for other events only changes nothing.
		await register("https://erp.shop.example/orders-only", ["order.placed"]);
		await setStock(w1, 8);
		await windowPassed(w1);
		expect(changesAt(w1)).toEqual([]);

		const ep = await register("https://erp.shop.example/stock", ["stock.changed"]);
		await setStock(w1, 9);
		await setStock(w2, 4);
		await vi.waitFor(() => expect(changesAt(w1).at(-1)).toMatchObject({ on_hand: 9 }), { timeout: 5_000, interval: 20 });
		await vi.waitFor(() => expect(changesAt(w2).at(-1)).toMatchObject({ on_hand: 4 }), { timeout: 5_000, interval: 20 });

		const del = await call("DELETE", `/admin/webhooks/${ep.webhook_id}`, { auth: await admin() });
		expect(del.status).toBe(204);
		await windowPassed(w1); // the last event's window is over: anything it still held is out
		const before = changesAt(w1).length;
		await setStock(w1, 3);
		await windowPassed(w1);
		expect(changesAt(w1)).toHaveLength(before);
	});

	it("the reconciler tells a warehouse that was not told (one added after the endpoint)", async () => {
		await register("https://erp.shop.example/stock-2", ["stock.changed"]);
		const put = await call("PUT", "/admin/warehouses/wh-late", { auth: await admin(), body: { name: "Late", postal_code: "60601", region: "IL", country: "US", active: true } });
		expect(put.status).toBe(200);
		const late = env.WAREHOUSE.getByName("wh-late");
		// Not told yet: switching it on now reports a change.
		expect(await late.listenForChanges(false)).toEqual({ changed: false });
		await reconcile(env, Date.now());
		expect(await late.listenForChanges(true)).toEqual({ changed: false });
		await setStock("wh-late", 2);
		await vi.waitFor(() => expect(changesAt("wh-late").at(-1)).toMatchObject({ on_hand: 2 }), { timeout: 5_000, interval: 20 });
	});
});
