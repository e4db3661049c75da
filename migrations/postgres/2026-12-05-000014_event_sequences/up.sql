-- The last sequence number given per aggregate. Appending an event increments its aggregate's
-- row (an upsert), which holds that row's lock until commit: concurrent writers of one aggregate
-- queue (bounded by lock_timeout) and get consecutive numbers in commit order, instead of
-- computing the same MAX + 1 and colliding on the unique sequence.
CREATE TABLE event_sequences (
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    last_sequence BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
INSERT INTO event_sequences (aggregate_type, aggregate_id, last_sequence)
SELECT aggregate_type, aggregate_id, MAX(sequence) FROM events GROUP BY aggregate_type, aggregate_id;
