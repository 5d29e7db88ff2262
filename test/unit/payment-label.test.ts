import { describe, expect, it } from "vitest";
import { paymentLabel, refundState } from "../../web/src/lib/payment";

describe("the pages' payment wording", () => {
	it("a cancelled order reads refund pending until the provider confirms, then refunded", () => {
		expect(paymentLabel("refund_pending", "cancelled")).toBe("refund pending");
		expect(refundState("refund_pending", "cancelled")).toEqual({ label: "refund pending", tone: "pending" });
		expect(refundState("refunded", "cancelled")).toEqual({ label: "refunded", tone: "ok" });
	});

	it("a live order with a refund is still paid: the refund is of a double charge", () => {
		expect(paymentLabel("refund_pending", "paid")).toBe("paid · refund of a double charge pending");
		expect(refundState("refunded", "shipped")).toEqual({ label: "paid · double charge refunded", tone: "ok" });
	});

	it("no refund, no badge; other statuses read as they are", () => {
		for (const s of ["pending", "paid", "failed"]) {
			expect(refundState(s, "paid")).toBeNull();
			expect(paymentLabel(s, "paid")).toBe(s);
		}
	});
});
