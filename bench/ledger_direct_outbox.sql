-- pgbench script for bench/ledger_load.sh: the bare ledger transaction of ledger_direct.sql plus
-- what the outbox adds to every posting (SPEC §8): the aggregate's sequence counter (upsert,
-- with the feed's commit order) and the event row, in the same commit. Its tps next to
-- ledger_direct.sql's is the outbox's cost.
\set n random(2, :guests)
\set r random(1, 1000000000000)
BEGIN;
INSERT INTO ledger_entries (id, customer_id, kind, points, balance_after, qualifying, reason, actor_kind, actor_id,
    source_kind, source_id, property_id, idempotency_key, reverses_id, expires_at, created_at)
VALUES ('outbox-' || :client_id || '-' || :r, '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), 'adjust', 10, 0,
    false, 'bench posting', 'staff', 'bench', NULL, NULL, NULL, 'adjust:outbox-' || :client_id || '-' || :r, NULL,
    now() + interval '24 months', now());
UPDATE loyalty_accounts SET balance = balance + 10, updated_at = now() WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0');
INSERT INTO event_sequences (aggregate_type, aggregate_id, last_sequence, last_commit_order)
VALUES ('loyalty_account', '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), 1, pg_current_xact_id()::text::bigint)
ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = event_sequences.last_sequence + 1,
    last_commit_order = GREATEST(event_sequences.last_commit_order, EXCLUDED.last_commit_order)
RETURNING last_sequence AS seq, last_commit_order AS co \gset
INSERT INTO events (id, type, occurred_at, aggregate_type, aggregate_id, sequence, property_id, data, commit_order)
VALUES ('outbox-' || :client_id || '-' || :r, 'loyalty.entry_posted', now(), 'loyalty_account',
    '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), :seq, NULL,
    '{"entry_id":"x","kind":"adjust","points":10,"balance_after":0}', :co);
COMMIT;
