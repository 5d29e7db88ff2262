/**
 * How an order's payment status reads in the pages. A refund is "pending" until
 * the payment provider confirms it. On an order that is not cancelled, a refund
 * can only be of an extra charge (a double charge): the order itself stays paid.
 */
export function paymentLabel(status: string, orderStatus?: string): string {
	const extra = orderStatus !== undefined && orderStatus !== "cancelled" && orderStatus !== "pending";
	switch (status) {
		case "refund_pending":
			return extra ? "paid · refund of a double charge pending" : "refund pending";
		case "refunded":
			return extra ? "paid · double charge refunded" : "refunded";
		default:
			return status;
	}
}

/** The refund state worth a badge of its own (null when no refund is under way or done). */
export function refundState(status: string, orderStatus: string): { label: string; tone: "pending" | "ok" } | null {
	if (status !== "refund_pending" && status !== "refunded") return null;
	return { label: paymentLabel(status, orderStatus), tone: status === "refunded" ? "ok" : "pending" };
}
