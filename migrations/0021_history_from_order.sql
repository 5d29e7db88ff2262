-- An order's history as it is read: its placement, then its status changes.
-- The placement row is fully determined by the order row (every order is
-- created pending, by its customer, "order placed", at its created_at), so the
-- checkout decision no longer writes it: this view derives it from `orders`.
-- Changes still write their rows to order_status_history.
--
-- Orders placed before this view, or by a Worker version that still writes the
-- placement row, have it stored (the only stored row with no old status): for
-- them the derived row is left out, so no order shows two placements.
-- `position` orders an order's rows: its placement first (0), then its stored
-- rows by history_id (AUTOINCREMENT, so never 0).
CREATE VIEW IF NOT EXISTS order_history AS
SELECT o.order_id, 0 AS position, NULL AS old_status, 'pending' AS new_status,
       o.user_id AS changed_by, 'order placed' AS reason, o.created_at
FROM orders o
WHERE NOT EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = o.order_id AND h.old_status IS NULL)
UNION ALL
SELECT order_id, history_id, old_status, new_status, changed_by, reason, created_at
FROM order_status_history;
