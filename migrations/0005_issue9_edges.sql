-- The cart's version (place-order decides only on the cart it read), carts
-- that come back after an unfulfillable order, and inactive warehouses the
-- reconciler still sweeps for open holds.

-- Bumped by every change to a cart's lines or address, inside the statement
-- that writes the change (the triggers below), so no writer can forget it.
ALTER TABLE carts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER IF NOT EXISTS cart_items_inserted AFTER INSERT ON cart_items
BEGIN
  UPDATE carts SET version = version + 1 WHERE cart_id = NEW.cart_id;
END;

CREATE TRIGGER IF NOT EXISTS cart_items_updated AFTER UPDATE ON cart_items
BEGIN
  UPDATE carts SET version = version + 1 WHERE cart_id = NEW.cart_id;
END;

CREATE TRIGGER IF NOT EXISTS cart_items_deleted AFTER DELETE ON cart_items
BEGIN
  UPDATE carts SET version = version + 1 WHERE cart_id = OLD.cart_id;
END;

CREATE TRIGGER IF NOT EXISTS carts_address_changed AFTER UPDATE OF address ON carts
WHEN NEW.address IS NOT OLD.address
BEGIN
  UPDATE carts SET version = version + 1 WHERE cart_id = NEW.cart_id;
END;

-- The checkout decision completes the cart with `SET status = 'completed',
-- version = <the version it read>`. The batch fails (and writes nothing) when
-- the cart is no longer active (CART_TAKEN) or changed since it was read
-- (CART_CHANGED): the order is never placed from a stale copy of the cart.
CREATE TRIGGER IF NOT EXISTS carts_checkout_guard BEFORE UPDATE OF status ON carts
WHEN NEW.status = 'completed'
BEGIN
  SELECT RAISE(ABORT, 'CART_TAKEN') WHERE OLD.status <> 'active';
  SELECT RAISE(ABORT, 'CART_CHANGED') WHERE NEW.version IS NOT OLD.version;
END;

-- An order cancelled as unfulfillable gives its cart back (active again), so
-- the cart may be ordered again: one LIVE order per cart.
DROP INDEX IF EXISTS orders_one_per_cart;
CREATE UNIQUE INDEX IF NOT EXISTS orders_one_live_per_cart ON orders (cart_id) WHERE status <> 'cancelled';

-- Set when a warehouse goes inactive: it may still have open holds, so the
-- reconciler keeps resolving its due holds until it reports none (then clears it).
ALTER TABLE warehouses ADD COLUMN sweep_since TEXT;

CREATE TRIGGER IF NOT EXISTS warehouses_deactivated AFTER UPDATE OF active ON warehouses
WHEN OLD.active = 1 AND NEW.active = 0
BEGIN
  UPDATE warehouses SET sweep_since = NEW.updated_at WHERE warehouse_id = NEW.warehouse_id;
END;

UPDATE warehouses SET sweep_since = updated_at WHERE active = 0;
