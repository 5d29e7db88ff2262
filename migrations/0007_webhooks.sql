-- Webhooks to the shop's systems: registered endpoints, one message per
-- (event, endpoint) with its delivery state, and one row per attempt.

CREATE TABLE webhook_endpoints (
	webhook_id TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	events TEXT NOT NULL,                  -- JSON array of event types
	description TEXT,
	secret TEXT NOT NULL,                  -- whsec_<base64 key>
	active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	created_at TEXT NOT NULL,
	failing_since TEXT,                    -- first failed attempt since the last success
	disabled_at TEXT                       -- set when 24 hours of failures disabled it
);

-- message_id is the webhook-id header, derived from (event_id, webhook_id).
CREATE TABLE webhook_messages (
	message_id TEXT PRIMARY KEY,
	webhook_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	event_type TEXT NOT NULL,
	payload TEXT NOT NULL,                 -- the exact body that is signed and sent
	state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	next_attempt_at TEXT,                  -- due time while pending (also an attempt's lease)
	UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state = 'pending';

CREATE TABLE webhook_deliveries (
	delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id TEXT NOT NULL,
	message_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	event_type TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	status_code INTEGER,
	error TEXT,
	at TEXT NOT NULL,
	next_attempt_at TEXT
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (webhook_id, delivery_id);
