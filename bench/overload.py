#!/usr/bin/env python3
"""Overload probe (a benchmark, not a test): do answers stay prompt when far more clients
arrive than the database pool can serve?

    python3 bench/overload.py --binary target/release/concierge [--database-url URL]
                              [--clients 300] [--seconds 15]

Starts the server (a temp SQLite file unless --database-url is given; the database must be
empty or hold only what an earlier run left), creates a few guests, then runs `--clients`
threads that each read a guest page and post an interaction, as fast as they can, for
`--seconds`. Prints, per status, the count and the latency p50/p99/max, and the ceiling it is
judged against: the latency of `/health/live` (no database) measured in the same run under the
same load. Admission control and the 1 s pool check-out should keep every answer — 2xx or 503
with Retry-After — within about 2 s; no 5xx other than 503. The last lines are
`RESULT name=… figure=… ceiling=… ratio=… target=… met=…` (bench/run.sh).
"""
import argparse, http.client, json, os, socket, subprocess, sys, tempfile, threading, time  # noqa: E401

ADMIN = ("bench.admin@example.com", "Kestrel-harbour-lights-2026")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, token=None, timeout=30):
    h = {"content-type": "application/json"} if body is not None else {}
    if token:
        h["authorization"] = f"Bearer {token}"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, time.monotonic() - t0, data, r.getheader("retry-after")
    except OSError as e:
        return f"error:{type(e).__name__}", time.monotonic() - t0, b"", None
    finally:
        c.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--database-url")
    ap.add_argument("--clients", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=15)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="concierge-overload-")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=a.database_url or f"sqlite://{tmp}/bench.db",
               CONCIERGE_BIND=f"127.0.0.1:{port}", CONCIERGE_ADMIN_EMAIL=ADMIN[0],
               CONCIERGE_ADMIN_PASSWORD=ADMIN[1], CONCIERGE_RATE_LIMIT_PER_MINUTE="100000000",
               CONCIERGE_JOBS_INTERVAL_SECS="0", RUST_LOG="error",
               CONCIERGE_JWT_SECRET="overload-bench-secret-0123456789abcdef",
               CONCIERGE_ENCRYPTION_KEY="6b" * 32)
    log = open(f"{tmp}/server.log", "w")
    srv = subprocess.Popen([a.binary], env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):
            if call(port, "GET", "/health/ready", timeout=1)[0] == 200:
                break
            time.sleep(0.1)
        st, _, data, _ = call(port, "POST", "/api/v1/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})
        token = json.loads(data)["access_token"]
        guests = []
        for i in range(5):
            st, _, data, _ = call(port, "POST", "/api/v1/customers",
                                  {"given_name": f"Load{i}", "family_name": "Probe"}, token)
            guests.append(json.loads(data)["id"])
        results, live, lock = [], [], threading.Lock()
        stop = time.time() + a.seconds

        def client(n):
            g = guests[n % len(guests)]
            while time.time() < stop:
                if n % 2:
                    r = call(port, "GET", f"/api/v1/customers/{g}", token=token)
                else:
                    r = call(port, "POST", f"/api/v1/customers/{g}/interactions",
                             {"channel": "phone", "direction": "inbound", "summary": "load probe"}, token)
                with lock:
                    results.append(r)

        def probe():
            while time.time() < stop:
                live.append(call(port, "GET", "/health/live")[1])
                time.sleep(0.05)

        ts = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        ts.append(threading.Thread(target=probe))
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        by = {}
        for status, lat, _, retry in results:
            by.setdefault(status, []).append((lat, retry))
        print(f"overload: {a.clients} clients for {a.seconds:.0f} s on "
              f"{'PostgreSQL' if a.database_url else 'SQLite'}: {len(results)} answers")
        for status in sorted(by, key=str):
            lats = [x[0] for x in by[status]]
            extra = ""
            if status == 503:
                extra = f", Retry-After present {sum(1 for x in by[status] if x[1])}/{len(lats)}"
            print(f"  {status}: {len(lats)}  p50 {pct(lats, 50) * 1000:.0f} ms  p99 {pct(lats, 99) * 1000:.0f} ms"
                  f"  max {max(lats) * 1000:.0f} ms{extra}")
        all_lat = [r[1] for r in results]
        ceiling = pct(live, 99)
        print(f"  ceiling (/health/live p99 under the same load): {ceiling * 1000:.0f} ms; "
              f"API max / 2 s bound = {max(all_lat) / 2.0:.2f}; API p99 / ceiling = "
              f"{pct(all_lat, 99) / max(ceiling, 1e-3):.1f}")
        bad = [s for s in by if s != 503 and (not isinstance(s, int) or s >= 500)]
        db = "postgres" if a.database_url else "sqlite"
        worst = max(all_lat)
        print(f"RESULT name=overload.{db}.max_latency figure={worst * 1000:.0f}ms ceiling=2000ms "
              f"ratio={worst / 2.0:.2f} target=max<=2s,no_5xx_but_503 met={'NO' if bad or worst > 2.0 else 'yes'}")
        print(f"RESULT name=overload.{db}.p99 figure={pct(all_lat, 99) * 1000:.0f}ms ceiling={ceiling * 1000:.0f}ms "
              f"ratio={pct(all_lat, 99) / max(ceiling, 1e-3):.1f} target=n/a met=n/a")
        return 1 if bad else 0
    finally:
        srv.terminate()
        srv.wait(30)


if __name__ == "__main__":
    sys.exit(main())
