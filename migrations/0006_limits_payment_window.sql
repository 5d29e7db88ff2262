-- Purchase limits (max_per_customer) and the payment window.

-- The most units of a product (all sizes together) one customer may hold in
-- live orders plus the active cart; NULL is no limit.
ALTER TABLE products ADD COLUMN max_per_customer INTEGER CHECK (max_per_customer IS NULL OR max_per_customer >= 1);

-- Units of each product in each customer's live (not cancelled) orders. The
-- checkout decision adds to it and a cancellation takes back, each in the same
-- batch as the order change. `cap` is the product's limit as of the last
-- order; the named CHECK makes a decision batch that would pass it fail whole.
CREATE TABLE IF NOT EXISTS customer_product_units (
  user_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  units INTEGER NOT NULL CHECK (units >= 0),
  cap INTEGER,
  CONSTRAINT purchase_limit CHECK (cap IS NULL OR units <= cap),
  PRIMARY KEY (user_id, product_id)
);

-- Orders placed before this migration count too.
INSERT INTO customer_product_units (user_id, product_id, units)
SELECT o.user_id, json_extract(p.value, '$.product_id'), SUM(json_extract(p.value, '$.quantity'))
FROM orders o, json_each(o.products) p
WHERE o.status <> 'cancelled'
GROUP BY o.user_id, json_extract(p.value, '$.product_id');

-- The payment window's sweep (`status = 'pending' AND created_at < ?`, oldest
-- first) is served by orders_status_created from 0001: no new index, so the
-- checkout's order insert maintains nothing more.
