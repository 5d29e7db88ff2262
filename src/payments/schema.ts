/**
 * The payment providers' events as stockgate reads them: the generic
 * provider's signed body, the subset of Stripe's objects it uses (amounts
 * there are integers in minor units), and the answers of both webhooks.
 */
import { z } from "zod";
import { Id, Money } from "../shared/schema";

const Currency = z.string().regex(/^[A-Za-z]{3}$/, "must be a 3-letter currency code");

// Loose: a provider's signed events gain fields without notice.
export const WebhookBody = z.looseObject({
	id: z.string().min(1).max(255),
	type: z.enum(["payment.succeeded", "payment.failed", "refund.succeeded", "refund.failed"]),
	order_id: Id,
	amount: Money,
	currency: Currency,
	payment_event_id: z
		.string()
		.min(1)
		.max(255)
		.optional()
		.meta({ description: "refund.* only: the payment_event_id of the payment.refund_requested being answered (default: the order's oldest unconfirmed refund)" }),
});
export type WebhookBody = z.output<typeof WebhookBody>;

export const WebhookAnswer = z.object({
	received: z.literal(true),
	duplicate: z.boolean().meta({ description: "This event id was already processed; nothing changed" }),
	duplicate_charge: z.boolean().optional().meta({ description: "The order's money was already taken: a refund of this charge was requested" }),
	ignored: z.string().optional().meta({ description: "Stripe only: why this event changes nothing here (another event type, no metadata.order_id)" }),
	order_id: z.string().optional(),
	status: z.string().optional(),
	payment_status: z.string().optional(),
});

const Metadata = z.record(z.string(), z.string()).nullish();

export const StripePaymentIntent = z.object({
	id: z.string(),
	amount: z.int().nonnegative(),
	amount_received: z.int().nonnegative().optional(),
	currency: Currency,
	metadata: Metadata,
});

export const StripeRefund = z.object({
	id: z.string(),
	amount: z.int().nonnegative(),
	currency: Currency,
	status: z.string().nullish(),
	payment_intent: z.string().nullish(),
	metadata: Metadata,
});
export type StripeRefund = z.infer<typeof StripeRefund>;

export const StripeCharge = z.object({
	id: z.string(),
	amount_refunded: z.int().nonnegative(),
	currency: Currency,
	refunded: z.boolean(),
	payment_intent: z.string().nullish(),
	refunds: z.object({ data: z.array(StripeRefund) }).nullish(),
});

/** Stripe's event envelope (already verified): `data.object` is read per type. */
export const StripeEvent = z.object({ id: z.string().min(1).max(255), type: z.string(), data: z.object({ object: z.unknown() }) });
