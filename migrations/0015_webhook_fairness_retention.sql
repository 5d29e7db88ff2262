-- Webhook deliveries claimed fairly per endpoint, and tables pruned by age.

-- An endpoint's due messages, oldest first (the reconciler's per-endpoint claim).
CREATE INDEX webhook_messages_due_by_endpoint ON webhook_messages (webhook_id, next_attempt_at) WHERE state = 'pending';

-- Finished messages by age (pruned after WEBHOOK_RETENTION_DAYS), and their attempts.
CREATE INDEX webhook_messages_finished ON webhook_messages (created_at) WHERE state IN ('delivered', 'failed');
CREATE INDEX webhook_deliveries_by_message ON webhook_deliveries (message_id);

-- The queue consumer's de-duplication records by age (pruned once no copy can still arrive).
CREATE INDEX processed_events_by_time ON processed_events (processed_at);
