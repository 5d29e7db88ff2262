-- Transfers between warehouses: the saga's record. The row is written first; the
-- Warehouse objects then move the units (transfer_out at the source, incoming at
-- the destination, transfer_in on receive, transfer_cancel on cancel). `step` is
-- the warehouse work the current status still needs; the reconciler finishes any
-- step a dead request left ('done': nothing left).
CREATE TABLE IF NOT EXISTS transfers (
  transfer_id TEXT PRIMARY KEY,
  from_warehouse_id TEXT NOT NULL,
  to_warehouse_id TEXT NOT NULL,
  items TEXT NOT NULL,              -- JSON [{ product_id, size, quantity }], summed per unit
  status TEXT NOT NULL CHECK (status IN ('in_transit', 'received', 'cancelled')),
  step TEXT NOT NULL CHECK (step IN ('out', 'incoming', 'receive', 'cancel', 'done')),
  reference TEXT UNIQUE,
  note TEXT,
  created_by TEXT NOT NULL,
  change_id TEXT NOT NULL,        -- stamped by every status or step change; events are written only if it still matches
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  next_attempt_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (from_warehouse_id <> to_warehouse_id)
);
CREATE INDEX IF NOT EXISTS transfers_newest ON transfers (created_at, transfer_id);
CREATE INDEX IF NOT EXISTS transfers_by_status ON transfers (status, created_at, transfer_id);
CREATE INDEX IF NOT EXISTS transfers_unfinished ON transfers (next_attempt_at) WHERE step <> 'done';
