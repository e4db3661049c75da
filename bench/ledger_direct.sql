-- pgbench script for bench/ledger_load.sh: the SQL transaction the service runs for one ledger
-- posting (POST /customers/{id}/loyalty/adjustments, as logged with log_statement=all),
-- issued directly. :guests is passed with -D.
\set n random(2, :guests)
\set r random(1, 1000000000000)
BEGIN;
SELECT name, value FROM loyalty_settings;
SELECT count(*) FROM loyalty_accounts WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0');
UPDATE loyalty_accounts SET updated_at = updated_at WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0');
SELECT id, kind, points, balance_after FROM ledger_entries WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0') AND idempotency_key = 'adjust:direct-' || :client_id || '-' || :r LIMIT 1;
SELECT balance FROM loyalty_accounts WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0') LIMIT 1 \gset
INSERT INTO ledger_entries (id, customer_id, kind, points, balance_after, qualifying, reason, actor_kind, actor_id,
    source_kind, source_id, property_id, idempotency_key, reverses_id, expires_at, created_at)
VALUES ('direct-' || :client_id || '-' || :r, '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), 'adjust', 10, :balance + 10,
    false, 'bench posting', 'staff', 'bench', NULL, NULL, NULL, 'adjust:direct-' || :client_id || '-' || :r, NULL,
    now() + interval '24 months', now());
UPDATE loyalty_accounts SET balance = :balance + 10, updated_at = now() WHERE customer_id = '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0');
SELECT * FROM ledger_entries WHERE id = 'direct-' || :client_id || '-' || :r LIMIT 1;
INSERT INTO audit_log (id, occurred_at, actor_kind, actor_id, action, target_kind, target_id, ip, request_id, details)
VALUES (gen_random_uuid()::text, now(), 'staff', 'bench', 'loyalty.adjusted', 'customer',
    '00000000-0000-7000-9000-' || lpad(CAST(:n AS text), 12, '0'), '127.0.0.1', 'bench', '{"points":10}');
COMMIT;
