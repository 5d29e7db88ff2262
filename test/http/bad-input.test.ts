// The bad-input catalogue: one table of malformed requests over every endpoint
// family (cart, checkout, fulfillment, orders, admin catalog and stock,
// deduct/restore, the payment webhook, admin orders). Each must get the
// contract's 4xx with `{ error, code }` (the exact status and code), never a
// 5xx, and the whole catalogue must change nothing: every warehouse's stock,
// holds and ledger, and the row count of every D1 table, are the same after it.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { signPayload } from "../../src/payments/signature";
import { admin, call, uid, type Call } from "../helpers/http";
import { customerWithOrder, eventsFlushed } from "../helpers/orders";
import { ADDRESS, makeShop } from "../helpers/shop";
import { sleep } from "../helpers/time";
import { allShards } from "../helpers/shards";

type Who = "none" | "customer" | "admin";
interface Case {
	name: string;
	method: string;
	/** A function when the path needs ids made in beforeAll. */
	path: string | (() => string);
	who: Who;
	body?: unknown | (() => unknown);
	/** Sent as is (no JSON encoding); with `body` absent. */
	raw?: string | Uint8Array;
	headers?: Record<string, string>;
	/** Sign the raw body as the payment provider would (valid signature, now). */
	signed?: boolean;
	status: number;
	code: string;
}

let product = "";
let warehouse = "";
let order = { order_id: "", total: 0, currency: "USD" };
let customerAuth = "";

const TWO_53 = 2 ** 53;
const LONG_ID = "a".repeat(65);
const unit = () => ({ product_id: product, size: "M" });
const line = (quantity: unknown) => ({ ...unit(), quantity });
const move = (over: Record<string, unknown>) => ({ warehouse_id: warehouse, ...unit(), quantity: 1, ...over });
const adjust = (over: Record<string, unknown>) => ({ ...unit(), delta: 1, reason: "correction", ...over });
const payment = (over: Record<string, unknown>) => ({ id: uid("evt"), type: "payment.succeeded", order_id: order.order_id, amount: order.total, currency: "USD", ...over });
const nested = (depth: number) => `{"items":${"[".repeat(depth)}${"]".repeat(depth)}}`;
const V = { status: 400, code: "VALIDATION_ERROR" } as const;
const NOT_FOUND = { status: 404, code: "NOT_FOUND" } as const;

