-- The checkout decision is a batch of statements built in TypeScript
-- (src/orders/placement.ts): SQL keeps the constraints and guards, not the
-- business steps. This drops the placement view and the triggers that wrote an
-- order's history row and purchase counters, and the cart guard trigger, whose
-- job moves to a constraint below.

DROP TRIGGER IF EXISTS order_placements_insert;
DROP VIEW IF EXISTS order_placements;
DROP TRIGGER IF EXISTS orders_placed_history;
DROP TRIGGER IF EXISTS orders_placed_counters;
DROP TRIGGER IF EXISTS carts_checkout_guard;

-- The cart guard without a trigger. The decision completes the cart with
--   SET status = 'completed', checkout_refusal = CASE WHEN status <> 'active' THEN 'CART_TAKEN'
--                                                     WHEN version <> <version read> THEN 'CART_CHANGED' END
-- A cart that is no longer active, or changed since it was read, would take a
-- refusal code here, which its named CHECK forbids: the statement fails, and
-- with it the whole decision batch (CHECK constraint failed: CART_TAKEN or
-- CART_CHANGED). The column is never anything but NULL.
ALTER TABLE carts ADD COLUMN checkout_refusal TEXT
  CONSTRAINT CART_TAKEN CHECK (checkout_refusal IS NOT 'CART_TAKEN')
  CONSTRAINT CART_CHANGED CHECK (checkout_refusal IS NOT 'CART_CHANGED');
