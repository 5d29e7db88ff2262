-- Order events in order (docs/ARCHITECTURE.md, "Order events in order").
--
-- orders.event_seq: the sequence of the order's latest status event. The
-- placement inserts 1 (its "placed" event); every status change increments it
-- in the same conditional UPDATE that changes the order, so an order's events
-- are numbered 1, 2, 3... without gaps. Existing orders count the status
-- changes in their history.
ALTER TABLE orders ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 1;
UPDATE orders SET event_seq = MAX(1, (SELECT COUNT(*) FROM order_status_history h
  WHERE h.order_id = orders.order_id AND (h.old_status IS NULL OR h.old_status <> h.new_status)));

-- The gateway's outbox sees an order event's order and sequence in its payload
-- (events without a sequence are not order events): an order's events are
-- handed to the queue in sequence, a later one held while an earlier one is
-- still in the outbox.
ALTER TABLE event_outbox ADD COLUMN order_id TEXT GENERATED ALWAYS AS (json_extract(payload, '$.order_id')) VIRTUAL;
ALTER TABLE event_outbox ADD COLUMN sequence INTEGER GENERATED ALWAYS AS (json_extract(payload, '$.sequence')) VIRTUAL;
CREATE INDEX IF NOT EXISTS event_outbox_by_order ON event_outbox (order_id, sequence) WHERE sequence IS NOT NULL;

-- The queue consumer's side: the last sequence it delivered per order, and the
-- events that arrived before their predecessor (the queue does not keep order),
-- parked until it has been delivered. Orders placed before sequences start
-- from the count above, so their next event is delivered at once.
CREATE TABLE IF NOT EXISTS order_event_cursor (
  order_id TEXT PRIMARY KEY,
  delivered_seq INTEGER NOT NULL
);
INSERT INTO order_event_cursor (order_id, delivered_seq) SELECT order_id, event_seq FROM orders WHERE true
  ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS order_event_parked (
  order_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  payload TEXT NOT NULL,
  parked_at TEXT NOT NULL,
  PRIMARY KEY (order_id, sequence)
);

-- Webhook messages of order events carry their order and sequence: per
-- endpoint, a later one is not attempted while an earlier one of the same
-- order is still pending (first attempt or retry).
ALTER TABLE webhook_messages ADD COLUMN order_id TEXT;
ALTER TABLE webhook_messages ADD COLUMN sequence INTEGER;
CREATE INDEX IF NOT EXISTS webhook_messages_pending_by_order ON webhook_messages (webhook_id, order_id, sequence) WHERE state = 'pending' AND sequence IS NOT NULL;
