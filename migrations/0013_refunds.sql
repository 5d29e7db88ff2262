-- Refunds that reach the payment provider. Each charge is refunded at most
-- once: a refund's id follows the charge it gives back (the payment event that
-- recorded it), or the order when a paid order is cancelled with no recorded
-- charge (marked paid by hand). The order's payment_status says refund_pending
-- while any of its refunds is unconfirmed, refunded once the provider has
-- confirmed them all.

-- Which provider reported a charge, and its reference there (Stripe: the PaymentIntent id).
ALTER TABLE payment_events ADD COLUMN provider TEXT NOT NULL DEFAULT 'generic';
ALTER TABLE payment_events ADD COLUMN provider_ref TEXT;
CREATE INDEX payment_events_by_order ON payment_events (order_id);

CREATE TABLE refunds (
  refund_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  payment_event_id TEXT,                 -- the charge refunded; NULL for an order marked paid by hand
  provider TEXT NOT NULL CHECK (provider IN ('generic', 'stripe')),
  provider_ref TEXT,                     -- Stripe: the PaymentIntent refunded
  amount INTEGER NOT NULL CHECK (amount > 0),
  currency TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('order_cancelled', 'double_charge', 'paid_after_cancel')),
  -- requested: asked, not yet accepted by the provider; submitted: accepted, awaiting its
  -- confirmation; succeeded: confirmed; failed: the provider refused it, asked again at next_attempt_at.
  state TEXT NOT NULL CHECK (state IN ('requested', 'submitted', 'succeeded', 'failed')),
  -- How many times the provider reported this refund failed; part of the idempotency key,
  -- so a call that died is retried with the same key and a refused refund is asked anew.
  tries INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,   -- calls to the provider so far
  -- Stripe: the last call got an error answer (5xx, in-flight conflict), which Stripe replays for the
  -- same key: the next call first looks for the refund at Stripe, and moves to a new key only if absent.
  uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
  key_seq INTEGER NOT NULL DEFAULT 0,
  provider_refund_id TEXT,               -- Stripe: re_...
  last_error TEXT,
  next_attempt_at TEXT,                  -- due time of the next call (also its lease); NULL when none is due
  -- 0 while the order's payment_status may not yet reflect this row's state.
  synced INTEGER NOT NULL DEFAULT 1 CHECK (synced IN (0, 1)),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_by_provider_ref ON refunds (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX refunds_due ON refunds (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX refunds_unsynced ON refunds (updated_at) WHERE synced = 0;

-- Refunds requested before this migration were only logged, never issued: each
-- is asked again through the generic provider (tries = 1, so its re-request
-- event has a new id), and its order waits for the confirmation. The charge a
-- refunded order gives back is its first successful payment; every later one
-- was a double charge.
INSERT INTO refunds (refund_id, order_id, payment_event_id, provider, amount, currency, reason, state, tries, next_attempt_at, synced, created_at, updated_at)
SELECT CASE WHEN pe.event_id IS NULL THEN 'rf_order_' || o.order_id ELSE 'rf_' || pe.event_id END,
       o.order_id, pe.event_id, 'generic', COALESCE(pe.amount, o.total), o.currency,
       CASE WHEN EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = o.order_id AND h.new_status = 'cancelled'
                           AND h.old_status IS NOT 'cancelled' AND h.created_at < pe.received_at)
            THEN 'paid_after_cancel' ELSE 'order_cancelled' END,
       'failed', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM orders o
LEFT JOIN payment_events pe ON pe.event_id = (SELECT x.event_id FROM payment_events x WHERE x.order_id = o.order_id AND x.type = 'payment.succeeded' ORDER BY x.received_at, x.event_id LIMIT 1)
WHERE o.payment_status = 'refunded';

INSERT INTO refunds (refund_id, order_id, payment_event_id, provider, amount, currency, reason, state, tries, next_attempt_at, synced, created_at, updated_at)
SELECT 'rf_' || pe.event_id, pe.order_id, pe.event_id, 'generic', pe.amount, pe.currency, 'double_charge',
       'failed', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM payment_events pe
WHERE pe.type = 'payment.succeeded'
  AND pe.event_id <> (SELECT x.event_id FROM payment_events x WHERE x.order_id = pe.order_id AND x.type = 'payment.succeeded' ORDER BY x.received_at, x.event_id LIMIT 1)
ON CONFLICT DO NOTHING;

INSERT INTO order_status_history (order_id, old_status, new_status, changed_by, reason, created_at)
SELECT order_id, status, status, 'system', 'payment refund_pending: refund not yet confirmed by the provider', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM orders WHERE order_id IN (SELECT order_id FROM refunds) AND payment_status <> 'refund_pending';
UPDATE orders SET payment_status = 'refund_pending' WHERE order_id IN (SELECT order_id FROM refunds);
