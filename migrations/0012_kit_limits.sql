-- Purchase counters count physical units: a kit line counts as its kit's units
-- and as each component's units (the order row's kit lines carry their
-- components with the line's units already multiplied), so a kit cannot carry a
-- customer past a component's limit. The decision stays one statement: this
-- trigger runs inside the order's insert and its counters' CHECK
-- `purchase_limit` fails the whole decision past a limit, kits included.
-- Cancellations give back the same units (src/limits/queries.ts).

DROP TRIGGER IF EXISTS orders_placed_counters;

CREATE TRIGGER IF NOT EXISTS orders_placed_counters AFTER INSERT ON orders
BEGIN
  INSERT INTO customer_product_units (user_id, product_id, units, cap)
  SELECT NEW.user_id, u.product_id, SUM(u.units), (SELECT max_per_customer FROM products WHERE product_id = u.product_id)
  FROM (SELECT json_extract(l.value, '$.product_id') AS product_id, json_extract(l.value, '$.quantity') AS units
        FROM json_each(NEW.products) l
        UNION ALL
        SELECT json_extract(c.value, '$.product_id'), json_extract(c.value, '$.quantity')
        FROM json_each(NEW.products) l, json_each(l.value, '$.components') c) u
  WHERE true
  GROUP BY u.product_id
  ON CONFLICT (user_id, product_id) DO UPDATE SET units = units + excluded.units, cap = excluded.cap;
END;

-- Live orders placed before count their kits' components too. A counter this
-- takes past its cap drops the cap: the customer's next order of that product
-- stamps the limit again and is refused while over it.
INSERT INTO customer_product_units (user_id, product_id, units, cap)
SELECT o.user_id, json_extract(c.value, '$.product_id'), SUM(json_extract(c.value, '$.quantity')), NULL
FROM orders o, json_each(o.products) l, json_each(l.value, '$.components') c
WHERE o.status <> 'cancelled'
GROUP BY o.user_id, json_extract(c.value, '$.product_id')
ON CONFLICT (user_id, product_id) DO UPDATE SET units = units + excluded.units, cap = NULL;
