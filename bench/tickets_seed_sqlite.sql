-- Bench data for bench/deep_pages.sh (SQLite): the :n tickets bench/tickets_seed.sql makes on
-- PostgreSQL (4 properties, a year, states, severities and categories spread evenly; ids
-- '00000000-<n as 8 hex>-7000-8000-000000000000'). Run by bench/sqlite_seed.py, which replaces :n.
CREATE TEMP TABLE bench_n (n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) INSERT INTO bench_n SELECT n FROM s;
BEGIN;
INSERT INTO properties (id, code, name, timezone, currency, created_at, updated_at)
SELECT 'bench-prop-' || n, 'BP' || n, 'Bench hotel ' || n, 'Asia/Shanghai', 'CNY', datetime('now'), datetime('now')
FROM bench_n WHERE n <= 4;
INSERT INTO tickets (id, property_id, customer_id, stay_id, kind, category, severity, channel, subject, description,
                     state, owner_id, created_by_kind, created_by_id, escalation_level, first_response_due_at,
                     resolution_due_at, resolution_paused_at, resolution_remaining_secs, first_responded_at,
                     first_response_breached_at, resolution_breached_at, resolved_at, closed_at, resolution_summary,
                     reopen_count, source_kind, source_id, version, created_at, updated_at)
SELECT printf('00000000-%08x-7000-8000-000000000000', n),
       'bench-prop-' || (n % 4 + 1), NULL, NULL,
       CASE n % 5 WHEN 0 THEN 'complaint' WHEN 1 THEN 'service_request' WHEN 2 THEN 'inquiry' WHEN 3 THEN 'feedback'
            ELSE 'compliment' END,
       CASE n % 11 WHEN 0 THEN 'room_facilities' WHEN 1 THEN 'cleanliness' WHEN 2 THEN 'staff_attitude'
            WHEN 3 THEN 'food_beverage' WHEN 4 THEN 'billing' WHEN 5 THEN 'booking_itinerary' WHEN 6 THEN 'noise'
            WHEN 7 THEN 'safety_security' WHEN 8 THEN 'transport' WHEN 9 THEN 'information_privacy' ELSE 'other' END,
       CASE n % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' ELSE 'critical' END,
       CASE n % 6 WHEN 0 THEN 'on_site' WHEN 1 THEN 'phone' WHEN 2 THEN 'email' WHEN 3 THEN 'app' WHEN 4 THEN 'web'
            ELSE 'ota_review' END,
       'Bench ticket ' || n, 'Generated for the list benchmark',
       CASE n % 8 WHEN 0 THEN 'new' WHEN 1 THEN 'acknowledged' WHEN 2 THEN 'investigating' WHEN 3 THEN 'awaiting_customer'
            WHEN 4 THEN 'resolved' ELSE 'closed' END,
       NULL, 'system', 'system:bench', 0,
       datetime(t0, '+1 hour'), datetime(t0, '+1 day'), NULL, NULL,
       CASE WHEN n % 3 = 0 THEN datetime(t0, '+20 minutes') END,
       CASE WHEN n % 10 = 0 THEN datetime(t0, '+1 hour') END, NULL,
       CASE WHEN n % 8 >= 4 THEN datetime(t0, '+5 hours') END,
       CASE WHEN n % 8 >= 5 THEN datetime(t0, '+3 days') END,
       CASE WHEN n % 8 >= 4 THEN 'handled' END,
       0, NULL, NULL, 1, t0, t0
FROM (SELECT n, datetime('now', '-365 days', '+' || (n * 31536000 / :n) || ' seconds') AS t0 FROM bench_n) s
ORDER BY n;
COMMIT;
DROP TABLE bench_n;
