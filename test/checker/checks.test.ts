/**
 * The checker fails when it should: one clean history passes every check, and
 * for each check a history broken in the way it exists to catch fails it
 * (and says where).
 */
import { describe, expect, it } from "vitest";
import { checkHistory, formatViolation } from "./check.js";
import type { History } from "./history.js";
import { Builder, CAP, cleanHistory, copy, HOODIE, PACK, refused, rowsOf, TEE, at } from "./synthetic.js";
import type { CheckName, Violation } from "./violation.js";

const clean = cleanHistory();

function broken(change: (h: History) => void): History {
	const h = copy(clean);
	change(h);
	return h;
}

/** The violations of one check, printed on failure. */
function of(h: History, check: CheckName): Violation[] {
	const all = checkHistory(h);
	const mine = all.filter((v) => v.check === check);
	if (mine.length === 0) console.log(all.map(formatViolation).join("\n"));
	return mine;
}

/** Rewrites the stock read to match the ledger again, so only the targeted check can see the break. */
function restock(h: History): void {
	const b = new Builder();
	b.h.ledger.push(...h.ledger);
	h.stock = b.stockFromLedger().h.stock;
}

it("a clean history passes every check", () => {
	expect(checkHistory(clean).map(formatViolation)).toEqual([]);
});

describe("replay", () => {
	it("fails when a ledger does not replay to its object's stock", () => {
		const h = broken((h) => {
			h.stock.find((s) => s.object.warehouse_id === "a" && s.product_id === "tee")!.on_hand = 2;
		});
		expect(of(h, "replay")).toEqual([expect.objectContaining({ subject: "tee/M at a", message: expect.stringContaining("replays to on_hand 1 reserved 0, stock says on_hand 2") })]);
	});

	it("fails when a sharded unit's shard rows are missing from the sum", () => {
		const h = broken((h) => {
			h.ledger = h.ledger.filter((r) => !(r.object.shard === 1 && r.reason === "grant_in"));
		});
		expect(of(h, "replay").map((v) => v.subject)).toContain("hoodie/L at a");
	});
});

describe("oversold", () => {
	it("fails when a prefix of a ledger reserves more than is on hand", () => {
		const h = broken((h) => {
			// u5 is held 2 more tees at a, where only 1 was left, and released later.
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 100, at: 700, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "o5" });
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 101, at: 710, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "release", ref: "o5" });
		});
		expect(of(h, "oversold")).toEqual([expect.objectContaining({ subject: "tee/M at a", message: expect.stringContaining("on_hand 1, reserved 2") })]);
	});

	it("fails when one shard goes below zero even though the unit's total does not", () => {
		const h = broken((h) => {
			const g = rowsOf(h, "grant_in", "g2")[0]!;
			h.ledger.push({ ...g, seq: 50, at: 800, on_hand_delta: -5, reason: "correction", ref: "fix" }, { ...g, seq: 51, at: 801, on_hand_delta: 5, reason: "correction", ref: "fix2" });
		});
		expect(of(h, "oversold").map((v) => v.subject)).toEqual(["hoodie/L at a#1"]);
	});
});

