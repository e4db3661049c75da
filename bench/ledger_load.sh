#!/usr/bin/env bash
# Ledger load benchmark (not a test), PostgreSQL only:
#  1. seeds BENCH_GUESTS guests (100,000), each enrolled with 10 earn entries, plus one guest with
#     20,000 entries: ≥ 1M ledger entries in all;
#  2. API: POST /customers/{id}/loyalty/adjustments (+10 points, fresh Idempotency-Key, random
#     guest) with BENCH_CLIENTS (16) concurrent clients for BENCH_SECONDS (20) — wrk;
#  3. direct: the same SQL transaction the service runs for a posting (bench/ledger_direct.sql),
#     with the same number of clients against the same database — pgbench;
#  3b. the same transaction with the outbox's statements (sequence upsert + event row): the
#     outbox's cost as a ratio (bench/ledger_direct_outbox.sql);
#  4. prints postings/s of both, the ratio, p50/p99, the statement page latency at a deep cursor
#     (19,500 entries in) next to the first page, and checks balance = Σ entries afterwards.
#   bench/ledger_load.sh          # PostgreSQL at postgres://postgres@127.0.0.1:5432 (BENCH_PG)
# BENCH_NO_BUILD=1 uses the built binary. The last lines are `RESULT name=… figure=… ceiling=… ratio=…`
# (bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${BENCH_SECONDS:-20}"; CLIENTS="${BENCH_CLIENTS:-16}"; GUESTS="${BENCH_GUESTS:-100000}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"; DB="$PG/concierge_ledger_bench"
PORT=18091; B="http://127.0.0.1:$PORT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-contrib; }
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet

[ -n "${BENCH_SKIP_SEED:-}" ] || psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS concierge_ledger_bench' -c 'CREATE DATABASE concierge_ledger_bench'
psql "$DB" -qc 'CREATE EXTENSION IF NOT EXISTS pg_trgm'
export DATABASE_URL="$DB" CONCIERGE_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  CONCIERGE_ADMIN_EMAIL=bench@example.com CONCIERGE_ADMIN_PASSWORD=harbour-lights-2026 \
  CONCIERGE_JWT_SECRET=bench-secret-bench-secret-bench-secret \
  CONCIERGE_ENCRYPTION_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
  CONCIERGE_RATE_LIMIT_PER_MINUTE=100000000 CONCIERGE_JOBS_INTERVAL_SECS=0
./target/release/concierge migrate >/dev/null
t0=$(date +%s)
[ -n "${BENCH_SKIP_SEED:-}" ] || psql "$DB" -q -v guests="$GUESTS" -v per_guest=10 -v hot=20000 -f bench/ledger_seed.sql
ENTRIES=$(psql "$DB" -tAc 'SELECT count(*) FROM ledger_entries')
echo "seeded $GUESTS guests, $ENTRIES ledger entries in $(( $(date +%s) - t0 )) s"

./target/release/concierge serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"harbour-lights-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
export TOKEN GUESTS

# Warm both paths briefly, then measure: API first, direct second, same database, same clients.
wrk -t2 -c"$CLIENTS" -d3s -s bench/ledger_post.lua "$B" >/dev/null
pgbench -n -c "$CLIENTS" -j 2 -T 3 -D guests="$GUESTS" -f bench/ledger_direct.sql "$DB" >/dev/null
wrk -t2 -c"$CLIENTS" -d"${SECS}s" --latency -s bench/ledger_post.lua "$B" > /tmp/ledger-wrk.txt
pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -D guests="$GUESTS" -f bench/ledger_direct.sql "$DB" > /tmp/ledger-pgbench.txt
# The outbox's cost (#14): the same transaction with the event and its sequence counter.
pgbench -n -c "$CLIENTS" -j 2 -T "$SECS" -D guests="$GUESTS" -f bench/ledger_direct_outbox.sql "$DB" > /tmp/ledger-pgbench-outbox.txt

API=$(awk '/Requests\/sec/ {print $2}' /tmp/ledger-wrk.txt)
P50=$(awk '$1=="50%" {print $2}' /tmp/ledger-wrk.txt); P99=$(awk '$1=="99%" {print $2}' /tmp/ledger-wrk.txt)
NON2XX=$(awk '/Non-2xx/ {n=$NF} END {print n+0}' /tmp/ledger-wrk.txt)
ERRS=$(awk '/Socket errors/ {print $0}' /tmp/ledger-wrk.txt)
DIRECT=$(awk '/^tps/ {print $3; exit}' /tmp/ledger-pgbench.txt)
DLAT=$(awk '/latency average/ {print $4 " " $5}' /tmp/ledger-pgbench.txt)
DFAIL=$(awk '/number of failed transactions/ {print $5}' /tmp/ledger-pgbench.txt)
OUTBOX=$(awk '/^tps/ {print $3; exit}' /tmp/ledger-pgbench-outbox.txt)

