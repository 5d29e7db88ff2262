-- Carts, the checkout decision's extra pieces (one order per cart, idempotency
-- keys, the outbox of warehouse work still to do).

CREATE TABLE IF NOT EXISTS carts (
  cart_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed')),
  address TEXT,                   -- JSON Address or NULL
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  completed_at TEXT
);
-- One active cart per user; completed carts are kept as the audit trail.
CREATE UNIQUE INDEX IF NOT EXISTS carts_one_active ON carts (user_id) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS cart_items (
  cart_id TEXT NOT NULL REFERENCES carts (cart_id),
  product_id TEXT NOT NULL,
  size TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  added_at TEXT NOT NULL,
  PRIMARY KEY (cart_id, product_id, size)
);

-- The order row is the commit decision; a cart can be decided once.
ALTER TABLE orders ADD COLUMN cart_id TEXT;
ALTER TABLE orders ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';
CREATE UNIQUE INDEX IF NOT EXISTS orders_one_per_cart ON orders (cart_id);

CREATE TABLE IF NOT EXISTS idempotency_keys (
  user_id TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'done')),
  status_code INTEGER,
  response_body TEXT,
  order_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (user_id, idem_key)
);

-- Warehouse work that the decision promised and that is not yet confirmed done:
-- 'commit' (phase 2 of checkout) and 'cancel' (release or restock a cancelled
-- order's units). Deleted when the warehouse confirms; the cron reconciler retries the rest.
CREATE TABLE IF NOT EXISTS outbox (
  outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT NOT NULL,
  warehouse_id TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('commit', 'cancel')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL,
  next_attempt_at TEXT NOT NULL,
  UNIQUE (order_id, warehouse_id, action)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at);
