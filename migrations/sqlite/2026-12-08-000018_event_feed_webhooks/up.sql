-- The event feed's order (SPEC §8). SQLite has one writer: `position` (AUTOINCREMENT, never
-- reused even after pruning) is commit order, and `commit_order` stays 0. The table is rebuilt
-- because SQLite cannot add an autoincrement column.
CREATE TABLE events_new (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    property_id TEXT,
    data TEXT NOT NULL,
    commit_order BIGINT NOT NULL DEFAULT 0,
    UNIQUE (aggregate_type, aggregate_id, sequence)
);
INSERT INTO events_new (id, type, occurred_at, aggregate_type, aggregate_id, sequence, property_id, data)
SELECT id, type, occurred_at, aggregate_type, aggregate_id, sequence, property_id, data FROM events
ORDER BY occurred_at, id;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_occurred_at_idx ON events (occurred_at, id);
CREATE INDEX events_type_idx ON events (type, id);
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
