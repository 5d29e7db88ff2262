/**
 * Webhooks to the shop's own systems: the event types an endpoint can
 * subscribe to, the admin API's shapes, and the JSON event every delivery
 * carries (`{ id, type, occurred_at, data }`, Standard Webhooks style).
 */
import { z } from "zod";
import { Id } from "../shared/schema";

export const WEBHOOK_EVENT_TYPES = [
	"order.placed",
	"order.paid",
	"order.cancelled",
	"order.shipped",
	"order.delivered",
	"payment.refund_requested",
	"stock.changed",
	"stock.low",
	"transfer.updated",
] as const;
export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** What is POSTed to an endpoint; `id` is stockgate's event id, the same for every endpoint. */
export const WebhookEvent = z
	.object({
		id: z.string(),
		type: WebhookEventType,
		occurred_at: z.string(),
		data: z.record(z.string(), z.unknown()),
	})
	.meta({ id: "WebhookEvent" });
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** The `data` of an order event (order.placed, paid, cancelled, shipped, delivered). */
export const OrderEventData = z
	.object({
		order_id: z.string(),
		user_id: z.string(),
		status: z.string(),
		previous_status: z.string().nullable(),
		payment_status: z.string(),
		total: z.number(),
		currency: z.string(),
		tracking_number: z.string().nullable(),
		changed_by: z.string(),
		reason: z.string().nullable(),
		sequence: z
			.int()
			.min(1)
			.nullable()
			.meta({
				description:
					"The order's events are numbered 1 (placed), 2, ... in the order they happened; an endpoint gets them in that order (a number is skipped where a change is not sent or not subscribed to). Null only for events written before sequences existed.",
			}),
	})
	.meta({ id: "WebhookOrderEventData" });
export type OrderEventData = z.infer<typeof OrderEventData>;

export const Endpoint = z
	.strictObject({
		webhook_id: z.string(),
		url: z.string(),
		events: z.array(WebhookEventType),
		description: z.string().nullable(),
		secret: z.string().meta({ description: "whsec_<base64 key>: the HMAC-SHA256 key of webhook-signature" }),
		active: z.boolean(),
		created_at: z.string(),
		disabled_at: z.string().nullable().meta({ description: "When it was disabled after failing every delivery for 24 hours" }),
	})
	.meta({ id: "WebhookEndpoint" });
export type Endpoint = z.infer<typeof Endpoint>;

/** The https rule (and its localhost exception) depends on configuration: checked by the route, see url.ts. */
export const CreateEndpointBody = Endpoint.pick({ url: true, events: true })
	.extend({
		url: z
			.string()
			.trim()
			.min(1)
			.max(2048)
			.meta({ format: "uri", pattern: "^https://", description: "An absolute https URL to a public host" }),
		events: z
			.array(WebhookEventType)
			.min(1)
			.max(WEBHOOK_EVENT_TYPES.length)
			.refine((e) => new Set(e).size === e.length, "must not repeat an event type")
			.meta({ uniqueItems: true }),
		description: z.string().trim().min(1).max(500).regex(/\S/, "must not be blank").optional(),
	});
export type CreateEndpointBody = z.infer<typeof CreateEndpointBody>;

export const EndpointParams = z.object({ webhook_id: Id });
export const EndpointList = z.object({ webhooks: z.array(Endpoint) }).meta({ id: "WebhookEndpointList" });

/** One delivery attempt of one event to one endpoint. */
export const Delivery = z
	.object({
		delivery_id: z.int(),
		message_id: z.string().meta({ description: "The webhook-id header: the same for every attempt of this event to this endpoint" }),
		event_id: z.string(),
		event_type: WebhookEventType,
		attempt: z.int().meta({ description: "1 for the first attempt" }),
		status_code: z.int().nullable().meta({ description: "The receiver's HTTP status; null when none came (network error, timeout)" }),
		error: z.string().nullable().meta({ description: "null when delivered; otherwise the failure's class: timeout, connection_failed, target_refused (the URL is not a public host) or http_<status>" }),
		at: z.string(),
		next_attempt_at: z.string().nullable().meta({ description: "When this event is tried again; null once delivered or given up" }),
	})
	.meta({ id: "WebhookDelivery" });
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryPage = z.object({ deliveries: z.array(Delivery), next_cursor: z.string().nullable() }).meta({ id: "WebhookDeliveryPage" });
