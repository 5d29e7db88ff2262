import { describe, expect, it } from "vitest";
import { streakMayChange } from "../../src/webhooks/delivery";
import { decodeCursor, encodeCursor, isCursorShaped, mergePage } from "../../src/webhooks/deliveryPages";
import type { Delivery } from "../../src/webhooks/schema";

function row(id: number, at: number): Delivery {
	return { delivery_id: id, message_id: `msg_${id}`, event_id: `evt_${id}`, event_type: "order.paid", attempt: 1, status_code: 200, error: null, at: new Date(at).toISOString(), next_attempt_at: null };
}

describe("an endpoint's deliveries merged over databases", () => {
	it("come newest first by time; the positions after a page are the last shown of each database, or just above its newest for one nothing was shown from", () => {
		const db = [row(9, 900), row(8, 400)];
		const shard = [row(3, 800), row(2, 700), row(1, 100)];
		const quiet = [row(5, 50)];
		const first = mergePage([db, shard, quiet], [null, null, null], 3);
		expect(first.deliveries.map((d) => d.at)).toEqual([900, 800, 700].map((t) => new Date(t).toISOString()));
		expect(first.next).toEqual([9, 2, 6]);
		const second = mergePage([[row(8, 400)], [row(1, 100)], [row(5, 50)]], first.next!, 3);
		expect(second.deliveries.map((d) => d.delivery_id)).toEqual([8, 1, 5]);
		expect(second.next).toBeNull();
	});

	it("cursors round-trip; one number (the single-database layout) pages DB with the shards past their end; another count of databases is not one", () => {
		expect(decodeCursor(encodeCursor([9, 2, 0]), 3)).toEqual([9, 2, 0]);
		expect(decodeCursor(encodeCursor([9, 2, 0]), 5)).toBeNull();
		expect(decodeCursor(btoa("d42").replaceAll("=", ""), 3)).toEqual([42, 0, 0]);
		for (const bad of ["nope", btoa("d0"), btoa("d01"), btoa("d1..2"), btoa("x1")]) expect(isCursorShaped(bad), bad).toBe(false);
	});
});

describe("an endpoint's failing streak", () => {
	const cutoff = "2030-01-01T00:00:00.000Z";
	it("is written only when a run's outcome may change it", () => {
		// Healthy and still healthy, or failing and failing again short of the cut-off: no write.
		expect(streakMayChange({ last_ok: true, any_ok: true }, null, cutoff)).toBe(false);
		expect(streakMayChange({ last_ok: false, any_ok: false }, "2030-01-02T00:00:00.000Z", cutoff)).toBe(false);
		// A recovery, a first failure, a failure after a success in the run, one past the cut-off (disables), or an endpoint not known.
		expect(streakMayChange({ last_ok: true, any_ok: true }, "2030-01-02T00:00:00.000Z", cutoff)).toBe(true);
		expect(streakMayChange({ last_ok: false, any_ok: false }, null, cutoff)).toBe(true);
		expect(streakMayChange({ last_ok: false, any_ok: true }, "2030-01-02T00:00:00.000Z", cutoff)).toBe(true);
		expect(streakMayChange({ last_ok: false, any_ok: false }, "2029-12-31T00:00:00.000Z", cutoff)).toBe(true);
		expect(streakMayChange({ last_ok: true, any_ok: true }, undefined, cutoff)).toBe(true);
	});
});
