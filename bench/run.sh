#!/usr/bin/env bash
# Runs every benchmark of bench/ (not tests) on PostgreSQL and SQLite where each supports it, then
# prints ONE table: measure | figure | ceiling | ratio (target) | met?
#   customers_read.sh  postgres, sqlite   GET /customers/{id} req/s vs /health/live
#   ledger_load.sh     postgres           API postings/s vs the same SQL via pgbench (>= 0.80)
#   tickets_list.sh    postgres           ticket list req/s vs /health/live (1M tickets)
#   overload.py        sqlite, postgres   every answer within 2 s, no 5xx but 503, past the pool
#   search.sh          postgres, sqlite   guest search p95 < 10 ms over 1M guests (+ plans)
#   import.sh          postgres, sqlite   1M guests through POST /customer-imports < 60 s, RSS < 150 MB
#   deep_pages.sh      postgres, sqlite   deep cursor pages p99 < 20 ms (10M ledger entries and 1M
#                                         tickets; SQLite with BENCH_SQLITE_ENTRIES, 10M by default)
#   webhooks.sh        postgres, sqlite   dispatcher deliveries/s to a loopback receiver vs the
#                                         receiver's own ceiling (wrk, same concurrency)
# Each script's full output goes to $BENCH_LOGDIR (a temp dir, printed); its `RESULT …` lines make
# the table. The release binary is built once here (each script then runs with BENCH_NO_BUILD=1).
#   bash bench/run.sh                                  # everything, ~40 min on the 2-core box
#   BENCH_ONLY="search deep_pages" BENCH_DBS=postgres bash bench/run.sh
# Knobs: BENCH_ONLY (benchmark names), BENCH_DBS ("postgres sqlite"), BENCH_PG
# (postgres://postgres@127.0.0.1:5432; databases concierge_*bench are created and dropped),
# BENCH_KEEP=1 (keep them), BENCH_NO_BUILD=1, BENCH_VERBOSE=1 (show each script's output).
set -uo pipefail
cd "$(dirname "$0")/.."
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"; export BENCH_PG="$PG"
ONLY="${BENCH_ONLY:-customers_read ledger_load tickets_list overload search import deep_pages webhooks}"
DBS="${BENCH_DBS:-postgres sqlite}"
LOGDIR="${BENCH_LOGDIR:-$(mktemp -d /tmp/concierge-bench.XXXXXX)}"; mkdir -p "$LOGDIR"
RESULTS="$LOGDIR/results"; : > "$RESULTS"
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  echo "building target/release/concierge ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock migrations || echo ', with uncommitted changes'))"
  cargo build --release --locked --quiet || exit 1
fi
export BENCH_NO_BUILD=1

wants() { [[ " $ONLY " == *" $1 "* ]] && [[ " $DBS " == *" $2 "* ]]; }
step() { # name db command...
  local name=$1 db=$2; shift 2
  wants "$name" "$db" || return 0
  local log="$LOGDIR/$name.$db.log" t0=$SECONDS rc
  printf '%-16s %-9s ' "$name" "$db"
  if [ -n "${BENCH_VERBOSE:-}" ]; then "$@" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}; else "$@" > "$log" 2>&1; rc=$?; fi
  local n; n=$(grep -c '^RESULT ' "$log")
  grep '^RESULT ' "$log" >> "$RESULTS"
  [ "$n" -gt 0 ] || echo "RESULT name=$name.$db figure=failed(exit_$rc) ceiling=- ratio=- target=runs met=NO" >> "$RESULTS"
  echo "$(( SECONDS - t0 )) s, exit $rc, $n results   ($log)"
}
fresh_pg() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; }

echo "logs: $LOGDIR"
step customers_read postgres env BENCH_DB=postgres bash bench/customers_read.sh
step customers_read sqlite   env BENCH_DB=sqlite bash bench/customers_read.sh
step ledger_load    postgres bash bench/ledger_load.sh
step tickets_list   postgres bash bench/tickets_list.sh
step overload       sqlite   python3 bench/overload.py --binary target/release/concierge
if wants overload postgres; then fresh_pg concierge_overload_bench; fi
step overload       postgres python3 bench/overload.py --binary target/release/concierge --database-url "$PG/concierge_overload_bench"
step search         postgres env BENCH_DB=postgres bash bench/search.sh
step search         sqlite   env BENCH_DB=sqlite bash bench/search.sh
step import         postgres env BENCH_DB=postgres bash bench/import.sh
step import         sqlite   env BENCH_DB=sqlite bash bench/import.sh
step deep_pages     postgres env BENCH_DB=postgres bash bench/deep_pages.sh
step deep_pages     sqlite   env BENCH_DB=sqlite BENCH_ENTRIES="${BENCH_SQLITE_ENTRIES:-10000000}" bash bench/deep_pages.sh
step webhooks       postgres env BENCH_DB=postgres bash bench/webhooks.sh
step webhooks       sqlite   env BENCH_DB=sqlite bash bench/webhooks.sh
if [ -z "${BENCH_KEEP:-}" ]; then
  for d in concierge_import_bench concierge_bench concierge_ledger_bench concierge_tickets_bench concierge_overload_bench concierge_webhooks_bench; do
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $d" 2>/dev/null
  done
fi

echo
python3 - "$RESULTS" <<'PY'
import sys
rows = []
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    ratio, target = f.get("ratio", "-"), f.get("target", "n/a")
    rows.append((f.get("name", "?"), f.get("figure", "-"), f.get("ceiling", "-"),
                 ratio if target == "n/a" else f"{ratio} ({target})", f.get("met", "n/a")))
head = ("measure", "figure", "ceiling", "ratio (target)", "met?")
w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
fmt = " | ".join(f"{{:<{n}}}" for n in w)
print(fmt.format(*head)); print("-+-".join("-" * n for n in w))
for r in rows:
    print(fmt.format(*r))
missed = [r[0] for r in rows if r[4] == "NO"]
print(f"\n{len(rows)} measures, {sum(r[4] == 'yes' for r in rows)} targets met, {len(missed)} missed"
      + (": " + ", ".join(missed) if missed else ""))
PY
