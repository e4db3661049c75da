#!/usr/bin/env bash
# Deep cursor pages benchmark (not a test): a page near the end of a long keyset list costs what
# the first page costs — target p99 < 20 ms.
#  1. a fresh database migrated by the release binary, seeded directly with SQL: a loyalty ledger
#     of BENCH_ENTRIES (10,000,000) entries — one "hot" guest with a tenth of them, the rest 100
#     per guest (bench/ledger_seed.sql; SQLite: bench/ledger_seed_sqlite.sql) — and BENCH_TICKETS
#     (1,000,000) tickets (bench/tickets_seed.sql; SQLite: bench/tickets_seed_sqlite.sql);
#  2. wrk (bench/paths.lua) as an admin, BENCH_SECONDS (10) per row with BENCH_CONNECTIONS (2):
#     the hot guest's statement GET /api/v1/customers/{id}/loyalty/entries — first page and 50
#     different cursors 99.85–99.95% of the way in — and GET /api/v1/tickets — first page, 50
#     cursors 98.8–99% in, and the same with state + property filters — next to /health/live;
#  3. the PostgreSQL plan of both deep queries (EXPLAIN ANALYZE of the SQL the server runs).
# The last lines are `RESULT name=… figure=… ceiling=… ratio=… target=… met=…` (bench/run.sh).
#   bench/deep_pages.sh                  # PostgreSQL at postgres://postgres@127.0.0.1:5432 (BENCH_PG)
#   BENCH_DB=sqlite bench/deep_pages.sh  # a temp SQLite file (run.sh uses BENCH_ENTRIES=1000000 there)
# Knobs: BENCH_ENTRIES, BENCH_TICKETS, BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_SKIP_SEED=1
# (PostgreSQL: reuse the database), BENCH_KEEP=1 (keep it), BENCH_NO_BUILD=1 (use the built binary).
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES="${BENCH_ENTRIES:-10000000}"; TICKETS="${BENCH_TICKETS:-1000000}"; SECS="${BENCH_SECONDS:-10}"
CONNS="${BENCH_CONNECTIONS:-2}"; KIND="${BENCH_DB:-postgres}"; TARGET_MS=20
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"; PGDB=concierge_deep_bench
PORT=18094; B="http://127.0.0.1:$PORT"; WORK="$(mktemp -d)"
HOT_N=$(( ENTRIES / 10 )); PER_GUEST=100; GUESTS=$(( (ENTRIES - HOT_N) / PER_GUEST + 1 ))
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet

