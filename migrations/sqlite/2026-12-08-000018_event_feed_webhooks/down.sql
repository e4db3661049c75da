DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE event_settings;
ALTER TABLE event_sequences DROP COLUMN last_commit_order;
DROP INDEX events_feed_idx;
ALTER TABLE events DROP COLUMN commit_order;
