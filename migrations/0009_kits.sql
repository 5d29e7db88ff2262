-- Kits (bundles): a product made of other products' units. NULL: a plain
-- product. JSON [{ product_id, size, quantity }]; a kit has exactly one size and
-- no stock of its own (ordering it reserves and commits its components).
ALTER TABLE products ADD COLUMN components TEXT;