describe("conservation", () => {
	it("fails when units leave a ledger with no adjustment answered for them", () => {
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 99, at: 900, ...CAP, on_hand_delta: -1, reserved_delta: 0, reason: "shrinkage", ref: "ghost" });
			restock(h);
		});
		expect(of(h, "conservation").map((v) => v.subject)).toEqual(["adjustment ghost", "cap/OS"]);
	});

	it("fails when an adjustment answered 200 never reached the ledger", () => {
		const h = broken((h) => {
			h.ledger = h.ledger.filter((r) => r.ref !== "adj-1");
			restock(h);
		});
		expect(of(h, "conservation").map((v) => v.subject)).toEqual(["adjustment adj-1", "cap/OS"]);
	});

	it("matches an adjustment sent without a reference by its warehouse, unit and delta", () => {
		const withOne = (inLedger: boolean) =>
			broken((h) => {
				h.ops.push({ id: 90, user: "admin", method: "POST", path: "/admin/warehouses/a/stock/adjust", headers: {}, body: { ...TEE, delta: 4, reason: "receive" }, invoke: 700, complete: 710, answer: { status: 200, body: {}, headers: {} } });
				if (inLedger) h.ledger.push({ object: { warehouse_id: "a" }, seq: 70, at: 705, ...TEE, on_hand_delta: 4, reserved_delta: 0, reason: "receive", ref: "adjust:5f0c" });
				restock(h);
			});
		expect(of(withOne(true), "conservation")).toEqual([]);
		expect(of(withOne(false), "conservation").map((v) => v.subject)).toEqual(["adjustment a|tee/M|4", "tee/M"]);
	});

	it("counts a transfer between warehouses as in transit until it is received", () => {
		const sent = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 60, at: 700, ...TEE, on_hand_delta: -1, reserved_delta: 0, reason: "transfer_out", ref: "tr-1" });
			restock(h);
		});
		expect(of(sent, "conservation")).toEqual([]);
		const received = copy(sent);
		received.ledger.push({ object: { warehouse_id: "b" }, seq: 61, at: 800, ...TEE, on_hand_delta: 1, reserved_delta: 0, reason: "transfer_in", ref: "tr-1" });
		restock(received);
		expect(of(received, "conservation")).toEqual([]);
		const twice = copy(received);
		twice.ledger.push({ object: { warehouse_id: "b" }, seq: 62, at: 810, ...TEE, on_hand_delta: 1, reserved_delta: 0, reason: "transfer_in", ref: "tr-1" });
		restock(twice);
		expect(of(twice, "conservation").map((v) => v.subject)).toEqual(["tee/M"]);
	});

	it("counts a grant sent and not yet received as in transit, not lost", () => {
		const h = broken((h) => {
			h.settled = false;
			h.ledger.push({ object: { warehouse_id: "a", shard: "pool" }, seq: 99, at: 950, ...HOODIE, on_hand_delta: -1, reserved_delta: 0, reason: "grant_out", ref: "g3" });
			restock(h);
			h.settled = true;
		});
		expect(of(h, "conservation")).toEqual([]);
		expect(of(h, "grant-once").map((v) => v.message)).toEqual(["sent, never received (in transit after settling)"]);
	});
});

describe("commit once", () => {
	it("fails when an order's units are committed twice", () => {
		const h = broken((h) => {
			h.ledger.push({ ...rowsOf(h, "commit", "o1")[0]!, seq: 98, at: 125 });
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 99, at: 126, ...TEE, on_hand_delta: 2, reserved_delta: 0, reason: "correction", ref: "c" });
		});
		const v = of(h, "commit-once");
		expect(v.map((x) => x.message)).toContain("committed 2 times");
		expect(v.map((x) => x.message)).toContain("committed 4 units, the order allocates 2 here");
	});

	it("fails when a cancelled order is restocked twice", () => {
		const h = broken((h) => {
			h.ledger.push({ ...rowsOf(h, "restock", "o4")[0]!, seq: 97, at: 465 });
			restock(h);
		});
		expect(of(h, "commit-once").map((v) => v.message)).toEqual(["restocked 2 times", "cancelled order allocates 2: net taken -2 once settled, want 0"]);
	});

	it("fails when a commit names an order that does not exist", () => {
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 96, at: 700, ...TEE, on_hand_delta: -1, reserved_delta: 0, reason: "commit", ref: "o-ghost" });
			restock(h);
		});
		expect(of(h, "commit-once").map((v) => v.message)).toEqual(["no such order"]);
	});

	it("leaves a live order's commit to come while the history is not settled (commit after the answer)", () => {
		const h = broken((h) => {
			h.settled = false;
			h.ledger = h.ledger.filter((r) => !(r.ref === "o3" && r.reason === "commit"));
			restock(h);
		});
		expect(checkHistory(h).map(formatViolation)).toEqual([]);
	});

	it("fails when a live order is never committed once settled", () => {
		const h = broken((h) => {
			h.ledger = h.ledger.filter((r) => !(r.ref === "o3" && r.reason === "commit"));
			h.ledger = h.ledger.filter((r) => !(r.ref === "o3" && r.reason === "reserve"));
			restock(h);
		});
		expect(of(h, "commit-once").map((v) => v.subject)).toEqual(["o3|b|tee/M", "o3|b|cap/OS"]);
	});
});