SERVER=""
cleanup() {
  [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  if [ "$KIND" = postgres ] && [ -z "${BENCH_KEEP:-}" ]; then psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PGDB" || true; fi
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

now() { date +%s.%N; }
since() { python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.0f}')" "$1"; }
count() { # table
  if [ "$KIND" = sqlite ]; then python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM $1').fetchone()[0])" "$WORK/bench.db"
  else psql "$DB_URL" -tAc "SELECT count(*) FROM $1"; fi
}
if [ -z "${BENCH_SKIP_SEED:-}" ] || [ "$KIND" = sqlite ]; then
  t0=$(now)
  if [ "$KIND" = sqlite ]; then
    python3 bench/sqlite_seed.py "$WORK/bench.db" bench/ledger_seed_sqlite.sql guests="$GUESTS" per_guest=$PER_GUEST hot="$HOT_N" 2>/dev/null
  else
    psql "$DB_URL" -q -v guests="$GUESTS" -v per_guest=$PER_GUEST -v hot="$HOT_N" -f bench/ledger_seed.sql
  fi
  LEDGER_S=$(since "$t0"); t0=$(now)
  if [ "$KIND" = sqlite ]; then
    python3 bench/sqlite_seed.py "$WORK/bench.db" bench/tickets_seed_sqlite.sql n="$TICKETS" 2>/dev/null
  else
    psql "$DB_URL" -q -v n="$TICKETS" -f bench/tickets_seed.sql
  fi
  TICKETS_S=$(since "$t0")
  echo "database: $KIND   seeded $(count ledger_entries) ledger entries ($GUESTS guests, the hot one with $HOT_N) in $LEDGER_S s, $(count tickets) tickets in $TICKETS_S s"
else
  echo "database: $KIND   reused: $(count ledger_entries) ledger entries, $(count tickets) tickets"
fi

# Measure a settled database, as autovacuum and the checkpointer leave one, not the seed's aftermath
# (right after 10M inserts a spread checkpoint writes GBs while wrk runs: p99 of every page, the
# first included, then reaches 40-80 ms on this box).
[ "$KIND" = sqlite ] || psql "$DB_URL" -q -c 'VACUUM ANALYZE ledger_entries, loyalty_accounts, tickets' -c 'CHECKPOINT'

./target/release/concierge serve & SERVER=$!
for _ in $(seq 1 150); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
ADMIN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"harbour-lights-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Cursors near the end: the statement is newest first (highest entry number), tickets too.
HOT=00000000-0000-7000-9000-000000000001
python3 - "$WORK" "$HOT" "$HOT_N" "$TICKETS" <<'PY'
import base64, sys
work, hot, hot_n, tickets = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cur = lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
def write(name, paths):
    open(f"{work}/{name}.paths", "w").write("\n".join(paths) + "\n")
write("ledger_first", [f"/api/v1/customers/{hot}/loyalty/entries?limit=50"])
# 50 cursors with ~560..1,540 older entries left: 99.85–99.95% of a 1M statement in.
write("ledger_deep", [f"/api/v1/customers/{hot}/loyalty/entries?limit=50&cursor=" +
                      cur(f"d|00000000-00000001-{60 + hot_n // 2000 + k * hot_n // 50000:08x}") for k in range(50)])
write("tickets_first", ["/api/v1/tickets?limit=50"])
deep = [cur(f"d|00000000-{tickets // 100 + k * tickets // 25000:08x}-7000-8000-000000000000") for k in range(50)]
write("tickets_deep", [f"/api/v1/tickets?limit=50&cursor={c}" for c in deep])
write("tickets_deep_filtered", [f"/api/v1/tickets?limit=50&state=investigating&property_id=bench-prop-3&cursor={c}" for c in deep])
write("live", ["/health/live"])
PY
for f in ledger_deep tickets_deep tickets_deep_filtered; do
  p=$(tail -1 "$WORK/$f.paths")
  curl -fsS -H "authorization: Bearer $ADMIN" "$B$p" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; assert d, "empty page"; print("  " + sys.argv[1] + ": the last cursor answers", len(d), "items from", d[0]["id"])' "$f"
done

lat() { # pathsfile duration -> P50 P95 P99 RPS NON2XX
  local t; t=$(( CONNS < 2 ? 1 : 2 ))
  PATHS_FILE="$WORK/$1.paths" wrk -t"$t" -c"$CONNS" -d"$2" -s bench/paths.lua -H "authorization: Bearer $ADMIN" "$B" > "$WORK/wrk.txt"
  read -r P50 P95 P99 RPS NON2XX < <(awk '/^LAT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["p50"], v["p95"], v["p99"], v["rps"], v["non2xx"] + v["errors"] }' "$WORK/wrk.txt")
}
for f in ledger_first ledger_deep tickets_first tickets_deep tickets_deep_filtered; do lat "$f" 2s; done
echo
echo "deep keyset pages (limit 50), $KIND, admin, wrk -c$CONNS -d${SECS}s per row"
printf '%-62s %8s %8s %8s %9s %7s  %s\n' "page" "p50 ms" "p95 ms" "p99 ms" "req/s" "non-2xx" "p99 < ${TARGET_MS} ms"
RESULTS=()
row() { # pathsfile label result-name|-
  lat "$1" "${SECS}s"
  local met="n/a"
  [ "$3" = - ] || met=$(python3 -c "import sys; print('yes' if float(sys.argv[1]) < float(sys.argv[2]) and sys.argv[3] == '0' else 'NO')" "$P99" "$TARGET_MS" "$NON2XX")
  printf '%-62s %8s %8s %8s %9s %7s  %s\n' "$2" "$P50" "$P95" "$P99" "$RPS" "$NON2XX" "$met"
  [ "$3" = - ] || RESULTS+=("RESULT name=deep.$KIND.$3 figure=${P99}ms ceiling=${TARGET_MS}ms ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$P99" "$TARGET_MS") target=p99<${TARGET_MS}ms met=$met")
}
row live "floor: GET /health/live" -
row ledger_first "statement of a guest with $HOT_N entries, first page" -
row ledger_deep "statement, 50 cursors 99.85-99.95% in" ledger_entries
row tickets_first "GET /tickets, $TICKETS tickets, first page" -
row tickets_deep "GET /tickets, 50 cursors 98.8-99% in" tickets
row tickets_deep_filtered "GET /tickets?state=investigating&property_id=..., same cursors" tickets_filtered

if [ "$KIND" = postgres ]; then
  E=$(printf '00000000-00000001-%08x' $(( HOT_N / 1000 ))); T=$(printf '00000000-%08x-7000-8000-000000000000' $(( TICKETS / 100 )))
  echo; echo "PostgreSQL plans (the WHERE, ORDER BY and LIMIT the server runs, with a deep cursor's value):"
  psql "$DB_URL" -X -q <<SQL | sed 's/^/    /'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM ledger_entries WHERE customer_id = '$HOT' AND id < '$E' ORDER BY id DESC LIMIT 51;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM tickets WHERE id < '$T' ORDER BY id DESC LIMIT 51;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM tickets WHERE property_id = 'bench-prop-3' AND state = 'investigating' AND id < '$T' ORDER BY id DESC LIMIT 51;
SQL
fi
echo
printf '%s\n' "${RESULTS[@]}"
