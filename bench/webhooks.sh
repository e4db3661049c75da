#!/usr/bin/env bash
# Webhook dispatcher benchmark (not a test), PostgreSQL or SQLite (BENCH_DB):
#  1. a receiver on loopback (node, bench/webhook_receiver.js) answering 204;
#  2. the ceiling: wrk POSTs an event-sized body to it with the dispatcher's concurrency (8);
#  3. a server with its dispatcher (poll 100 ms), one endpoint for every type, then BENCH_EVENTS
#     (20,000) events committed at once (SQL, on 2,000 aggregates); the time from their commit
#     until the receiver has them all = deliveries/s (signed, logged, in order per aggregate);
#  4. prints both, the ratio, and checks every delivery is `succeeded`.
#   BENCH_DB=sqlite bench/webhooks.sh
# BENCH_NO_BUILD=1 uses the built binary. The last lines are `RESULT …` (bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_EVENTS:-20000}"; DBK="${BENCH_DB:-postgres}"
PORT=18097; RPORT=18098; B="http://127.0.0.1:$PORT"; R="http://127.0.0.1:$RPORT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet
if [ "$DBK" = sqlite ]; then
  dir="$(mktemp -d)"; DB_URL="sqlite://$dir/bench.db"
  sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.stdin.read()); c.commit()' "$dir/bench.db"; }
  count() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$dir/bench.db" "$1"; }
  CO=0
else
  PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
  psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS concierge_webhooks_bench' -c 'CREATE DATABASE concierge_webhooks_bench'
  DB_URL="$PG/concierge_webhooks_bench"
  sql() { psql "$DB_URL" -q; }
  count() { psql "$DB_URL" -tAc "$1"; }
  CO='pg_current_xact_id()::text::bigint'
fi
node bench/webhook_receiver.js "$RPORT" & RECV=$!
export DATABASE_URL="$DB_URL" CONCIERGE_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  CONCIERGE_ADMIN_EMAIL=bench@example.com CONCIERGE_ADMIN_PASSWORD=harbour-lights-2026 \
  CONCIERGE_JWT_SECRET=bench-secret-bench-secret-bench-secret \
  CONCIERGE_ENCRYPTION_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
  CONCIERGE_RATE_LIMIT_PER_MINUTE=100000000 CONCIERGE_JOBS_INTERVAL_SECS=0 CONCIERGE_WEBHOOK_POLL_MS=100
./target/release/concierge serve & SERVER=$!
trap 'kill $SERVER $RECV 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && curl -fsS "$R/count" >/dev/null 2>&1 && break; sleep 0.2; done

wrk -t2 -c8 -d2s -s bench/webhook_post.lua "$R" >/dev/null
wrk -t2 -c8 -d10s -s bench/webhook_post.lua "$R" > /tmp/webhooks-wrk.txt
CEIL=$(awk '/Requests\/sec/ {print $2}' /tmp/webhooks-wrk.txt)
BASE_COUNT=$(curl -fsS "$R/count")

TOKEN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"harbour-lights-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
EP=$(curl -fsS "$B/api/v1/webhook-endpoints" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"url\":\"$R/hook\",\"types\":[\"customer.*\"]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 - "$N" "$CO" <<'PY' > /tmp/webhooks-seed.sql
import sys
n, co = int(sys.argv[1]), sys.argv[2]
print("BEGIN;")
for i in range(n):
    agg, seq = i % 2000, i // 2000 + 1
    print(f"INSERT INTO events (id, type, occurred_at, aggregate_type, aggregate_id, sequence, property_id, data, commit_order) "
          f"VALUES ('bench-{i:08d}', 'customer.updated', CURRENT_TIMESTAMP, 'customer', 'bench-guest-{agg:05d}', {seq}, NULL, "
          f"'{{\"customer_id\":\"bench-guest-{agg:05d}\",\"changed\":[\"job_title\"],\"version\":{seq}}}', {co});")
print("COMMIT;")
PY
sql < /tmp/webhooks-seed.sql
t0=$(python3 -c 'import time; print(time.time())')
for _ in $(seq 1 1200); do
  got=$(( $(curl -fsS "$R/count") - BASE_COUNT ))
  [ "$got" -ge "$N" ] && break
  sleep 0.1
done
t1=$(python3 -c 'import time; print(time.time())')
DONE=$(count "SELECT count(*) FROM webhook_deliveries WHERE state = 'succeeded'")
echo "receiver ceiling (wrk, 8 connections, event-sized POST): $CEIL req/s"
python3 -c "import sys; n,a,b=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'dispatcher: {n} events delivered in {b-a:.1f} s = {n/(b-a):.0f}/s')" "$got" "$t0" "$t1"
echo "deliveries succeeded: $DONE of $N"
python3 -c "import sys; n,a,b,c=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); r=(n/(b-a))/c
print(f'RESULT name=webhooks.$DBK.dispatch figure={n/(b-a):.0f}/s ceiling={c:.0f}/s ratio={r:.2f} target=n/a met=n/a')" "$got" "$t0" "$t1" "$CEIL"
echo "RESULT name=webhooks.$DBK.all_succeeded figure=$DONE ceiling=$N ratio=- target=all met=$([ "$DONE" = "$N" ] && echo yes || echo NO)"
[ "$DONE" = "$N" ]