describe("grant once", () => {
	it("fails when a grant is applied twice at the shard", () => {
		const h = broken((h) => {
			h.ledger.push({ ...rowsOf(h, "grant_in", "g1")[0]!, seq: 90, at: 9 });
			restock(h);
		});
		expect(of(h, "grant-once")).toEqual([expect.objectContaining({ subject: "grant g1", message: "received 2 times" })]);
	});

	it("fails when a give-back arrives that was never sent", () => {
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "a", shard: "pool" }, seq: 91, at: 990, ...HOODIE, on_hand_delta: 3, reserved_delta: 0, reason: "give_in", ref: "gb-ghost" });
			restock(h);
		});
		expect(of(h, "grant-once")).toEqual([expect.objectContaining({ subject: "give-back gb-ghost", message: "received, never sent" })]);
	});

	it("fails when a grant arrives with other units than it left with", () => {
		const h = broken((h) => {
			rowsOf(h, "grant_in", "g2")[0]!.on_hand_delta = 5;
			restock(h);
		});
		expect(of(h, "grant-once").map((v) => v.message)).toEqual(["sent 4, received 5"]);
	});
});

describe("every 201 has its order", () => {
	it("fails when an order answered 201 is not in the orders read", () => {
		const h = broken((h) => {
			h.orders = h.orders.filter((o) => o.order_id !== "o3");
		});
		expect(of(h, "order-answered").map((v) => v.message)).toEqual(["answered 201 with order o3, which the orders read does not have"]);
	});

	it("fails when the stored order has other lines than the 201 answered (the first answer and its replay)", () => {
		const h = broken((h) => {
			h.orders.find((o) => o.order_id === "o1")!.products[0]!.allocations = [at("a", 1), at("b", 1)];
		});
		expect(of(h, "order-answered").map((v) => v.message)).toEqual(["order o1 differs from its 201", "order o1 differs from its 201"]);
	});

	it("fails when a refused checkout left an order", () => {
		const h = broken((h) => {
			h.orders.push({ order_id: "o2", user_id: "u2", status: "pending", products: [{ ...TEE, quantity: 1, allocations: [at("b", 1)] }] });
		});
		expect(of(h, "order-answered").map((v) => v.subject)).toEqual(["u2"]);
	});
});

describe("idempotent replays", () => {
	it("fails when a replay answers another body", () => {
		const h = broken((h) => {
			const r = h.ops.find((op) => op.answer?.headers["idempotent-replayed"] === "true")!;
			r.answer!.body = { ...r.answer!.body, status: "paid" };
		});
		expect(of(h, "idempotent-replay")).toEqual([expect.objectContaining({ subject: "u1|POST /cart/place-order|k1", message: expect.stringContaining("replay (op") })]);
	});

	it("fails when a replay answers another status", () => {
		const h = broken((h) => {
			h.ops.find((op) => op.answer?.headers["idempotent-replayed"] === "true")!.answer!.status = 200;
		});
		expect(of(h, "idempotent-replay")).toHaveLength(1);
	});

	it("fails when one key was carried out twice", () => {
		const h = broken((h) => {
			h.ops.find((op) => op.answer?.headers["idempotent-replayed"] === "true")!.answer!.headers = {};
		});
		expect(of(h, "idempotent-replay").map((v) => v.message)).toEqual(["2 answers not marked replayed"]);
	});
});

