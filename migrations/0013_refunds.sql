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

-- Refunds requested before this migration were only logged: they are asked
-- again through the provider, and their orders wait for its confirmation.
INSERT INTO refunds (refund_id, order_id, payment_event_id, provider, amount, currency, reason, state, next_attempt_at, synced, created_at, updated_at)
SELECT 'rf_order_' || order_id, order_id, NULL, 'generic', total, currency, 'order_cancelled', 'failed', updated_at, 1, updated_at, updated_at
FROM orders WHERE payment_status = 'refunded';
INSERT INTO order_status_history (order_id, old_status, new_status, changed_by, reason, created_at)
SELECT order_id, status, status, 'system', 'payment refund_pending: refund not confirmed by the provider', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM orders WHERE payment_status = 'refunded';
UPDATE orders SET payment_status = 'refund_pending' WHERE payment_status = 'refunded';
