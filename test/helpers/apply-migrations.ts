// Runs before each test file; applyD1Migrations skips what is already applied.
// Every database gets every migration: the catalog database DB and each order shard.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { orderShards } from "../../src/orders/shards";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
for (const db of orderShards(env)) await applyD1Migrations(db, env.TEST_MIGRATIONS);
