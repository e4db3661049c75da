#!/usr/bin/env bash
# Guest search benchmark (not a test): GET /api/v1/customers?q=<substring> over BENCH_GUESTS
# (1,000,000) guests, target p95 < 10 ms.
#  1. a fresh database migrated by the release binary, seeded directly with SQL
#     (bench/search_seed.sql on PostgreSQL, bench/search_seed_sqlite.sql on SQLite: names, emails,
#     phones, tags, grades, PMS references, consents; search_text built as the server builds it);
#  2. checks the seeded search_text equals the one the server rebuilds on a PATCH, then reads 200
#     guests through the API and writes 200 different realistic queries per kind: a name, an
#     email, a phone fragment, q + tag, q + grade (and, informational, 2-letter q);
#  3. PostgreSQL: the plans of the searches the server runs, from auto_explain (EXPLAIN ANALYZE,
#     switched on for this database only while a separate server start sends 40 of each kind);
#     SQLite: EXPLAIN QUERY PLAN of the same SQL and its time alone;
#  4. wrk (bench/paths.lua cycles through the queries) as an admin and as a manager, each kind
#     BENCH_SECONDS (10) with BENCH_CONNECTIONS (2) connections: p50/p95/p99 against the target;
#     then the page without q as admin (audited) and analyst (not), and GET /health/live, as floors.
# The last lines are `RESULT name=… figure=… ceiling=… ratio=… target=… met=…` (bench/run.sh).
#   bench/search.sh                  # PostgreSQL at postgres://postgres@127.0.0.1:5432 (BENCH_PG)
#   BENCH_DB=sqlite bench/search.sh  # a temp SQLite file
# Knobs: BENCH_GUESTS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_LIMIT (page size, 20),
# BENCH_SKIP_SEED=1 (PostgreSQL: reuse the database), BENCH_KEEP=1 (keep it afterwards),
# BENCH_NO_BUILD=1 (use target/release/concierge as it is), BENCH_PG_LOG (the server's log file).
set -euo pipefail
cd "$(dirname "$0")/.."
GUESTS="${BENCH_GUESTS:-1000000}"; SECS="${BENCH_SECONDS:-10}"; CONNS="${BENCH_CONNECTIONS:-2}"
LIMIT="${BENCH_LIMIT:-20}"; KIND="${BENCH_DB:-postgres}"; TARGET_MS=10
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"; PGDB=concierge_search_bench
PG_LOG="${BENCH_PG_LOG:-/var/log/postgresql/postgresql-15-main.log}"
PORT=18093; B="http://127.0.0.1:$PORT"; WORK="$(mktemp -d)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet

SERVER=""
stop_server() { [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""; }; }
cleanup() {
  stop_server
  if [ "$KIND" = postgres ]; then
    psql "$PG/postgres" -qc "ALTER DATABASE $PGDB RESET ALL" 2>/dev/null || true
    [ -n "${BENCH_KEEP:-}" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PGDB" || true
  fi
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$KIND" = sqlite ]; then
  DB_URL="sqlite://$WORK/bench.db"
else
  [ -n "${BENCH_SKIP_SEED:-}" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB"
  DB_URL="$PG/$PGDB"
fi
export DATABASE_URL="$DB_URL" CONCIERGE_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  CONCIERGE_ADMIN_EMAIL=bench@example.com CONCIERGE_ADMIN_PASSWORD=harbour-lights-2026 \
  CONCIERGE_JWT_SECRET=bench-secret-bench-secret-bench-secret \
  CONCIERGE_ENCRYPTION_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
  CONCIERGE_RATE_LIMIT_PER_MINUTE=100000000 CONCIERGE_JOBS_INTERVAL_SECS=0
./target/release/concierge migrate >/dev/null

t0=$(date +%s.%N)
if [ "$KIND" = sqlite ]; then
  python3 bench/sqlite_seed.py "$WORK/bench.db" bench/search_seed_sqlite.sql n="$GUESTS" 2>/dev/null
  COUNT=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM customers_fts').fetchone()[0])" "$WORK/bench.db")
elif [ -z "${BENCH_SKIP_SEED:-}" ]; then
  psql "$DB_URL" -q -v n="$GUESTS" -f bench/search_seed.sql
fi
[ "$KIND" = sqlite ] || COUNT=$(psql "$DB_URL" -tAc 'SELECT count(*) FROM customers')
# Measure a settled database, as autovacuum and the checkpointer leave one, not the seed's aftermath.
[ "$KIND" = sqlite ] || psql "$DB_URL" -q -c 'VACUUM ANALYZE customers, customer_tags, customer_external_refs, customer_consents' -c 'CHECKPOINT'
SEED_S=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.0f}')" "$t0")
echo "database: $KIND   seeded $COUNT guests (customers_fts rows on SQLite) in $SEED_S s"

start_server() {
  ./target/release/concierge serve & SERVER=$!
  for _ in $(seq 1 150); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "server did not start" >&2; exit 1
}
login() { curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }

# First start: checks, queries and (PostgreSQL) the plans the server's own statements get.
if [ "$KIND" = postgres ] && [ -r "$PG_LOG" ]; then
  psql "$PG/postgres" -q -c "LOAD 'auto_explain'" -c "ALTER DATABASE $PGDB SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER DATABASE $PGDB SET auto_explain.log_min_duration = 0" -c "ALTER DATABASE $PGDB SET auto_explain.log_analyze = on" \
    -c "ALTER DATABASE $PGDB SET auto_explain.log_buffers = on"
fi
start_server
ADMIN=$(login bench@example.com harbour-lights-2026)
curl -fsS "$B/api/v1/staff" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"email":"manager@bench.example","display_name":"Bench manager","role":"manager","property_ids":[],"password":"harbour-lights-2026"}' >/dev/null 2>&1 || true
MANAGER=$(login manager@bench.example harbour-lights-2026)
curl -fsS "$B/api/v1/staff" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"email":"analyst@bench.example","display_name":"Bench analyst","role":"analyst","property_ids":[],"password":"harbour-lights-2026"}' >/dev/null 2>&1 || true
ANALYST=$(login analyst@bench.example harbour-lights-2026)
echo; echo "search_text (src/features/guests/db.rs refresh_search_text) — seeded vs rebuilt by the server:"
python3 bench/search_tool.py check-search-text "$B" "$ADMIN" "$DB_URL" || echo "WARNING: seeded search_text differs"
echo; echo "queries (limit=$LIMIT), 200 per kind, each different:"
python3 bench/search_tool.py queries "$B" "$ADMIN" "$GUESTS" "$WORK" "$LIMIT"

