-- The outbox: one row per domain event, written in the transaction of the change it describes
-- (a committed change always has its events, a rolled-back one never). `sequence` counts per
-- aggregate from 1, so a consumer can detect a gap; `data` holds ids, states, changed field
-- names and deltas, never personal data (SPEC §8).
CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    property_id TEXT,
    data TEXT NOT NULL,
    UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE INDEX events_occurred_at_idx ON events (occurred_at, id);
CREATE INDEX events_type_idx ON events (type, id);