# Statement pages of the hot guest: the first page and one 19,500 entries deep (a cursor at entry 500).
HOT=00000000-0000-7000-9000-000000000001
DEEP=$(python3 -c 'import base64; print(base64.urlsafe_b64encode(b"d|00000000-00000001-000001f4").decode().rstrip("="))')
wrk -t1 -c1 -d5s --latency -H "authorization: Bearer $TOKEN" "$B/api/v1/customers/$HOT/loyalty/entries?limit=50" > /tmp/ledger-first.txt
wrk -t1 -c1 -d5s --latency -H "authorization: Bearer $TOKEN" "$B/api/v1/customers/$HOT/loyalty/entries?limit=50&cursor=$DEEP" > /tmp/ledger-deep.txt
curl -fsS -H "authorization: Bearer $TOKEN" "$B/api/v1/customers/$HOT/loyalty/entries?limit=50&cursor=$DEEP" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["data"])==50, d; print("deep page first entry:", d["data"][0]["id"], "running balance", d["data"][0]["balance_after"])'

# The invariant after the load: every account's balance = Σ its entries, none negative.
BAD=$(psql "$DB" -tAc "SELECT count(*) FROM loyalty_accounts a LEFT JOIN (SELECT customer_id, sum(points) s FROM ledger_entries GROUP BY customer_id) e USING (customer_id) WHERE a.balance <> coalesce(e.s, 0) OR a.balance < 0")
TOTAL=$(psql "$DB" -tAc 'SELECT count(*) FROM ledger_entries')

echo
echo "ledger postings, $CLIENTS clients, ${SECS}s each, PostgreSQL, $ENTRIES entries seeded (now $TOTAL)"
printf '%-46s %10s /s   p50 %s  p99 %s  non-2xx %s %s\n' "API  POST /customers/{id}/loyalty/adjustments" "$API" "$P50" "$P99" "$NON2XX" "$ERRS"
printf '%-46s %10s /s   latency avg %s  failed %s\n' "SQL  bare insert+update transaction, pgbench" "$DIRECT" "$DLAT" "${DFAIL:-0}"
python3 -c "import sys; a,d=map(float,sys.argv[1:]); print(f'ratio API/direct = {a/d:.2f}  (target >= 0.80)')" "$API" "$DIRECT"
printf 'statement page (limit 50), first page: p50 %s p99 %s   at a deep cursor (19,500 in): p50 %s p99 %s\n' \
  "$(awk '$1=="50%" {print $2}' /tmp/ledger-first.txt)" "$(awk '$1=="99%" {print $2}' /tmp/ledger-first.txt)" \
  "$(awk '$1=="50%" {print $2}' /tmp/ledger-deep.txt)" "$(awk '$1=="99%" {print $2}' /tmp/ledger-deep.txt)"
printf '%-46s %10s /s\n' "SQL  the same + sequence upsert + event row" "$OUTBOX"
echo "accounts whose balance != sum of entries or < 0: $BAD"
python3 -c "import sys; a,d=map(float,sys.argv[1:3]); r=a/d
print(f'RESULT name=ledger_load.postgres.postings figure={a:.0f}/s ceiling={d:.0f}/s ratio={r:.2f} target=ratio>=0.80 met={\"yes\" if r >= 0.80 else \"NO\"}')" "$API" "$DIRECT"
python3 -c "import sys; o,d=map(float,sys.argv[1:3]); r=o/d
print(f'RESULT name=ledger_load.postgres.outbox_cost figure={o:.0f}/s ceiling={d:.0f}/s ratio={r:.2f} target=n/a met=n/a')" "$OUTBOX" "$DIRECT"
echo "RESULT name=ledger_load.postgres.balance_invariant figure=$BAD ceiling=- ratio=- target=0_bad_accounts,0_non-2xx met=$([ "$BAD" = 0 ] && [ "$NON2XX" = 0 ] && echo yes || echo NO)"
[ "$BAD" = 0 ] && [ "$NON2XX" = 0 ]
