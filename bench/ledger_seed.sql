-- Bench data for bench/ledger_load.sh (PostgreSQL): :guests guests, each enrolled with
-- :per_guest earn entries of 100 points, plus one "hot" guest with :hot entries for the
-- deep-cursor statement page. Ids sort before any real (UUIDv7) id; balances = Σ entries.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO customers (id, given_name, family_name, email, email_norm, grade, lifecycle_stage,
                       source_channel, preferences, special_dates, search_text, version, created_at, updated_at)
SELECT '00000000-0000-7000-9000-' || lpad(n::text, 12, '0'), 'Bench', 'Guest' || n,
       'guest' || n || '@bench.example', 'guest' || n || '@bench.example', 'standard', 'active',
       'pms', '{}', '[]', 'bench guest' || n || ' guest' || n || '@bench.example', 1,
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, :guests) n;

INSERT INTO loyalty_accounts (customer_id, balance, tier, tier_since, tier_review_due_at, enrolled_at, updated_at)
SELECT '00000000-0000-7000-9000-' || lpad(n::text, 12, '0'),
       100 * (CASE WHEN n = 1 THEN :hot ELSE :per_guest END), 'regular',
       now() - interval '400 days', now() + interval '200 days', now() - interval '400 days', now()
FROM generate_series(1, :guests) n;

INSERT INTO ledger_entries (id, customer_id, kind, points, balance_after, qualifying, reason, actor_kind,
                            actor_id, source_kind, source_id, property_id, idempotency_key, reverses_id,
                            expires_at, created_at)
SELECT '00000000-' || lpad(to_hex(g.n), 8, '0') || '-' || lpad(to_hex(e), 8, '0'),
       '00000000-0000-7000-9000-' || lpad(g.n::text, 12, '0'), 'earn', 100, 100 * e, true,
       'bench stay', 'system', 'system:bench', NULL, NULL, NULL, NULL, NULL,
       now() + interval '300 days' + e * interval '1 minute', now() - interval '60 days' + e * interval '1 second'
FROM generate_series(1, :guests) AS g(n),
     LATERAL generate_series(1, CASE WHEN g.n = 1 THEN :hot ELSE :per_guest END) AS e;
COMMIT;
ANALYZE;
