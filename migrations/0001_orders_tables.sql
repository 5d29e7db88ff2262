-- Orders and their status history.
-- Money columns hold integer minor units (cents); products and address are JSON text.
CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  products TEXT NOT NULL,
  address TEXT NOT NULL,
  delivery_mode TEXT NOT NULL,
  delivery_tier TEXT NOT NULL,
  subtotal INTEGER NOT NULL,
  delivery_cost INTEGER NOT NULL,
  tax INTEGER NOT NULL,
  total INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  payment_status TEXT NOT NULL DEFAULT 'pending',
  estimated_delivery_date TEXT,
  tracking_number TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS orders_user_created ON orders (user_id, created_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS orders_status_created ON orders (status, created_at DESC, order_id DESC);

CREATE TABLE IF NOT EXISTS order_status_history (
  history_id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT NOT NULL REFERENCES orders (order_id),
  old_status TEXT,
  new_status TEXT NOT NULL,
  changed_by TEXT NOT NULL,
  reason TEXT,
  created_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS order_status_history_order ON order_status_history (order_id, history_id);
