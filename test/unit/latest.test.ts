import { describe, expect, it } from "vitest";
import { Latest } from "../../web/src/lib/latest";

describe("Latest: which answers of a page's loads are shown", () => {
	it("shows the answer of the only load", () => {
		const latest = new Latest();
		const a = latest.begin();
		expect(latest.take(a)).toBe(true);
	});

	it("drops an older answer that arrives after a newer one was shown", () => {
		const latest = new Latest();
		const older = latest.begin();
		const newer = latest.begin();
		expect(latest.take(newer)).toBe(true);
		expect(latest.take(older)).toBe(false);
	});

	it("shows answers that arrive in the order their loads began, each in turn (a poll slower than its interval still updates)", () => {
		const latest = new Latest();
		const tickets = [latest.begin(), latest.begin(), latest.begin()];
		expect(tickets.map((t) => latest.take(t))).toEqual([true, true, true]);
	});

	it("drops an answer that was already shown once", () => {
		const latest = new Latest();
		const a = latest.begin();
		latest.take(a);
		expect(latest.take(a)).toBe(false);
	});

	it("after drop(), drops every load begun before it, even when no newer answer came", () => {
		const latest = new Latest();
		const before = [latest.begin(), latest.begin()];
		latest.drop();
		expect(before.map((t) => latest.take(t))).toEqual([false, false]);
	});

	it("after drop(), shows a load begun after it, whatever the order the answers arrive in", () => {
		const latest = new Latest();
		const before = latest.begin();
		latest.drop();
		const after = latest.begin();
		expect(latest.take(after)).toBe(true);
		expect(latest.take(before)).toBe(false);
	});

	it("shows a newer answer although an older load never answers", () => {
		const latest = new Latest();
		latest.begin(); // lost
		const next = latest.begin();
		expect(latest.take(next)).toBe(true);
	});
});
