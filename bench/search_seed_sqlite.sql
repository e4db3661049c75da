-- Bench data for bench/search.sh (SQLite): the very same :n guests and side tables as
-- bench/search_seed.sql makes on PostgreSQL (same formulas; see its header). Run by
-- bench/sqlite_seed.py, which replaces :n. The customers_fts_ai trigger of the migrations fills
-- the FTS5 trigram index row by row, as it does for guests created through the API.
CREATE TEMP TABLE bench_given (i INTEGER PRIMARY KEY, name TEXT NOT NULL);  -- i is 1-based (rowid order)
INSERT INTO bench_given (name) VALUES ('Wei'), ('Fang'), ('Na'), ('Min'), ('Jing'), ('Li'), ('Qiang'), ('Lei'), ('Jun'),
  ('Yang'), ('Yan'), ('Jie'), ('Tao'), ('Ming'), ('Chao'), ('Xiu'), ('Hui'), ('Ying'), ('Hao'), ('Yu'), ('Xin'), ('Lin'),
  ('Ping'), ('Gang'), ('Kai'), ('Yi'), ('Ling'), ('Bo'), ('Peng'), ('Hua'), ('James'), ('Mary'), ('John'), ('Patricia'),
  ('Robert'), ('Jennifer'), ('Michael'), ('Linda'), ('David'), ('Elizabeth'), ('Olivia'), ('Emma'), ('Liam'), ('Noah'),
  ('Sophia'), ('Lucas'), ('Mia'), ('Ethan'), ('Hiroshi'), ('Yuki'), ('Haruto'), ('Sakura'), ('Minjun'), ('Jiwoo'),
  ('Carlos'), ('Maria'), ('Ahmed'), ('Fatima'), ('Priya'), ('Arjun');
