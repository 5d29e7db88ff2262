-- What every new order brings with it, written by the order's own INSERT
-- instead of by statements of their own in the checkout decision batch (each
-- statement of a D1 batch is paid for; a trigger runs inside the insert):
--  * its first history row (no old status, changed by its customer, "order placed");
--  * its units added to its customer's purchase counters, each product stamped
--    with its current limit as `cap`, so the named CHECK `purchase_limit` fails
--    the insert (and the batch) past it. Every product is counted, limited or
--    not, so a limit set later already sees the live orders.
-- Only the checkout decision inserts orders.

CREATE TRIGGER IF NOT EXISTS orders_placed_history AFTER INSERT ON orders
BEGIN
  INSERT INTO order_status_history (order_id, old_status, new_status, changed_by, reason, created_at)
  VALUES (NEW.order_id, NULL, NEW.status, NEW.user_id, 'order placed', NEW.created_at);
END;

CREATE TRIGGER IF NOT EXISTS orders_placed_counters AFTER INSERT ON orders
BEGIN
  INSERT INTO customer_product_units (user_id, product_id, units, cap)
  SELECT NEW.user_id, json_extract(l.value, '$.product_id'), SUM(json_extract(l.value, '$.quantity')),
         (SELECT max_per_customer FROM products WHERE product_id = json_extract(l.value, '$.product_id'))
  FROM json_each(NEW.products) l
  WHERE true
  GROUP BY json_extract(l.value, '$.product_id')
  ON CONFLICT (user_id, product_id) DO UPDATE SET units = units + excluded.units, cap = excluded.cap;
END;
