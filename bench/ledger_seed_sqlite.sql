-- Bench data for bench/deep_pages.sh (SQLite): the rows bench/ledger_seed.sql makes on
-- PostgreSQL — :guests guests, each enrolled with :per_guest earn entries of 100 points, plus one
-- "hot" guest (n = 1) with :hot entries for the deep-cursor statement page; same ids
-- ('00000000-<n hex>-<e hex>', newest = highest), balances = sum of entries. Run by
-- bench/sqlite_seed.py, which replaces :guests, :per_guest and :hot.
CREATE TEMP TABLE bench_n (n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < max(:guests, :hot, :per_guest))
INSERT INTO bench_n SELECT n FROM s;

BEGIN;
INSERT INTO customers (id, given_name, family_name, email, email_norm, grade, lifecycle_stage,
                       source_channel, preferences, special_dates, search_text, version, created_at, updated_at)
SELECT printf('00000000-0000-7000-9000-%012d', n), 'Bench', 'Guest' || n,
       'guest' || n || '@bench.example', 'guest' || n || '@bench.example', 'standard', 'active',
       'pms', '{}', '[]', 'bench guest' || n || ' guest' || n || '@bench.example', 1,
       datetime('now', '-400 days'), datetime('now', '-400 days')
FROM bench_n WHERE n <= :guests;

INSERT INTO loyalty_accounts (customer_id, balance, tier, tier_since, tier_review_due_at, enrolled_at, updated_at)
SELECT printf('00000000-0000-7000-9000-%012d', n), 100 * (CASE WHEN n = 1 THEN :hot ELSE :per_guest END), 'regular',
       datetime('now', '-400 days'), datetime('now', '+200 days'), datetime('now', '-400 days'), datetime('now')
FROM bench_n WHERE n <= :guests;

INSERT INTO ledger_entries (id, customer_id, kind, points, balance_after, qualifying, reason, actor_kind,
                            actor_id, source_kind, source_id, property_id, idempotency_key, reverses_id,
                            expires_at, created_at)
SELECT printf('00000000-%08x-%08x', g.n, e.n), printf('00000000-0000-7000-9000-%012d', g.n), 'earn', 100, 100 * e.n, 1,
       'bench stay', 'system', 'system:bench', NULL, NULL, NULL, NULL, NULL,
       datetime('now', '+300 days', '+' || e.n || ' minutes'), datetime('now', '-60 days', '+' || e.n || ' seconds')
FROM bench_n g JOIN bench_n e ON e.n <= CASE WHEN g.n = 1 THEN :hot ELSE :per_guest END
WHERE g.n <= :guests
ORDER BY g.n, e.n;
COMMIT;
DROP TABLE bench_n;