const cases: Case[] = [
	// ---- cart ----------------------------------------------------------------------------
	{ name: "cart add: quantity as a string", method: "POST", path: "/cart/items", who: "customer", body: () => line("2"), ...V },
	{ name: "cart add: quantity zero", method: "POST", path: "/cart/items", who: "customer", body: () => line(0), ...V },
	{ name: "cart add: quantity negative", method: "POST", path: "/cart/items", who: "customer", body: () => line(-1), ...V },
	{ name: "cart add: quantity fractional", method: "POST", path: "/cart/items", who: "customer", body: () => line(1.5), ...V },
	{ name: "cart add: quantity huge", method: "POST", path: "/cart/items", who: "customer", body: () => line(1_000_000), ...V },
	{ name: "cart add: quantity beyond 2^53", method: "POST", path: "/cart/items", who: "customer", raw: `{"product_id":"p1","size":"M","quantity":${TWO_53 + 2}}`, headers: { "content-type": "application/json" }, ...V },
	{ name: "cart add: quantity 1e400 (parses as Infinity)", method: "POST", path: "/cart/items", who: "customer", raw: `{"product_id":"p1","size":"M","quantity":1e400}`, headers: { "content-type": "application/json" }, ...V },
	{ name: "cart add: quantity \"NaN\"", method: "POST", path: "/cart/items", who: "customer", body: () => line("NaN"), ...V },
	{ name: "cart add: quantity \"Infinity\"", method: "POST", path: "/cart/items", who: "customer", body: () => line("Infinity"), ...V },
	{ name: "cart add: quantity missing", method: "POST", path: "/cart/items", who: "customer", body: () => unit(), ...V },
	{ name: "cart add: extra field (price)", method: "POST", path: "/cart/items", who: "customer", body: () => ({ ...line(1), price: 0.01 }), ...V },
	{ name: "cart add: product_id over 64 characters", method: "POST", path: "/cart/items", who: "customer", body: { product_id: LONG_ID, size: "M", quantity: 1 }, ...V },
	{ name: "cart add: product_id holding /", method: "POST", path: "/cart/items", who: "customer", body: { product_id: "a/b", size: "M", quantity: 1 }, ...V },
	{ name: "cart add: product_id ..", method: "POST", path: "/cart/items", who: "customer", body: { product_id: "..", size: "M", quantity: 1 }, ...V },
	{ name: "cart add: product_id with a NUL", method: "POST", path: "/cart/items", who: "customer", body: { product_id: "p\u0000", size: "M", quantity: 1 }, ...V },
	{ name: "cart add: product_id with unicode", method: "POST", path: "/cart/items", who: "customer", body: { product_id: "pé", size: "M", quantity: 1 }, ...V },
	{ name: "cart add: size with an emoji", method: "POST", path: "/cart/items", who: "customer", body: () => ({ product_id: product, size: "M😀", quantity: 1 }), ...V },
	{ name: "cart add: body is an array", method: "POST", path: "/cart/items", who: "customer", body: [1, 2], ...V },
	{ name: "cart add: body is JSON null", method: "POST", path: "/cart/items", who: "customer", raw: "null", headers: { "content-type": "application/json" }, ...V },
	{ name: "cart add: body is a string", method: "POST", path: "/cart/items", who: "customer", body: "M", ...V },
	{ name: "cart add: text/plain", method: "POST", path: "/cart/items", who: "customer", raw: '{"quantity":1}', headers: { "content-type": "text/plain" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
	{ name: "cart add: form encoded", method: "POST", path: "/cart/items", who: "customer", raw: "product_id=p&size=M&quantity=1", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
	{ name: "cart add: malformed JSON", method: "POST", path: "/cart/items", who: "customer", raw: '{"product_id":', headers: { "content-type": "application/json" }, status: 400, code: "INVALID_JSON" },
	{ name: "cart add: not UTF-8", method: "POST", path: "/cart/items", who: "customer", raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), headers: { "content-type": "application/json" }, status: 400, code: "INVALID_JSON" },
	{ name: "cart add: body over 64 KiB", method: "POST", path: "/cart/items", who: "customer", raw: JSON.stringify({ product_id: "p", size: "M", quantity: 1, pad: "x".repeat(70_000) }), headers: { "content-type": "application/json" }, status: 413, code: "PAYLOAD_TOO_LARGE" },
	{ name: "cart add: deeply nested body", method: "POST", path: "/cart/items", who: "customer", raw: nested(20_000), headers: { "content-type": "application/json" }, ...V },
	{ name: "cart set: quantity 101", method: "PUT", path: () => `/cart/items/${product}/M`, who: "customer", body: { quantity: 101 }, ...V },
	{ name: "cart set: quantity -1", method: "PUT", path: () => `/cart/items/${product}/M`, who: "customer", body: { quantity: -1 }, ...V },
	{ name: "cart set: quantity null", method: "PUT", path: () => `/cart/items/${product}/M`, who: "customer", body: { quantity: null }, ...V },
	{ name: "cart set: product_id over 64 characters in the path", method: "PUT", path: `/cart/items/${LONG_ID}/M`, who: "customer", body: { quantity: 1 }, ...V },
	{ name: "cart set: %00 in the path", method: "PUT", path: "/cart/items/p%00/M", who: "customer", body: { quantity: 1 }, ...V },
	{ name: "cart set: encoded / in the path", method: "PUT", path: "/cart/items/a%2Fb/M", who: "customer", body: { quantity: 1 }, ...V },
	{ name: "cart set: broken percent-encoding in the path", method: "PUT", path: "/cart/items/p%E0%A4%A/M", who: "customer", body: { quantity: 1 }, ...V },
	{ name: "cart set: extra field", method: "PUT", path: () => `/cart/items/${product}/M`, who: "customer", body: { quantity: 1, unit_price: 0 }, ...V },
	{ name: "cart delete: emoji in the path", method: "DELETE", path: "/cart/items/%F0%9F%98%80/M", who: "customer", ...V },
	{ name: "cart delete: .. inside the product id", method: "DELETE", path: "/cart/items/a..b/M", who: "customer", ...V },
	{ name: "cart address: country not alpha-2", method: "PUT", path: "/cart/address", who: "customer", body: { ...ADDRESS, country: "USA" }, ...V },
	{ name: "cart address: city missing", method: "PUT", path: "/cart/address", who: "customer", body: { ...ADDRESS, city: undefined }, ...V },
	{ name: "cart address: name is a number", method: "PUT", path: "/cart/address", who: "customer", body: { ...ADDRESS, name: 42 }, ...V },
	{ name: "cart address: extra field", method: "PUT", path: "/cart/address", who: "customer", body: { ...ADDRESS, is_admin: true }, ...V },
	{ name: "cart address: deeply nested line2", method: "PUT", path: "/cart/address", who: "customer", raw: `{"name":"A","line1":"1","city":"C","region":"NY","postal_code":"10001","country":"US","line2":${"[".repeat(5000)}${"]".repeat(5000)}}`, headers: { "content-type": "application/json" }, ...V },
	{ name: "cart summary: unknown delivery_mode", method: "GET", path: "/cart/summary?delivery_mode=overnight", who: "customer", ...V },
	{ name: "cart summary: delivery_mode repeated", method: "GET", path: "/cart/summary?delivery_mode=standard&delivery_mode=express", who: "customer", ...V },
	// ---- checkout ------------------------------------------------------------------------
	{ name: "place order: unknown delivery_mode", method: "POST", path: "/cart/place-order", who: "customer", body: { delivery_mode: "overnight" }, ...V },
	{ name: "place order: delivery_mode a number", method: "POST", path: "/cart/place-order", who: "customer", body: { delivery_mode: 1 }, ...V },
	{ name: "place order: extra field (total)", method: "POST", path: "/cart/place-order", who: "customer", body: { total: 0 }, ...V },
	{ name: "place order: body is JSON null", method: "POST", path: "/cart/place-order", who: "customer", raw: "null", headers: { "content-type": "application/json" }, ...V },
	{ name: "place order: body is a number", method: "POST", path: "/cart/place-order", who: "customer", raw: "0", headers: { "content-type": "application/json" }, ...V },
	{ name: "place order: Idempotency-Key empty", method: "POST", path: "/cart/place-order", who: "customer", body: {}, headers: { "idempotency-key": "" }, ...V },
	{ name: "place order: Idempotency-Key over 255 characters", method: "POST", path: "/cart/place-order", who: "customer", body: {}, headers: { "idempotency-key": "k".repeat(256) }, ...V },
	{ name: "place order: body over 64 KiB", method: "POST", path: "/cart/place-order", who: "customer", raw: JSON.stringify({ pad: "x".repeat(66_000) }), headers: { "content-type": "application/json" }, status: 413, code: "PAYLOAD_TOO_LARGE" },
	// ---- fulfillment ---------------------------------------------------------------------
	{ name: "fulfillment: items empty", method: "POST", path: "/api/fulfillment/check", who: "customer", body: { items: [] }, ...V },
	{ name: "fulfillment: items not an array", method: "POST", path: "/api/fulfillment/check", who: "customer", body: { items: "all" }, ...V },
	{ name: "fulfillment: 51 items", method: "POST", path: "/api/fulfillment/check", who: "customer", body: () => ({ items: Array.from({ length: 51 }, () => line(1)) }), ...V },
	{ name: "fulfillment: quantity zero", method: "POST", path: "/api/fulfillment/check", who: "customer", body: () => ({ items: [line(0)] }), ...V },
	{ name: "fulfillment: quantity \"Infinity\"", method: "POST", path: "/api/fulfillment/check", who: "customer", body: () => ({ items: [line("Infinity")] }), ...V },
	{ name: "fulfillment: postal_code with an emoji", method: "POST", path: "/api/fulfillment/check", who: "customer", body: () => ({ items: [line(1)], postal_code: "1000😀" }), ...V },
	{ name: "fulfillment: extra field in an item", method: "POST", path: "/api/fulfillment/check", who: "customer", body: () => ({ items: [{ ...line(1), warehouse_id: warehouse }] }), ...V },
	{ name: "fulfillment: deeply nested items", method: "POST", path: "/api/fulfillment/check", who: "customer", raw: nested(30_000), headers: { "content-type": "application/json" }, ...V },
	// ---- orders (customer) ---------------------------------------------------------------
	{ name: "orders: limit zero", method: "GET", path: "/orders?limit=0", who: "customer", ...V },
	{ name: "orders: limit not a number", method: "GET", path: "/orders?limit=abc", who: "customer", ...V },
	{ name: "orders: limit \"Infinity\"", method: "GET", path: "/orders?limit=Infinity", who: "customer", ...V },
	{ name: "orders: limit repeated", method: "GET", path: "/orders?limit=1&limit=2", who: "customer", ...V },
	{ name: "orders: limit fractional", method: "GET", path: "/orders?limit=1.5", who: "customer", ...V },
	{ name: "orders: method not allowed (PATCH)", method: "PATCH", path: "/orders", who: "customer", status: 405, code: "METHOD_NOT_ALLOWED" },
	{ name: "orders: cursor garbage", method: "GET", path: "/orders?cursor=%%%garbage", who: "customer", ...V },
	{ name: "orders: cursor base64 of the wrong shape", method: "GET", path: `/orders?cursor=${btoa('{"a":1}')}`, who: "customer", ...V },
	{ name: "orders: cursor repeated", method: "GET", path: "/orders?cursor=a&cursor=b", who: "customer", ...V },
	{ name: "order: id over 64 characters", method: "GET", path: `/orders/${LONG_ID}`, who: "customer", ...V },
	{ name: "order: %00 in the id", method: "GET", path: "/orders/ord%00", who: "customer", ...V },
	{ name: "order: unicode id", method: "GET", path: "/orders/%C3%A9t%C3%A9", who: "customer", ...V },
	{ name: "order: id holding an encoded /", method: "GET", path: "/orders/ord%2F..%2Fx", who: "customer", ...V },
	{ name: "cancel: reason a number", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "customer", body: { reason: 5 }, ...V },
	{ name: "cancel: reason over 500 characters", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "customer", body: { reason: "r".repeat(501) }, ...V },
	{ name: "cancel: extra field", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "customer", body: { reason: "x", refund: "all" }, ...V },
	{ name: "cancel: body is JSON null", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "customer", raw: "null", headers: { "content-type": "application/json" }, ...V },
	{ name: "cancel: text/plain", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "customer", raw: "cancel", headers: { "content-type": "text/plain" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
	{ name: "cancel: another user's order", method: "POST", path: () => `/orders/${order.order_id}/cancel`, who: "admin", body: {}, ...NOT_FOUND },
	// ---- admin products and warehouses ---------------------------------------------------
	{ name: "product: wrong types everywhere", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "", price: 1.234, sizes: "S" }, ...V },
	{ name: "product: price negative", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "X", price: -1, sizes: ["M"] }, ...V },
	{ name: "product: price \"NaN\"", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "X", price: "NaN", sizes: ["M"] }, ...V },
	{ name: "product: price 1e309", method: "PUT", path: "/admin/products/p-huge", who: "admin", raw: '{"name":"X","price":1e309,"sizes":["M"]}', headers: { "content-type": "application/json" }, ...V },
	{ name: "product: price beyond 2^53", method: "PUT", path: "/admin/products/p-huge", who: "admin", raw: `{"name":"X","price":${TWO_53 * 4},"sizes":["M"]}`, headers: { "content-type": "application/json" }, ...V },
	{ name: "product: duplicate sizes", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "X", price: 1, sizes: ["M", "M"] }, ...V },
	{ name: "product: extra field", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "X", price: 1, sizes: ["M"], stock: 5 }, ...V },
	{ name: "product: price 1e20", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "X", price: 1e20, sizes: ["M"] }, ...V },
	{ name: "product: name over 200 characters", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", body: { name: "n".repeat(201), price: 1, sizes: ["M"] }, ...V },
	{ name: "product: emoji id", method: "PUT", path: "/admin/products/%F0%9F%91%95", who: "admin", body: { name: "X", price: 1, sizes: ["M"] }, ...V },
	{ name: "product: no body at all", method: "PUT", path: () => `/admin/products/${uid("p")}`, who: "admin", ...V },
	{ name: "warehouse: country lower case", method: "PUT", path: () => `/admin/warehouses/${uid("wh")}`, who: "admin", body: { name: "W", postal_code: "10001", region: "NY", country: "us" }, ...V },
	{ name: "warehouse: postal_code missing", method: "PUT", path: () => `/admin/warehouses/${uid("wh")}`, who: "admin", body: { name: "W", region: "NY", country: "US" }, ...V },
	{ name: "warehouse: active a string", method: "PUT", path: () => `/admin/warehouses/${uid("wh")}`, who: "admin", body: { name: "W", postal_code: "10001", region: "NY", country: "US", active: "yes" }, ...V },
	{ name: "warehouse: id over 64 characters", method: "PUT", path: `/admin/warehouses/${LONG_ID}`, who: "admin", body: { name: "W", postal_code: "10001", region: "NY", country: "US" }, ...V },
	// ---- admin stock, adjust, ledger -----------------------------------------------------
	{ name: "stock set: on_hand negative", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ ...unit(), on_hand: -1 }] }), ...V },
	{ name: "stock set: on_hand fractional", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ ...unit(), on_hand: 1.5 }] }), ...V },
	{ name: "stock set: on_hand beyond 2^53", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ ...unit(), on_hand: TWO_53 + 2 }] }), ...V },
	{ name: "stock set: on_hand \"NaN\"", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ ...unit(), on_hand: "NaN" }] }), ...V },
	{ name: "stock set: items empty", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: { items: [] }, ...V },
	{ name: "stock set: 501 items", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: Array.from({ length: 501 }, (_, i) => ({ product_id: product, size: `S${i}`, on_hand: 1 })) }), ...V },
	{ name: "stock set: extra field in an item", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ ...unit(), on_hand: 5, reserved: 0 }] }), ...V },
	{ name: "stock set: a size the product does not have", method: "PUT", path: () => `/admin/warehouses/${warehouse}/stock`, who: "admin", body: () => ({ items: [{ product_id: product, size: "XXL", on_hand: 5 }] }), ...V },
	{ name: "stock get: warehouse id holding ..", method: "GET", path: "/admin/warehouses/wh..x/stock", who: "admin", ...V },
	{ name: "stock get: warehouse id %00", method: "GET", path: "/admin/warehouses/%00/stock", who: "admin", ...V },
	{ name: "adjust: delta zero", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ delta: 0 }), ...V },
	{ name: "adjust: delta a string", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ delta: "5" }), ...V },
	{ name: "adjust: delta fractional", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ delta: -0.5 }), ...V },
	{ name: "adjust: delta beyond 2^53", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ delta: -(TWO_53 + 2) }), ...V },
	{ name: "adjust: unknown reason", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ reason: "theft" }), ...V },
	{ name: "adjust: reason missing", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ reason: undefined }), ...V },
	{ name: "adjust: extra field", method: "POST", path: () => `/admin/warehouses/${warehouse}/stock/adjust`, who: "admin", body: () => adjust({ on_hand: 999 }), ...V },
	{ name: "ledger: after negative", method: "GET", path: () => `/admin/warehouses/${warehouse}/ledger?after=-1`, who: "admin", ...V },
	{ name: "ledger: after 1e400", method: "GET", path: () => `/admin/warehouses/${warehouse}/ledger?after=1e400`, who: "admin", ...V },
	{ name: "ledger: after \"NaN\"", method: "GET", path: () => `/admin/warehouses/${warehouse}/ledger?after=NaN`, who: "admin", ...V },
	{ name: "ledger: limit 501", method: "GET", path: () => `/admin/warehouses/${warehouse}/ledger?limit=501`, who: "admin", ...V },
	{ name: "ledger: after repeated", method: "GET", path: () => `/admin/warehouses/${warehouse}/ledger?after=1&after=2`, who: "admin", ...V },
	// ---- deduct / restore ----------------------------------------------------------------
	{ name: "deduct: quantity zero", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ quantity: 0 }), ...V },
	{ name: "deduct: quantity fractional", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ quantity: 1.5 }), ...V },
	{ name: "deduct: quantity beyond 2^53", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ quantity: TWO_53 + 2 }), ...V },
	{ name: "deduct: quantity \"Infinity\"", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ quantity: "Infinity" }), ...V },
	{ name: "deduct: warehouse_id holding /", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ warehouse_id: "wh/../x" }), ...V },
	{ name: "deduct: reference over 128 characters", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ reference: "r".repeat(129) }), ...V },
	{ name: "deduct: extra field", method: "POST", path: "/api/stock/deduct", who: "admin", body: () => move({ force: true }), ...V },
	{ name: "deduct: wrong content type", method: "POST", path: "/api/stock/deduct", who: "admin", raw: "quantity=1", headers: { "content-type": "text/csv" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
	{ name: "restore: quantity negative", method: "POST", path: "/api/stock/restore", who: "admin", body: () => move({ quantity: -3 }), ...V },
	{ name: "restore: quantity \"NaN\"", method: "POST", path: "/api/stock/restore", who: "admin", body: () => move({ quantity: "NaN" }), ...V },
	{ name: "restore: warehouse_id missing", method: "POST", path: "/api/stock/restore", who: "admin", body: () => move({ warehouse_id: undefined }), ...V },
	{ name: "restore: product_id with an emoji", method: "POST", path: "/api/stock/restore", who: "admin", body: () => move({ product_id: "tee😀" }), ...V },
	{ name: "restore: body over 64 KiB", method: "POST", path: "/api/stock/restore", who: "admin", raw: JSON.stringify({ pad: "x".repeat(65 * 1024) }), headers: { "content-type": "application/json" }, status: 413, code: "PAYLOAD_TOO_LARGE" },
	// ---- payment webhook -----------------------------------------------------------------
	{ name: "webhook: no Payment-Signature", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: empty Payment-Signature", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": "" }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: Payment-Signature garbage", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": "sha256=deadbeef" }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: t not a number", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": `t=NaN,v1=${"0".repeat(64)}` }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: v1 not hex", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": `t=${Math.floor(Date.now() / 1000)},v1=${"z".repeat(64)}` }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: 500 v1 candidates", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": `t=${Math.floor(Date.now() / 1000)},${Array.from({ length: 500 }, () => `v1=${"ab".repeat(32)}`).join(",")}` }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: stale t", method: "POST", path: "/payments/webhook", who: "none", body: () => payment({}), headers: { "payment-signature": `t=1,v1=${"0".repeat(64)}` }, status: 401, code: "UNAUTHORIZED" },
	{ name: "webhook: signed, amount \"NaN\"", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ amount: "NaN" }), ...V },
	{ name: "webhook: signed, amount negative", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ amount: -1 }), ...V },
	{ name: "webhook: signed, order_id holding ..", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ order_id: "../ord" }), ...V },
	{ name: "webhook: signed, unknown type", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ type: "payment.maybe" }), ...V },
	{ name: "webhook: signed, id missing", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ id: undefined }), ...V },
	{ name: "webhook: signed, body an array", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: [1], ...V },
	{ name: "webhook: signed, amount 1e308", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ amount: 1e308 }), ...V },
	{ name: "webhook: signed, id over 255 characters", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: () => payment({ id: "e".repeat(256) }), ...V },
	{ name: "webhook: signed, body JSON null", method: "POST", path: "/payments/webhook", who: "none", signed: true, body: null, ...V },
	{ name: "webhook: wrong content type", method: "POST", path: "/payments/webhook", who: "none", raw: "id=1", headers: { "content-type": "text/plain", "payment-signature": "t=1,v1=00" }, status: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
	{ name: "webhook: body over 64 KiB", method: "POST", path: "/payments/webhook", who: "none", raw: JSON.stringify({ pad: "x".repeat(66_000) }), headers: { "content-type": "application/json" }, status: 413, code: "PAYLOAD_TOO_LARGE" },
	// ---- admin orders --------------------------------------------------------------------
	{ name: "admin orders: unknown status filter", method: "GET", path: "/admin/orders?status=lost", who: "admin", ...V },
	{ name: "admin orders: status repeated", method: "GET", path: "/admin/orders?status=paid&status=pending", who: "admin", ...V },
	{ name: "admin orders: limit negative", method: "GET", path: "/admin/orders?limit=-5", who: "admin", ...V },
	{ name: "admin orders: limit beyond 2^53", method: "GET", path: `/admin/orders?limit=${TWO_53 + 2}`, who: "admin", ...V },
	{ name: "admin orders: bad cursor", method: "GET", path: "/admin/orders?cursor=bm90IGpzb24", who: "admin", ...V },
	{ name: "admin orders: empty cursor", method: "GET", path: "/admin/orders?cursor=", who: "admin", ...V },
	{ name: "orders: empty cursor", method: "GET", path: "/orders?cursor=", who: "customer", ...V },
	{ name: "transfers: empty cursor", method: "GET", path: "/admin/transfers?cursor=", who: "admin", ...V },
	{ name: "webhook deliveries: empty cursor", method: "GET", path: "/admin/webhooks/wh_none/deliveries?cursor=", who: "admin", ...V },
	{ name: "admin orders: cursor over 512 characters", method: "GET", path: `/admin/orders?cursor=${"A".repeat(600)}`, who: "admin", ...V },
	{ name: "status: unknown status", method: "POST", path: () => `/admin/orders/${order.order_id}/status`, who: "admin", body: { status: "teleported" }, ...V },
	{ name: "status: tracking_number a number", method: "POST", path: () => `/admin/orders/${order.order_id}/status`, who: "admin", body: { status: "shipped", tracking_number: 123 }, ...V },
	{ name: "status: status missing", method: "POST", path: () => `/admin/orders/${order.order_id}/status`, who: "admin", body: { reason: "x" }, ...V },
	{ name: "status: extra field", method: "POST", path: () => `/admin/orders/${order.order_id}/status`, who: "admin", body: { status: "paid", payment_status: "paid" }, ...V },
	{ name: "status: order id over 64 characters", method: "POST", path: `/admin/orders/${LONG_ID}/status`, who: "admin", body: { status: "paid" }, ...V },
	{ name: "status: unknown order", method: "POST", path: () => `/admin/orders/${uid("ord")}/status`, who: "admin", body: { status: "paid" }, ...NOT_FOUND },
];