echo
if [ "$KIND" = postgres ] && [ -r "$PG_LOG" ]; then
  echo "PostgreSQL plans of the search the server runs (auto_explain, 40 sequential requests per kind, admin):"
  : > "$WORK/marks"
  for k in name email phone tag grade short; do
    before=$(stat -c %s "$PG_LOG")
    head -40 "$WORK/$k.paths" | while read -r p; do curl -fsS -o /dev/null -H "authorization: Bearer $ADMIN" "$B$p"; done
    sleep 0.5; echo "$k $before $(stat -c %s "$PG_LOG")" >> "$WORK/marks"
  done
  stop_server
  psql "$PG/postgres" -qc "ALTER DATABASE $PGDB RESET ALL"
  python3 bench/search_tool.py pg-plans "$PG_LOG" "$PGDB" "$WORK/marks"
  start_server
elif [ "$KIND" = postgres ]; then
  echo "($PG_LOG is not readable: no plans; set BENCH_PG_LOG to the server's log file)"
else
  echo "SQLite plans of the search the server runs (EXPLAIN QUERY PLAN; SQL alone, first 40 queries of each kind):"
  python3 bench/search_tool.py sqlite-plans "$WORK/bench.db" "$WORK" "$LIMIT"
fi

# Measure: every kind as admin and as manager (audited, unmasked), then the floor.
lat() { # name token pathsfile -> sets P50 P95 P99 RPS NON2XX
  local t; t=$(( CONNS < 2 ? 1 : 2 ))
  PATHS_FILE="$2" wrk -t"$t" -c"$CONNS" -d"$4" -s bench/paths.lua -H "authorization: Bearer $3" "$B" > "$WORK/wrk.txt"
  read -r P50 P95 P99 RPS NON2XX < <(awk '/^LAT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["p50"], v["p95"], v["p99"], v["rps"], v["non2xx"] + v["errors"] }' "$WORK/wrk.txt")
}
for k in name email phone tag grade short; do lat warm "$WORK/$k.paths" "$ADMIN" 2s; done
echo "/health/live" > "$WORK/live.paths"
echo
echo "GET /api/v1/customers?q=…&limit=$LIMIT, $COUNT guests, $KIND, wrk -c$CONNS -d${SECS}s per row, each request a different query"
printf '%-38s %8s %8s %8s %9s %7s  %s\n' "query" "p50 ms" "p95 ms" "p99 ms" "req/s" "non-2xx" "p95 < ${TARGET_MS} ms"
RESULTS=()
for role in admin manager; do
  tok=$ADMIN; [ $role = manager ] && tok=$MANAGER
  for k in name email phone tag grade short; do
    [ $k = short ] && [ $role = manager ] && continue
    lat "$k" "$WORK/$k.paths" "$tok" "${SECS}s"
    met=$(python3 -c "import sys; print('yes' if float(sys.argv[1]) < float(sys.argv[2]) and sys.argv[3] == '0' else 'NO')" "$P95" "$TARGET_MS" "$NON2XX")
    label="$k"; case $k in tag) label="q=<family name> + tag";; grade) label="q=<family name> + grade";;
      short) label="short q (2 letters, informational)"; met="n/a";; esac
    printf '%-38s %8s %8s %8s %9s %7s  %s\n' "$role, $label" "$P50" "$P95" "$P99" "$RPS" "$NON2XX" "$met"
    RESULTS+=("RESULT name=search.$KIND.$role.$k figure=${P95}ms ceiling=${TARGET_MS}ms ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$P95" "$TARGET_MS") target=p95<${TARGET_MS}ms met=$met")
  done
done
# Where the time goes besides the search: the same page without q, audited (admin) and not (analyst).
echo "/api/v1/customers?limit=$LIMIT" > "$WORK/noq.paths"
lat noq "$WORK/noq.paths" "$ADMIN" "${SECS}s"
printf '%-38s %8s %8s %8s %9s %7s  %s\n' "admin, no q (first page, audited)" "$P50" "$P95" "$P99" "$RPS" "$NON2XX" ""
lat noq "$WORK/noq.paths" "$ANALYST" "${SECS}s"
printf '%-38s %8s %8s %8s %9s %7s  %s\n' "analyst, no q (not audited)" "$P50" "$P95" "$P99" "$RPS" "$NON2XX" ""
lat live "$WORK/live.paths" "$ADMIN" "${SECS}s"
printf '%-38s %8s %8s %8s %9s %7s  %s\n' "floor: GET /health/live" "$P50" "$P95" "$P99" "$RPS" "$NON2XX" ""
echo
printf '%s\n' "${RESULTS[@]}"