describe("purchase limits", () => {
	it("fails when kits carry a customer past a component's limit", () => {
		const h = broken((h) => {
			// u3 already has a pack (1 tee); 3 more tees make 4 against a limit of 3.
			h.orders.push({ order_id: "o6", user_id: "u3", status: "pending", products: [{ ...TEE, quantity: 3, allocations: [at("a", 1), at("b", 2)] }] });
		});
		expect(of(h, "purchase-limit")).toEqual([expect.objectContaining({ subject: "u3 tee", message: "4 units in live orders, limit 3", detail: { orders: ["o3", "o6"] } })]);
	});

	it("counts kits by the catalog's components times the kits ordered", () => {
		const h = broken((h) => {
			h.orders.push({ order_id: "o7", user_id: "u8", status: "pending", products: [{ ...PACK, quantity: 4, allocations: [at("b", 4)] }] });
		});
		expect(of(h, "purchase-limit").map((v) => v.subject)).toEqual(["u8 tee"]);
	});

	it("does not count cancelled orders", () => {
		const h = broken((h) => {
			h.orders.push({ order_id: "o6", user_id: "u3", status: "cancelled", products: [{ ...TEE, quantity: 3, allocations: [at("a", 3)] }] });
		});
		expect(of(h, "purchase-limit")).toEqual([]);
	});
});

