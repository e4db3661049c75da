-- The event feed's order (SPEC §8). An event's place is (commit_order, position): `position`
-- is given at insert, `commit_order` is the inserting transaction's id, raised to the previous
-- event of the same aggregate's when that is higher (so an aggregate's events are in sequence
-- order). The feed serves only events whose commit_order is below the oldest transaction still
-- in flight (`pg_snapshot_xmin`): an event a slower transaction commits later always sorts after
-- everything already served, so a reader following the cursor never skips one.
ALTER TABLE events ADD COLUMN commit_order BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN position BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX events_feed_idx ON events (commit_order, position);
ALTER TABLE event_sequences ADD COLUMN last_commit_order BIGINT NOT NULL DEFAULT 0;

-- Feed and webhook settings as data (SPEC §8): how long events and delivery logs are kept.
CREATE TABLE event_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO event_settings (name, value) VALUES ('retention_days', '90');

-- Webhook endpoints (Standard Webhooks 1.0). The signing secret is stored encrypted (it must be
-- read back to sign); the previous one keeps signing until `previous_secret_until` after a
-- rotation. `cursor_*` is the feed position up to which this endpoint's deliveries were made.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    types TEXT NOT NULL,
    property_ids TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    cursor_commit_order BIGINT NOT NULL,
    cursor_position BIGINT NOT NULL,
    failing_since TIMESTAMP,
    disabled_reason TEXT,
    disabled_at TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (enabled, id);

-- One row per (endpoint, event): its state, attempts and the last answer (first 2 KiB). A retry
-- or a recovery re-arms the same row, so the receiver sees the same webhook-id.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    replay BOOLEAN NOT NULL,
    next_attempt_at TIMESTAMP,
    lease_until TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_status INTEGER,
    last_latency_ms INTEGER,
    last_response TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, aggregate_type, aggregate_id, sequence);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_endpoint_state_idx ON webhook_deliveries (endpoint_id, state, id);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
