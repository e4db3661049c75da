-- Bench data for bench/search.sh (PostgreSQL): :n guests with realistic names, emails and phones,
-- plus their side tables (tags, PMS references, consents). bench/search_seed_sqlite.sql makes
-- the very same rows on SQLite (same formulas, integer arithmetic only).
--   * names: 60 given names x 80 family names (skewed: "wang" ~11%, the tail ~0.1% each);
--   * email (90%): Given.Family<4 digits>@<domain>, email_norm its lower case;
--   * phone (85%): E.164, 60% CN mobiles +86 1xx xxxx xxxx, then US, UK and JP numbers;
--   * tags: business 1/3, leisure 1/3, family 1/7, allergy:nuts ~2%, vip:airport-pickup ~1%;
--   * grade: vvip 0.5%, vip 5%, member 40%, potential ~35%, walk_in / corporate the rest;
--     0.1% with a grade override (vip);
--   * search_text exactly as CustomerRow::refresh_search_text builds it (src/features/guests/db.rs):
--     lower("{given} {family} {family}{given} {email_norm or ''}") then " {phone without +}".
-- Ids '00000000-0000-7000-9000-<n, 12 digits>' sort before any real (UUIDv7) id, in n order.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE bench_given (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO bench_given SELECT o - 1, initcap(v) FROM unnest(string_to_array(
  'wei fang na min jing li qiang lei jun yang yan jie tao ming chao xiu hui ying hao yu xin lin ping gang kai yi ling bo peng hua '
  'james mary john patricia robert jennifer michael linda david elizabeth olivia emma liam noah sophia lucas mia ethan hiroshi yuki '
  'haruto sakura minjun jiwoo carlos maria ahmed fatima priya arjun', ' ')) WITH ORDINALITY AS t(v, o);
CREATE TEMP TABLE bench_family (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO bench_family SELECT o - 1, initcap(v) FROM unnest(string_to_array(
  'wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin gao luo zheng liang xie song tang han feng deng cao '
  'peng zeng xiao tian dong pan yuan cai jiang yu du smith johnson williams brown jones garcia miller davis rodriguez martinez '
  'wilson anderson taylor thomas moore jackson martin lee thompson white tanaka suzuki sato takahashi watanabe kim park choi '
  'nguyen tran mueller schmidt schneider rossi russo dubois lefebvre silva santos patel', ' ')) WITH ORDINALITY AS t(v, o);
CREATE TEMP TABLE bench_domain (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO bench_domain SELECT o - 1, v FROM unnest(string_to_array(
  'gmail.com qq.com 163.com outlook.com hotmail.com yahoo.co.jp icloud.com 126.com naver.com corp-travel.example', ' '))
  WITH ORDINALITY AS t(v, o);

INSERT INTO customers (id, given_name, family_name, email, email_norm, phone, gender, nationality, language,
                       company, grade, grade_override, grade_override_reason, lifecycle_stage, source_channel,
                       preferences, special_dates, search_text, version, created_at, updated_at)
SELECT id, given_name, family_name, email, lower(email), phone, gender, nationality, language, company, grade,
       grade_override, grade_override_reason, lifecycle_stage, source_channel, preferences, '[]',
       lower(given_name || ' ' || family_name || ' ' || family_name || given_name || ' ' || coalesce(lower(email), ''))
         || coalesce(' ' || ltrim(phone, '+'), ''),
       1, created_at, created_at
FROM (
  SELECT '00000000-0000-7000-9000-' || lpad(s.n::text, 12, '0') AS id,
         g.name AS given_name, f.name AS family_name,
         CASE WHEN s.n % 10 <> 3 THEN g.name || '.' || f.name || ((s.n * 7919) % 10000) || '@' || d.name END AS email,
         CASE WHEN s.n % 20 IN (5, 6, 7) THEN NULL
              WHEN s.n % 10 < 6 THEN '+86' || (130 + (s.n * 7) % 70) || lpad(((s.n * 2654435761) % 100000000)::text, 8, '0')
              WHEN s.n % 10 < 8 THEN '+1' || (200 + s.n % 800) || lpad(((s.n * 40503) % 10000000)::text, 7, '0')
              WHEN s.n % 10 = 8 THEN '+447' || lpad(((s.n * 2654435761) % 1000000000)::text, 9, '0')
              ELSE '+8190' || lpad(((s.n * 2654435761) % 100000000)::text, 8, '0') END AS phone,
         (ARRAY['female', 'male', 'undisclosed', 'female', 'male'])[s.n % 5 + 1] AS gender,
         (ARRAY['CN', 'CN', 'CN', 'US', 'GB', 'JP', 'KR', 'DE'])[s.n % 8 + 1] AS nationality,
         (ARRAY['zh-CN', 'zh-CN', 'en', 'ja', 'ko'])[s.n % 5 + 1] AS language,
         CASE WHEN s.n % 4 = 0 THEN 'Company ' || (s.n % 5000) END AS company,
         CASE WHEN s.n % 200 = 0 THEN 'vvip' WHEN s.n % 20 = 1 THEN 'vip' WHEN s.n % 5 IN (2, 3) THEN 'member'
              WHEN s.n % 5 = 4 THEN 'potential' WHEN s.n % 2 = 0 THEN 'walk_in' ELSE 'corporate' END AS grade,
         CASE WHEN s.n % 1000 = 999 THEN 'vip' END AS grade_override,
         CASE WHEN s.n % 1000 = 999 THEN 'bench override' END AS grade_override_reason,
         (ARRAY['prospect', 'new', 'growing', 'mature', 'declining', 'churned'])[s.n % 6 + 1] AS lifecycle_stage,
         (ARRAY['direct', 'website', 'app', 'ota', 'phone', 'walk_in', 'corporate', 'wechat'])[s.n % 8 + 1] AS source_channel,
         CASE WHEN s.n % 3 = 0 THEN '{"room_type":"king","floor":"high","pillow":"buckwheat"}' ELSE '{}' END AS preferences,
         timestamp '2024-01-01 00:00:00' + s.n * interval '90 seconds' AS created_at
  FROM generate_series(1::bigint, :n) AS s(n)
  JOIN bench_given g ON g.i = ((s.n * 40503) % 65521) % 60
  JOIN bench_family f ON f.i = (((s.n * 2654435761) % 1000003) * ((s.n * 2654435761) % 1000003) * 80) / (1000003::bigint * 1000003)
  JOIN bench_domain d ON d.i = (s.n / 10) % 10
) c;

INSERT INTO customer_tags (customer_id, tag)
SELECT '00000000-0000-7000-9000-' || lpad(s.n::text, 12, '0'), t.tag
FROM generate_series(1::bigint, :n) AS s(n)
JOIN (VALUES ('business', 3, 0), ('leisure', 3, 1), ('family', 7, 2), ('allergy:nuts', 53, 7),
             ('vip:airport-pickup', 97, 5)) AS t(tag, m, r) ON s.n % t.m = t.r;

INSERT INTO customer_external_refs (system, external_id, customer_id, created_at)
SELECT 'pms', 'P' || s.n, '00000000-0000-7000-9000-' || lpad(s.n::text, 12, '0'), timestamp '2024-01-01 00:00:00'
FROM generate_series(1::bigint, :n) AS s(n) WHERE s.n % 5 <> 0;

INSERT INTO customer_consents (customer_id, purpose, granted, source_channel, updated_at)
SELECT '00000000-0000-7000-9000-' || lpad(s.n::text, 12, '0'), p.purpose, p.granted, 'front_desk', timestamp '2024-01-01 00:00:00'
FROM generate_series(1::bigint, :n) AS s(n)
JOIN (VALUES ('marketing_email', 2, 0, true), ('surveys', 3, 2, false), ('surveys', 3, 0, true),
             ('surveys', 3, 1, true)) AS p(purpose, m, r, granted) ON s.n % p.m = p.r;
COMMIT;
ANALYZE customers, customer_tags, customer_external_refs, customer_consents;
