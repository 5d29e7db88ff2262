-- Moving customers between order shards when N changes (an upgrade from the
-- single-database layout is N going from 1): the reconciler's pass
-- (src/ops/rehome.ts) scans a source shard's customers in user_id order, a
-- bounded number per run. Its place in that scan, per shard count it moves
-- customers for, lives here in the source database, and so does the time a
-- whole round over the shard found no customer left to move.
CREATE TABLE IF NOT EXISTS rehome_progress (
  shards INTEGER PRIMARY KEY CHECK (shards >= 1),
  scanned_after TEXT NOT NULL DEFAULT '',
  moved_in_round INTEGER NOT NULL DEFAULT 0 CHECK (moved_in_round >= 0),
  moved_total INTEGER NOT NULL DEFAULT 0 CHECK (moved_total >= 0),
  done_at TEXT,
  updated_at TEXT NOT NULL
);

-- Which database this is. An upgraded shop binds its one database twice, as DB
-- and as ORDERS_0: code that goes over DB and every shard visits each database
-- once by this id (src/ops/databases.ts), not once per binding.
CREATE TABLE IF NOT EXISTS database_identity (id TEXT PRIMARY KEY);
INSERT INTO database_identity (id) SELECT lower(hex(randomblob(16))) WHERE NOT EXISTS (SELECT 1 FROM database_identity);
