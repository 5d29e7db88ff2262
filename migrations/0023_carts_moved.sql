-- A cart can be 'moved': claimed by the move of its customer to another order
-- shard (src/ops/rehome.ts) in the same statement that reads it for the copy.
-- A checkout of a moved cart is refused (the decision only completes an
-- active cart: CART_TAKEN), so a cart is ordered in one shard only. The cart's
-- rows are deleted once the copy is written.
--
-- SQLite cannot change a CHECK in place: the table is rebuilt with the same
-- columns and constraints, then its index and the triggers that name it are
-- made again.

PRAGMA defer_foreign_keys = true;

CREATE TABLE carts_next (
  cart_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'moved')),
  address TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  completed_at TEXT,
  version INTEGER NOT NULL DEFAULT 0,
  checkout_refusal TEXT
    CONSTRAINT CART_TAKEN CHECK (checkout_refusal IS NOT 'CART_TAKEN')
    CONSTRAINT CART_CHANGED CHECK (checkout_refusal IS NOT 'CART_CHANGED')
);
INSERT INTO carts_next (cart_id, user_id, status, address, created_at, updated_at, completed_at, version, checkout_refusal)
SELECT cart_id, user_id, status, address, created_at, updated_at, completed_at, version, checkout_refusal FROM carts;

DROP TRIGGER IF EXISTS cart_items_inserted;
DROP TRIGGER IF EXISTS cart_items_updated;
DROP TRIGGER IF EXISTS cart_items_deleted;
DROP TRIGGER IF EXISTS carts_address_changed;
DROP TABLE carts;
ALTER TABLE carts_next RENAME TO carts;

CREATE UNIQUE INDEX IF NOT EXISTS carts_one_active ON carts (user_id) WHERE status = 'active';

-- As in 0005: every change to a cart's lines or address bumps its version.
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