/** Everything the catalogue must leave alone: every warehouse's levels, holds and ledger, and the row count of every table of DB and of each order shard. */
async function snapshot() {
	const counts: Record<string, number> = {};
	for (const [i, db] of [env.DB, ...allShards()].entries()) {
		const { results: tables } = await db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name`).all<{ name: string }>();
		for (const { name } of tables) counts[`${i === 0 ? "DB" : `ORDERS_${i - 1}`}.${name}`] = (await db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).first<{ n: number }>())!.n;
	}
	const { results: warehouses } = await env.DB.prepare(`SELECT warehouse_id FROM warehouses ORDER BY warehouse_id`).all<{ warehouse_id: string }>();
	const stock: Record<string, unknown> = {};
	for (const { warehouse_id } of warehouses) {
		const stub = env.WAREHOUSE.getByName(warehouse_id);
		stock[warehouse_id] = { levels: await stub.snapshot(), ledger: (await stub.ledger(0, 10_000)).entries };
	}
	return { counts, stock };
}

async function send(c: Case): Promise<Call> {
	const auth = c.who === "admin" ? await admin() : c.who === "customer" ? customerAuth : undefined;
	const path = typeof c.path === "function" ? c.path() : c.path;
	const headers: Record<string, string> = { ...c.headers };
	let raw: string | Uint8Array | undefined = c.raw;
	if (c.body !== undefined) {
		raw = JSON.stringify(typeof c.body === "function" ? (c.body as () => unknown)() : c.body);
		headers["content-type"] ??= "application/json";
	}
	if (c.signed) headers["payment-signature"] = await signPayload(raw as string, env.PAYMENT_WEBHOOK_SECRET!, Math.floor(Date.now() / 1000));
	return call(c.method, path, { auth, headers, raw: raw as string | undefined });
}

beforeAll(async () => {
	const shop = await makeShop({ warehouses: [{ postal_code: "10001", region: "NY", stock: { "0/M": 50 } }] });
	[product, warehouse] = [shop.products[0]!, shop.warehouses[0]!];
	const c = await customerWithOrder([{ product_id: product, size: "M", quantity: 2 }]);
	order = c.order as typeof order;
	customerAuth = c.auth;
	// The customer keeps a non-empty cart with an address, so a bad place-order would have something to order.
	expect((await call("POST", "/cart/items", { auth: customerAuth, body: line(1) })).status).toBe(200);
	expect((await call("PUT", "/cart/address", { auth: customerAuth, body: ADDRESS })).status).toBe(200);
	// Let the order's after-answer work (commit, events) finish so only the catalogue could change anything.
	await eventsFlushed(order.order_id);
	// Summed over DB and every order shard, wherever the rows live.
	const count = async (table: string, where = "true") => {
		const each = await Promise.all([env.DB, ...allShards()].map((db) => db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).first<{ n: number }>()));
		return each.reduce((sum, r) => sum + r!.n, 0);
	};
	await vi.waitFor(async () => expect(await count("outbox")).toBe(0), { timeout: 10_000, interval: 50 });
	// The queue consumer records the events it handled (order.placed, stock.changed gathered per second...):
	// wait until the set-up's after-answer work is over, i.e. nothing moves for 2 s.
	await vi.waitFor(async () => expect(await count("processed_events")).toBeGreaterThan(0), { timeout: 15_000, interval: 100 });
	for (let quiet = false, tries = 0; !quiet && tries < 15; tries++) {
		const first = await snapshot();
		await sleep(2_000);
		quiet = JSON.stringify(await snapshot()) === JSON.stringify(first) && (await count("event_outbox")) + (await count("orders", "announce_pending = 1")) === 0;
	}
}, 60_000);

describe("validation messages", () => {
	it("an amount over the maximum says so, not that it has too many decimals", async () => {
		const r = await call("PUT", `/admin/products/${uid("p")}`, { auth: await admin(), body: { name: "Too dear", price: 20_000_000_000, sizes: ["M"] } });
		expect(r.status).toBe(400);
		expect(r.body.details).toEqual([{ field: "price", message: expect.stringContaining("10000000000") }]);
	});

	it("text that trims to nothing is refused as blank", async () => {
		const r = await call("PUT", "/cart/address", { auth: customerAuth, body: { ...ADDRESS, name: "   ", phone: "+53-)   " } });
		expect(r.status).toBe(400);
		expect(r.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: "name" }), expect.objectContaining({ field: "phone" })]));
	});

	it("an amount with three decimals is refused for its decimals alone", async () => {
		const r = await call("PUT", `/admin/products/${uid("p")}`, { auth: await admin(), body: { name: "Odd", price: 1.234, sizes: ["M"] } });
		expect(r.status).toBe(400);
		expect(r.body.details).toEqual([{ field: "price", message: "must have at most two decimals" }]);
	});

	it("names every unknown field by its path, nested ones included", async () => {
		const r = await call("POST", "/api/fulfillment/check", { auth: customerAuth, body: { items: [{ ...line(1), colour: "red" }], total: 1, discount: 2 } });
		expect(r.status).toBe(400);
		expect(r.body.details).toEqual(
			expect.arrayContaining([
				{ field: "items.0.colour", message: "unknown field" },
				{ field: "total", message: "unknown field" },
				{ field: "discount", message: "unknown field" },
			]),
		);
	});
});

describe("bad-input catalogue", () => {
	it("has at least 60 distinct malformed requests over every endpoint family", () => {
		expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
		expect(cases.length).toBeGreaterThanOrEqual(60);
		const families = ["/cart/items", "/cart/address", "/cart/summary", "/cart/place-order", "/api/fulfillment/check", "/orders", "/admin/products/", "/admin/warehouses/", "/stock/adjust", "/ledger", "/api/stock/deduct", "/api/stock/restore", "/payments/webhook", "/admin/orders"];
		const paths = cases.map((c) => (typeof c.path === "string" ? c.path : c.path.toString()));
		for (const f of families) expect(paths.some((p) => p.includes(f)), f).toBe(true);
	});

	it("every bad request gets the contract's 4xx with { error, code }, and nothing changes", async () => {
		const before = await snapshot();
		const wrong: string[] = [];
		for (const c of cases) {
			const r = await send(c);
			const ok = r.status === c.status && typeof r.body?.error === "string" && r.body?.code === c.code;
			if (!ok) wrong.push(`${c.name}: expected ${c.status} ${c.code}, got ${r.status} ${JSON.stringify(r.body)?.slice(0, 300)}`);
		}
		expect(wrong).toEqual([]);
		expect(await snapshot()).toEqual(before);
		console.info(`bad-input catalogue: ${cases.length} requests`);
	});
});
