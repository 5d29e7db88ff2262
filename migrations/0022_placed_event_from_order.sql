-- An order's "placed" event is derived from its order row (src/orders/placement.ts
-- `placedEvent`: everything it says is fixed when the order is created), so the
-- decision no longer writes it to event_outbox. `announce_pending` = 1: that
-- event is still to be handed to the queue; the outbox reads it as if it were
-- an event_outbox row (src/events/outbox.ts) and clears the flag once sent.
-- Orders placed before this keep 0: an unsent placed event of theirs is still
-- an event_outbox row and goes out as before.
ALTER TABLE orders ADD COLUMN announce_pending INTEGER NOT NULL DEFAULT 0 CHECK (announce_pending IN (0, 1));

-- The reconciler's scan for placed events whose in-request publish was lost.
CREATE INDEX IF NOT EXISTS orders_announce_pending ON orders (created_at) WHERE announce_pending = 1;
