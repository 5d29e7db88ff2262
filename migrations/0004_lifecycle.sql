-- Order lifecycle: conditional updates, payments, and the event outbox.

-- Set by every accepted change; the change's history and event rows are
-- inserted only where this token is theirs, so a change that lost a race writes nothing.
ALTER TABLE orders ADD COLUMN change_id TEXT;
-- The customer's email from the token's `email` claim, for notifications.
ALTER TABLE orders ADD COLUMN customer_email TEXT;

-- Payment webhook events, each processed once.
CREATE TABLE IF NOT EXISTS payment_events (
  event_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL,
  type TEXT NOT NULL,
  amount INTEGER NOT NULL,
  currency TEXT NOT NULL,
  received_at TEXT NOT NULL
);

-- Events to publish to the `order-events` queue, written in the same batch as
-- the change they describe; deleted once the queue has them.
CREATE TABLE IF NOT EXISTS event_outbox (
  event_id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- The consumer's de-duplication: events already delivered.
CREATE TABLE IF NOT EXISTS processed_events (
  event_id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  processed_at TEXT NOT NULL
);
