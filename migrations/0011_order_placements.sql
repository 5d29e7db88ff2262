-- The checkout decision as one statement: an INSERT into the view
-- `order_placements` carries the order row, the version of the cart it was
-- read with, the warehouses whose holds it promises to commit and its "placed"
-- event, all built by the gateway (src/checkout/ports.ts); the INSTEAD OF
-- trigger writes them where they belong, in this order:
--  1. the cart completed with the version read: `carts_checkout_guard` (0005)
--     aborts everything if the cart is no longer active (CART_TAKEN) or has
--     changed since (CART_CHANGED);
--  2. the order (its own triggers, 0010: history row, purchase counters, whose
--     CHECK aborts everything past a limit; the unique live order per cart);
--  3. a `commit` outbox row per warehouse;
--  4. the event in the event outbox.
-- A D1 batch pays per statement; the trigger's statements run inside SQLite.
-- The view itself never has rows.

CREATE VIEW IF NOT EXISTS order_placements AS
SELECT order_id, user_id, cart_id, products, address, delivery_mode, delivery_tier, subtotal, delivery_cost, tax, total, currency,
       status, payment_status, estimated_delivery_date, tracking_number, customer_email, created_at, updated_at,
       NULL AS cart_version, NULL AS commit_warehouses, NULL AS event_id, NULL AS event_payload
FROM orders WHERE 0;

CREATE TRIGGER IF NOT EXISTS order_placements_insert INSTEAD OF INSERT ON order_placements
BEGIN
  UPDATE carts SET status = 'completed', version = NEW.cart_version, completed_at = NEW.created_at, updated_at = NEW.created_at
  WHERE cart_id = NEW.cart_id;
  INSERT INTO orders (order_id, user_id, cart_id, products, address, delivery_mode, delivery_tier, subtotal, delivery_cost, tax, total, currency,
                      status, payment_status, estimated_delivery_date, tracking_number, customer_email, created_at, updated_at)
  VALUES (NEW.order_id, NEW.user_id, NEW.cart_id, NEW.products, NEW.address, NEW.delivery_mode, NEW.delivery_tier, NEW.subtotal, NEW.delivery_cost,
          NEW.tax, NEW.total, NEW.currency, NEW.status, NEW.payment_status, NEW.estimated_delivery_date, NEW.tracking_number, NEW.customer_email,
          NEW.created_at, NEW.updated_at);
  INSERT INTO outbox (order_id, warehouse_id, action, created_at, next_attempt_at)
  SELECT NEW.order_id, value, 'commit', NEW.created_at, NEW.created_at FROM json_each(NEW.commit_warehouses) WHERE true
  ON CONFLICT DO NOTHING;
  INSERT INTO event_outbox (event_id, payload, created_at) VALUES (NEW.event_id, NEW.event_payload, NEW.created_at)
  ON CONFLICT DO NOTHING;
END;
