-- Bench data for bench/tickets_list.sh (PostgreSQL): :n tickets over 4 properties and a year,
-- states, severities and categories spread evenly. Ids sort by creation like UUIDv7 and before
-- any real id: '00000000-<n as 8 hex>-7000-8000-000000000000'.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO properties (id, code, name, timezone, currency, created_at, updated_at)
SELECT 'bench-prop-' || p, 'BP' || p, 'Bench hotel ' || p, 'Asia/Shanghai', 'CNY', now(), now()
FROM generate_series(1, 4) p;
INSERT INTO tickets (id, property_id, customer_id, stay_id, kind, category, severity, channel, subject, description,
                     state, owner_id, created_by_kind, created_by_id, escalation_level, first_response_due_at,
                     resolution_due_at, resolution_paused_at, resolution_remaining_secs, first_responded_at,
                     first_response_breached_at, resolution_breached_at, resolved_at, closed_at, resolution_summary,
                     reopen_count, source_kind, source_id, version, created_at, updated_at)
SELECT '00000000-' || lpad(to_hex(n), 8, '0') || '-7000-8000-000000000000',
       'bench-prop-' || (n % 4 + 1), NULL, NULL,
       (ARRAY['complaint','service_request','inquiry','feedback','compliment'])[n % 5 + 1],
       (ARRAY['room_facilities','cleanliness','staff_attitude','food_beverage','billing','booking_itinerary',
              'noise','safety_security','transport','information_privacy','other'])[n % 11 + 1],
       (ARRAY['low','medium','high','critical'])[n % 4 + 1],
       (ARRAY['on_site','phone','email','app','web','ota_review'])[n % 6 + 1],
       'Bench ticket ' || n, 'Generated for the list benchmark',
       (ARRAY['new','acknowledged','investigating','awaiting_customer','resolved','closed','closed','closed'])[n % 8 + 1],
       NULL, 'system', 'system:bench', 0,
       t0 + interval '1 hour', t0 + interval '1 day', NULL, NULL,
       CASE WHEN n % 3 = 0 THEN t0 + interval '20 minutes' END,
       CASE WHEN n % 10 = 0 THEN t0 + interval '1 hour' END, NULL,
       CASE WHEN n % 8 >= 4 THEN t0 + interval '5 hours' END,
       CASE WHEN n % 8 >= 5 THEN t0 + interval '3 days' END,
       CASE WHEN n % 8 >= 4 THEN 'handled' END,
       0, NULL, NULL, 1, t0, t0
FROM (SELECT n, now() - interval '365 days' + n * (interval '365 days' / :n) AS t0
      FROM generate_series(1, :n) n) s;
COMMIT;
ANALYZE tickets;
