-- The optimistic-locking baseline's whole schema: catalog, warehouses, stock as
-- JSON documents, carts and orders, all in one D1 database.
CREATE TABLE IF NOT EXISTS products (
  product_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  price_cents INTEGER NOT NULL,
  sizes TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS warehouses (
  warehouse_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  postal_code TEXT NOT NULL,
  region TEXT NOT NULL,
  country TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1
);

-- One row per (product, warehouse); `stock` is a JSON object {"<size>": count}.
-- Writers compare-and-set the whole document: UPDATE ... WHERE stock = <old JSON>.
CREATE TABLE IF NOT EXISTS stock (
  product_id TEXT NOT NULL,
  warehouse_id TEXT NOT NULL,
  stock TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (product_id, warehouse_id)
);

CREATE TABLE IF NOT EXISTS carts (
  cart_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',
  address TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS carts_one_active ON carts (user_id) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS cart_items (
  cart_id TEXT NOT NULL,
  product_id TEXT NOT NULL,
  size TEXT NOT NULL,
  quantity INTEGER NOT NULL,
  added_at TEXT NOT NULL,
  PRIMARY KEY (cart_id, product_id, size)
);

CREATE TABLE IF NOT EXISTS orders (
  order_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  cart_id TEXT NOT NULL UNIQUE,
  products TEXT NOT NULL,
  address TEXT NOT NULL,
  delivery_mode TEXT NOT NULL,
  delivery_tier TEXT NOT NULL,
  subtotal INTEGER NOT NULL,
  delivery_cost INTEGER NOT NULL,
  tax INTEGER NOT NULL,
  total INTEGER NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  payment_status TEXT NOT NULL DEFAULT 'pending',
  estimated_delivery_date TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_user ON orders (user_id, created_at);