describe("no false 409", () => {
	/** A refusal of `asked` tees to u9 over [invoke, complete]. */
	function refusal(h: History, invoke: number, complete: number, asked = 1): void {
		h.ops.push({
			id: h.ops.length + 1,
			user: "u9",
			method: "POST",
			path: "/cart/place-order",
			headers: {},
			asked: [{ ...TEE, quantity: asked }],
			invoke,
			complete,
			answer: refused([{ ...TEE, requested: asked, available: 0 }]),
		});
	}

	it("fails a 409 OUT_OF_STOCK given while units sat free", () => {
		// At t = 1000..1020 a has 1 tee free and b 1: 2 free for 1 asked.
		const h = broken((h) => refusal(h, 1000, 1020));
		expect(of(h, "false-409")).toEqual([
			expect.objectContaining({ subject: expect.stringContaining("(u9)"), detail: expect.objectContaining({ units: { "tee/M": { asked: 1, free_at_least: { a: 1, b: 1 } } } }) }),
		]);
	});

	it("fails a refusal when the units free are spread over warehouses and shards", () => {
		const h = broken((h) => {
			h.ops.push({ id: 99, user: "u9", method: "POST", path: "/cart/place-order", headers: {}, asked: [{ ...HOODIE, quantity: 9 }], invoke: 1000, complete: 1010, answer: refused([{ ...HOODIE, requested: 9, available: 0 }]) });
		});
		// Pool 4, shard 0 4, shard 1 2: 10 free for 9 asked.
		expect(of(h, "false-409").map((v) => v.detail)).toEqual([expect.objectContaining({ units: { "hoodie/L": { asked: 9, free_at_least: { a: 10, b: 0 } } } })]);
	});

	it("fails a kit refused while every component was free at one warehouse", () => {
		const h = broken((h) => {
			h.ops.push({ id: 99, user: "u9", method: "POST", path: "/cart/place-order", headers: {}, asked: [{ ...PACK, quantity: 1 }], invoke: 1000, complete: 1010, answer: refused([{ ...PACK, requested: 1, available: 0 }]) });
		});
		expect(of(h, "false-409")).toHaveLength(1);
	});

	it("accepts a kit refused when its components are free only at different warehouses", () => {
		const h = broken((h) => {
			// b's tee is taken for good; a's tee stays free, b's caps stay free: no one warehouse has both.
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 80, at: 700, ...TEE, on_hand_delta: -1, reserved_delta: 0, reason: "damage", ref: "adj-2" });
			h.ops.push({ id: 98, user: "admin", method: "POST", path: "/admin/warehouses/b/stock/adjust", headers: {}, body: { ...TEE, delta: -1, reason: "damage", reference: "adj-2" }, invoke: 690, complete: 710, answer: { status: 200, body: {}, headers: {} } });
			restock(h);
			h.ops.push({ id: 99, user: "u9", method: "POST", path: "/cart/place-order", headers: {}, asked: [{ ...PACK, quantity: 1 }], invoke: 1000, complete: 1010, answer: refused([{ ...PACK, requested: 1, available: 0 }]) });
		});
		expect(checkHistory(h).map(formatViolation)).toEqual([]);
	});

	it("accepts a refusal when free stock dipped below the ask at some instant of the window", () => {
		// Someone holds b's 2 tees during [1005, 1008]: 1 free then, 2 asked.
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 81, at: 1005, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 82, at: 1008, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "release", ref: "ox" });
			restock(h);
			refusal(h, 1000, 1020, 2);
		});
		expect(of(h, "false-409")).toEqual([]);
	});

	it("treats a timestamp tie at the window's edge as possibly inside it", () => {
		// The dip starts stamped exactly when the answer was read, and a dip that ended
		// stamped just before the invoke may have ended after it (the object's clock trails).
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 81, at: 1020, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 82, at: 1030, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "release", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 83, at: 960, ...TEE, on_hand_delta: 0, reserved_delta: 1, reason: "reserve", ref: "oy" });
			h.ledger.push({ object: { warehouse_id: "a" }, seq: 84, at: 980, ...TEE, on_hand_delta: 0, reserved_delta: -1, reason: "release", ref: "oy" });
			restock(h);
			refusal(h, 1000, 1020, 2);
			refusal(h, 1000, 1010, 2);
		});
		expect(of(h, "false-409")).toEqual([]);
	});

	it("calls a refusal false when the dip was certainly over before the request was sent", () => {
		const h = broken((h) => {
			// Released at 850: written by 850 + lag (100 ms) at the latest, before the invoke at 1000.
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 81, at: 700, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 82, at: 850, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "release", ref: "ox" });
			restock(h);
			refusal(h, 1000, 1020, 2);
		});
		expect(of(h, "false-409")).toHaveLength(1);
	});

	it("still judges the rows after a stamp later than the ledger read (a `now` handed in, as the reconciler does)", () => {
		// b: a hold at 1500, released by a row stamped far ahead, then a hold of 1 during [3000, 3100].
		// During [5000, 5010] a had 1 tee free and b 2: 3 for 2 asked.
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 81, at: 1500, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 82, at: 900_000, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "expire", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 83, at: 3000, ...TEE, on_hand_delta: 0, reserved_delta: 1, reason: "reserve", ref: "oz" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 84, at: 3100, ...TEE, on_hand_delta: 0, reserved_delta: -1, reason: "release", ref: "oz" });
			restock(h);
			refusal(h, 5000, 5010, 2);
		});
		expect(of(h, "false-409")).toHaveLength(1);
	});

	it("does not trust two stamps that contradict their rows' order", () => {
		const h = broken((h) => {
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 81, at: 5000, ...TEE, on_hand_delta: 0, reserved_delta: 2, reason: "reserve", ref: "ox" });
			h.ledger.push({ object: { warehouse_id: "b" }, seq: 82, at: 2020, ...TEE, on_hand_delta: 0, reserved_delta: -2, reason: "release", ref: "ox" });
			restock(h);
			refusal(h, 2000, 2010, 2);
		});
		expect(of(h, "false-409")).toEqual([]);
	});

	it("does not count an inactive warehouse's stock as a place to ship from", () => {
		const h = broken((h) => {
			h.warehouses.find((w) => w.warehouse_id === "b")!.active = false;
			refusal(h, 1000, 1020, 2);
		});
		expect(of(h, "false-409")).toEqual([]);
	});

	it("does not count safety stock as free", () => {
		const h = broken((h) => {
			h.stock.find((s) => s.object.warehouse_id === "b" && s.product_id === "tee")!.safety_stock = 1;
			refusal(h, 1000, 1020, 2);
		});
		expect(of(h, "false-409")).toEqual([]);
	});
});
