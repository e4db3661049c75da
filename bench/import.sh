#!/usr/bin/env bash
# Benchmark (not a test): import BENCH_IMPORT_GUESTS (1,000,000) guests through the API —
# `POST /api/v1/customer-imports` with an NDJSON file, then poll until the import completes —
# and sample the server's resident memory meanwhile. Targets (issue #13): under 60 s, RSS under
# 150 MB. The ceiling printed beside the time is the upload alone (the file streamed into
# chunks), measured in the same run.
#   bench/import.sh                  # PostgreSQL at $BENCH_PG (database concierge_import_bench)
#   BENCH_DB=sqlite bench/import.sh  # a temp SQLite file
# BENCH_NO_BUILD=1 uses the built binary. The last lines are `RESULT …` (bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${BENCH_IMPORT_GUESTS:-1000000}"; DBK="${BENCH_DB:-postgres}"
PORT=18093; B="http://127.0.0.1:$PORT"
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release --locked --quiet
dir="$(mktemp -d)"
if [ "$DBK" = sqlite ]; then
  DB_URL="sqlite://$dir/bench.db"
else
  PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
  psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS concierge_import_bench' -c 'CREATE DATABASE concierge_import_bench'
  DB_URL="$PG/concierge_import_bench"
fi
python3 - "$N" > "$dir/guests.ndjson" <<'PY'
import json, sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w(json.dumps({"given_name": f"Given{i}", "family_name": f"Family{i % 5000}", "email": f"g{i}@import.example",
                  "phone": f"+86139{i:08d}", "tags": ["imported"], "external_refs": [{"system": "pms", "external_id": f"P{i}"}],
                  "consents": [{"purpose": "surveys", "granted": True}]}) + "\n")
PY
echo "file: $(du -h "$dir/guests.ndjson" | cut -f1) for $N guests"
export DATABASE_URL="$DB_URL" CONCIERGE_BIND="127.0.0.1:$PORT" RUST_LOG=warn \
  CONCIERGE_ADMIN_EMAIL=bench@example.com CONCIERGE_ADMIN_PASSWORD=harbour-lights-2026 \
  CONCIERGE_JWT_SECRET=bench-secret-bench-secret-bench-secret \
  CONCIERGE_ENCRYPTION_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
  CONCIERGE_RATE_LIMIT_PER_MINUTE=100000000
./target/release/concierge serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -fsS "$B/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$(curl -fsS -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"harbour-lights-2026"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
( while kill -0 $SERVER 2>/dev/null; do ps -o rss= -p $SERVER; sleep 0.5; done ) > "$dir/rss" 2>/dev/null &
t0=$(date +%s.%N)
ID=$(curl -fsS -X POST "$B/api/v1/customer-imports" -H "authorization: Bearer $TOKEN" \
  -H 'content-type: application/x-ndjson' --data-binary @"$dir/guests.ndjson" | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
t1=$(date +%s.%N)
while :; do
  J=$(curl -fsS "$B/api/v1/customer-imports/$ID" -H "authorization: Bearer $TOKEN" 2>/dev/null || echo '{}')
  STATE=$(echo "$J" | python3 -c 'import sys,json;d=json.load(sys.stdin);print(d.get("state","?"), d.get("processed",0), d.get("failed",0))')
  case "$STATE" in completed*) break;; esac
  # a token lives 15 minutes: log in again when it lapses
  if [ "$STATE" = "? 0 0" ]; then TOKEN=$(curl -fsS -X POST "$B/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"harbour-lights-2026"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])'); fi
  sleep 1
done
t2=$(date +%s.%N)
RSS=$(sort -n "$dir/rss" | tail -1)
python3 - "$t0" "$t1" "$t2" "$RSS" "$N" "$DBK" "$STATE" <<'PY'
import sys
t0, t1, t2, rss, n, db, state = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
up, total, mb = t1 - t0, t2 - t0, rss / 1024
print(f"upload {up:.1f}s, import {total:.1f}s ({n / total:.0f} guests/s), state {state}, max RSS {mb:.0f} MB")
print(f"RESULT name=import.{db}.{n}_guests figure={total:.1f}s ceiling={up:.1f}s(upload) ratio={up / total:.2f} target=<60s met={'yes' if total < 60 else 'NO'}")
print(f"RESULT name=import.{db}.rss figure={mb:.0f}MB ceiling=150MB ratio={mb / 150:.2f} target=<150MB met={'yes' if mb < 150 else 'NO'}")
PY
