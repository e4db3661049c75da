#!/usr/bin/env bash
# Ticket list benchmark (not a test), PostgreSQL only: seeds BENCH_TICKETS (1,000,000) tickets
# over 4 properties and a year, then measures GET /api/v1/tickets (limit 50) with wrk — the
# first page, a page at a deep cursor (90% of the way in), and the same for filtered queues
# (state + property, severity + breached) and for an agent restricted to one property —
# printing p50/p99 and req/s next to GET /health/live measured in the same run; then the
# ticket report over a year and over 30 days (one client: it is an analyst's request).
#   bench/tickets_list.sh          # PostgreSQL at postgres://postgres@127.0.0.1:5432 (BENCH_PG)
# BENCH_NO_BUILD=1 uses the built binary. The last lines are `RESULT name=… figure=… ceiling=… ratio=…`
# (bench/run.sh): req/s of each row against /health/live's in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_TICKETS:-1000000}"; SECS="${BENCH_SECONDS:-10}"; CLIENTS="${BENCH_CLIENTS:-8}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"; DB="$PG/concierge_tickets_bench"
PORT=18092; B="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet

if [ -z "${BENCH_SKIP_SEED:-}" ]; then
  psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS concierge_tickets_bench' -c 'CREATE DATABASE concierge_tickets_bench'
fi
psql "$DB" -qc 'CREATE EXTENSION IF NOT EXISTS pg_trgm'
export DATABASE_URL="$DB" CONCIERGE_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  CONCIERGE_ADMIN_EMAIL=bench@example.com CONCIERGE_ADMIN_PASSWORD=harbour-lights-2026 \
  CONCIERGE_JWT_SECRET=bench-secret-bench-secret-bench-secret \
  CONCIERGE_ENCRYPTION_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
  CONCIERGE_RATE_LIMIT_PER_MINUTE=100000000 CONCIERGE_JOBS_INTERVAL_SECS=0
./target/release/concierge migrate >/dev/null
t0=$(date +%s)
[ -n "${BENCH_SKIP_SEED:-}" ] || psql "$DB" -q -v n="$N" -f bench/tickets_seed.sql
COUNT=$(psql "$DB" -tAc 'SELECT count(*) FROM tickets')
echo "seeded $COUNT tickets in $(( $(date +%s) - t0 )) s"

./target/release/concierge serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
login() { curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
ADMIN=$(login bench@example.com harbour-lights-2026)
curl -fsS "$B/api/v1/staff" -H "authorization: Bearer $ADMIN" -H 'content-type: application/json' \
  -d '{"email":"agent@bench.example","display_name":"Bench agent","role":"agent","property_ids":["bench-prop-1"],"password":"harbour-lights-2026"}' >/dev/null 2>&1 || true
AGENT=$(login agent@bench.example harbour-lights-2026)

# A cursor 90% of the way into the ids (newest first: ids below it remain).
DEEP=$(python3 -c "import base64; print(base64.urlsafe_b64encode(b'd|00000000-%08x-7000-8000-000000000000' % ($N // 10)).decode().rstrip('='))")
run() { # name token path [clients]
  local c="${4:-$CLIENTS}"; wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECS}s" --latency -H "authorization: Bearer $2" "$B$3" > /tmp/tickets-wrk.txt
  printf '%-58s %9s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' /tmp/tickets-wrk.txt)" \
    "$(awk '$1=="50%" {print $2}' /tmp/tickets-wrk.txt)" "$(awk '$1=="99%" {print $2}' /tmp/tickets-wrk.txt)" \
    "$(awk '/Non-2xx/ {n=$NF} END {print n+0}' /tmp/tickets-wrk.txt)"
  RESULTS+=("$1|$(awk '/Requests\/sec/ {print $2}' /tmp/tickets-wrk.txt)|$(awk '$1=="99%" {print $2}' /tmp/tickets-wrk.txt)")
}
RESULTS=()
curl -fsS -H "authorization: Bearer $ADMIN" "$B/api/v1/tickets?limit=50&cursor=$DEEP" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["data"])==50, d; print("deep page starts at", d["data"][0]["id"])'
wrk -t2 -c"$CLIENTS" -d3s -H "authorization: Bearer $ADMIN" "$B/api/v1/tickets?limit=50" >/dev/null
echo
echo "GET /api/v1/tickets?limit=50, $COUNT tickets, PostgreSQL, $CLIENTS clients, ${SECS}s each"
run "trivial: /health/live" "$ADMIN" "/health/live"
run "admin, first page" "$ADMIN" "/api/v1/tickets?limit=50"
run "admin, deep cursor (90% in)" "$ADMIN" "/api/v1/tickets?limit=50&cursor=$DEEP"
run "admin, state=investigating&property_id, deep cursor" "$ADMIN" "/api/v1/tickets?limit=50&state=investigating&property_id=bench-prop-3&cursor=$DEEP"
run "admin, state+property matching nothing, deep cursor" "$ADMIN" "/api/v1/tickets?limit=50&state=investigating&property_id=bench-prop-2&cursor=$DEEP"
run "admin, severity=critical&breached=true, deep cursor" "$ADMIN" "/api/v1/tickets?limit=50&severity=critical&breached=true&cursor=$DEEP"
run "agent (one property), deep cursor" "$AGENT" "/api/v1/tickets?limit=50&cursor=$DEEP"
run "agent (one property), state=new, deep cursor" "$AGENT" "/api/v1/tickets?limit=50&state=new&cursor=$DEEP"
run "admin, report for a year, all properties (1 client)" "$ADMIN" "/api/v1/ticket-reports?from=$(date -u -d '364 days ago' +%F)&to=$(date -u +%F)" 1
run "admin, report for 30 days, one property (1 client)" "$ADMIN" "/api/v1/ticket-reports?property_id=bench-prop-1" 1
echo
# RESULT lines: each row's req/s against the trivial endpoint's (the first row), p99 alongside.
printf '%s\n' "${RESULTS[@]}" | python3 -c "
import re, sys
rows = [l.rstrip('\n').split('|') for l in sys.stdin if l.strip()]
floor = float(rows[0][1])
for name, rps, p99 in rows[1:]:
    slug = re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')
    print(f'RESULT name=tickets_list.postgres.{slug} figure={float(rps):.1f}req/s(p99={p99}) ceiling={floor:.0f}req/s ratio={float(rps) / floor:.3f} target=n/a met=n/a')"