CREATE TEMP TABLE bench_family (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO bench_family (name) VALUES ('Wang'), ('Li'), ('Zhang'), ('Liu'), ('Chen'), ('Yang'), ('Huang'), ('Zhao'),
  ('Wu'), ('Zhou'), ('Xu'), ('Sun'), ('Ma'), ('Zhu'), ('Hu'), ('Guo'), ('He'), ('Lin'), ('Gao'), ('Luo'), ('Zheng'),
  ('Liang'), ('Xie'), ('Song'), ('Tang'), ('Han'), ('Feng'), ('Deng'), ('Cao'), ('Peng'), ('Zeng'), ('Xiao'), ('Tian'),
  ('Dong'), ('Pan'), ('Yuan'), ('Cai'), ('Jiang'), ('Yu'), ('Du'), ('Smith'), ('Johnson'), ('Williams'), ('Brown'),
  ('Jones'), ('Garcia'), ('Miller'), ('Davis'), ('Rodriguez'), ('Martinez'), ('Wilson'), ('Anderson'), ('Taylor'),
  ('Thomas'), ('Moore'), ('Jackson'), ('Martin'), ('Lee'), ('Thompson'), ('White'), ('Tanaka'), ('Suzuki'), ('Sato'),
  ('Takahashi'), ('Watanabe'), ('Kim'), ('Park'), ('Choi'), ('Nguyen'), ('Tran'), ('Mueller'), ('Schmidt'),
  ('Schneider'), ('Rossi'), ('Russo'), ('Dubois'), ('Lefebvre'), ('Silva'), ('Santos'), ('Patel');
CREATE TEMP TABLE bench_domain (i INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO bench_domain (name) VALUES ('gmail.com'), ('qq.com'), ('163.com'), ('outlook.com'), ('hotmail.com'),
  ('yahoo.co.jp'), ('icloud.com'), ('126.com'), ('naver.com'), ('corp-travel.example');
CREATE TEMP TABLE bench_n (n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) INSERT INTO bench_n SELECT n FROM s;

BEGIN;
INSERT INTO customers (id, given_name, family_name, email, email_norm, phone, gender, nationality, language,
                       company, grade, grade_override, grade_override_reason, lifecycle_stage, source_channel,
                       preferences, special_dates, search_text, version, created_at, updated_at)
SELECT id, given_name, family_name, email, lower(email), phone, gender, nationality, language, company, grade,
       grade_override, grade_override_reason, lifecycle_stage, source_channel, preferences, '[]',
       lower(given_name || ' ' || family_name || ' ' || family_name || given_name || ' ' || coalesce(lower(email), ''))
         || coalesce(' ' || ltrim(phone, '+'), ''),
       1, created_at, created_at
FROM (
  SELECT printf('00000000-0000-7000-9000-%012d', s.n) AS id,
         g.name AS given_name, f.name AS family_name,
         CASE WHEN s.n % 10 <> 3 THEN g.name || '.' || f.name || ((s.n * 7919) % 10000) || '@' || d.name END AS email,
         CASE WHEN s.n % 20 IN (5, 6, 7) THEN NULL
              WHEN s.n % 10 < 6 THEN '+86' || (130 + (s.n * 7) % 70) || printf('%08d', (s.n * 2654435761) % 100000000)
              WHEN s.n % 10 < 8 THEN '+1' || (200 + s.n % 800) || printf('%07d', (s.n * 40503) % 10000000)
              WHEN s.n % 10 = 8 THEN '+447' || printf('%09d', (s.n * 2654435761) % 1000000000)
              ELSE '+8190' || printf('%08d', (s.n * 2654435761) % 100000000) END AS phone,
         CASE s.n % 5 WHEN 0 THEN 'female' WHEN 1 THEN 'male' WHEN 2 THEN 'undisclosed' WHEN 3 THEN 'female' ELSE 'male' END AS gender,
         CASE s.n % 8 WHEN 3 THEN 'US' WHEN 4 THEN 'GB' WHEN 5 THEN 'JP' WHEN 6 THEN 'KR' WHEN 7 THEN 'DE' ELSE 'CN' END AS nationality,
         CASE s.n % 5 WHEN 2 THEN 'en' WHEN 3 THEN 'ja' WHEN 4 THEN 'ko' ELSE 'zh-CN' END AS language,
         CASE WHEN s.n % 4 = 0 THEN 'Company ' || (s.n % 5000) END AS company,
         CASE WHEN s.n % 200 = 0 THEN 'vvip' WHEN s.n % 20 = 1 THEN 'vip' WHEN s.n % 5 IN (2, 3) THEN 'member'
              WHEN s.n % 5 = 4 THEN 'potential' WHEN s.n % 2 = 0 THEN 'walk_in' ELSE 'corporate' END AS grade,
         CASE WHEN s.n % 1000 = 999 THEN 'vip' END AS grade_override,
         CASE WHEN s.n % 1000 = 999 THEN 'bench override' END AS grade_override_reason,
         CASE s.n % 6 WHEN 0 THEN 'prospect' WHEN 1 THEN 'new' WHEN 2 THEN 'growing' WHEN 3 THEN 'mature'
              WHEN 4 THEN 'declining' ELSE 'churned' END AS lifecycle_stage,
         CASE s.n % 8 WHEN 0 THEN 'direct' WHEN 1 THEN 'website' WHEN 2 THEN 'app' WHEN 3 THEN 'ota' WHEN 4 THEN 'phone'
              WHEN 5 THEN 'walk_in' WHEN 6 THEN 'corporate' ELSE 'wechat' END AS source_channel,
         CASE WHEN s.n % 3 = 0 THEN '{"room_type":"king","floor":"high","pillow":"buckwheat"}' ELSE '{}' END AS preferences,
         strftime('%Y-%m-%d %H:%M:%S', '2024-01-01 00:00:00', '+' || (s.n * 90) || ' seconds') AS created_at
  FROM bench_n s
  JOIN bench_given g ON g.i = ((s.n * 40503) % 65521) % 60 + 1
  JOIN bench_family f ON f.i = (((s.n * 2654435761) % 1000003) * ((s.n * 2654435761) % 1000003) * 80) / (1000003 * 1000003) + 1
  JOIN bench_domain d ON d.i = (s.n / 10) % 10 + 1
  ORDER BY s.n
);

INSERT INTO customer_tags (customer_id, tag)
SELECT printf('00000000-0000-7000-9000-%012d', s.n), t.tag
FROM bench_n s
JOIN (SELECT 'business' AS tag, 3 AS m, 0 AS r UNION ALL SELECT 'leisure', 3, 1 UNION ALL SELECT 'family', 7, 2
      UNION ALL SELECT 'allergy:nuts', 53, 7 UNION ALL SELECT 'vip:airport-pickup', 97, 5) t ON s.n % t.m = t.r;

INSERT INTO customer_external_refs (system, external_id, customer_id, created_at)
SELECT 'pms', 'P' || s.n, printf('00000000-0000-7000-9000-%012d', s.n), '2024-01-01 00:00:00'
FROM bench_n s WHERE s.n % 5 <> 0;

INSERT INTO customer_consents (customer_id, purpose, granted, source_channel, updated_at)
SELECT printf('00000000-0000-7000-9000-%012d', s.n), p.purpose, p.granted, 'front_desk', '2024-01-01 00:00:00'
FROM bench_n s
JOIN (SELECT 'marketing_email' AS purpose, 2 AS m, 0 AS r, 1 AS granted UNION ALL SELECT 'surveys', 3, 2, 0
      UNION ALL SELECT 'surveys', 3, 0, 1 UNION ALL SELECT 'surveys', 3, 1, 1) p ON s.n % p.m = p.r;
COMMIT;
DROP TABLE bench_n;
-- No ANALYZE: the server never runs it, so a deployment plans without sqlite_stat1 too.
