-- pgbench script for bench/ledger_load.sh: the ceiling of a ledger posting as issue #13 defines
-- it, the bare durable ledger transaction (insert the entry, move the balance, commit), issued
-- directly. :guests is passed with -D.
\set n random(2, :guests)
\set r random(1, 1000000000000)
BEGIN;
INSERT INTO ledger_entries (id, customer_id, kind, points, balance_after, qualifying, reason, actor_kind, actor_id,
    source_kind, source_id, property_id, idempotency_key, reverses_id, expires_at, created_at)
VALUES ('direct-' || :client_id || '-' || :r, '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), 'adjust', 10, 0,
    false, 'bench posting', 'staff', 'bench', NULL, NULL, NULL, 'adjust:direct-' || :client_id || '-' || :r, NULL,
    now() + interval '24 months', now());
UPDATE loyalty_accounts SET balance = balance + 10, updated_at = now() WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0');
COMMIT;
