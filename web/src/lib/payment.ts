/** How an order's payment status reads in the pages: a refund is "pending" until the provider confirms it. */
export function paymentLabel(status: string): string {
	switch (status) {
		case "refund_pending":
			return "refund pending";
		default:
			return status;
	}
}

/** The refund state worth a badge of its own (null when no refund is under way or done). */
export function refundState(status: string): { label: string; tone: "pending" | "ok" } | null {
	if (status === "refund_pending") return { label: "refund pending", tone: "pending" };
	if (status === "refunded") return { label: "refunded", tone: "ok" };
	return null;
}
