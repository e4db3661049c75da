#!/usr/bin/env python3
"""Fault-injection harness for Concierge on PostgreSQL (standard library only).

    python3 .ci/faults.py --binary target/release/concierge [--scenario NAME ...] [--keep]

Starts a private PostgreSQL 15 (initdb in a temp dir, a free port, run as an unprivileged user
when invoked as root; the machine's shared PostgreSQL is never touched), then for each scenario:
a fresh `faults` database, a fresh server (and a second one for two-instances), a few guests with
loyalty accounts and tickets, and a load of 8 client threads. Every write carries a fresh
Idempotency-Key and puts the key in its body (adjustment `reason`, ticket `subject`,
compensation `note`), so its effect can be counted in the database. A client retries the SAME
key and body on transport errors, 5xx and 409 until it gets a 2xx (acknowledged) or another 4xx
(gave up), and every attempt is recorded (time, status, latency, Idempotent-Replayed).

Scenarios: pg-stop, pg-terminate, pg-crash, server-kill, row-lock, two-instances (default: all).

Checks after each scenario (each failure is printed under the scenario's summary line):
  1. every loyalty account: balance = sum of its ledger entries, and >= 0;
  2. every acknowledged key applied exactly once (one ledger entry / ticket / compensation, and
     one compensation ledger entry per approved points compensation), unacknowledged keys at most
     once -- checked again after the replays of check 3, which must not apply anything;
  3. re-sending acknowledged keys (all for pg-crash, else a sample of 200) answers the same status
     and body with `Idempotent-Replayed: true`;
  4. no 5xx other than 503; every 503 has Retry-After and problem+json; no other 4xx than 409/429
     (e.g. a 401 during an outage); no transport error or 10 s timeout except while the server
     process is dead (server-kill); 503 count and latency p50/max are reported;
  5. after the fault, /health/ready is 200 and a write succeeds within 10 s (seconds reported).
row-lock adds: other guests and readiness answer 2xx with p99 <= 2 s while the row is locked, and
requests on the locked guest answer 503 within 5 s instead of hanging.

Exit 0 when every scenario passes, 1 otherwise. --keep leaves the temp dir (logs, PostgreSQL
data) in place and prints where it is. Runtime: about 5 minutes for all scenarios.
"""
import argparse, http.client, json, os, pwd, random, shutil, signal, socket  # noqa: E401
import subprocess, sys, tempfile, threading, time, traceback, uuid  # noqa: E401

def _pg_bin():
    import glob
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else "/usr/lib/postgresql/15/bin"


PG_BIN = _pg_bin()
PG_USER = "concierge-fault"
ADMIN = {"email": "ci.admin@example.com", "password": "Kestrel-harbour-lights-2026"}
JWT_SECRET = "fault-harness-jwt-secret-0123456789abcdef"[:40]
ENC_KEY = "5a" * 32
TIMEOUT = 10.0  # per request
WORKERS = 8
GUESTS = 6
LOCKED_WRITERS = 3  # row-lock: clients on the locked guest (the 2-core default pool holds 4)
SCENARIOS = ["pg-stop", "pg-terminate", "pg-crash", "server-kill", "row-lock", "two-instances", "audit-crash"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def ms(seconds):
    return f"{seconds * 1000:.0f}ms"


class HarnessError(Exception):
    pass


# ---------------------------------------------------------------- PostgreSQL
class Postgres:
    def __init__(self, root):
        self.dir, self.sock, self.log = f"{root}/pg", f"{root}/pgsock", f"{root}/pg.log"
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(PG_USER)
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                PG_USER], check=True)
            self.as_user = ["runuser", "-u", PG_USER, "--"]
        os.makedirs(self.sock)
        if self.as_user:
            shutil.chown(root, PG_USER)
            shutil.chown(self.sock, PG_USER)
        self._run([f"{PG_BIN}/initdb", "-D", self.dir, "-A", "trust", "-U", "postgres", "-E", "UTF8"])
        self.start()

    def _run(self, cmd, check=True):
        r = subprocess.run(self.as_user + cmd, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise HarnessError(f"{' '.join(cmd)} failed: {r.stdout}{r.stderr}")
        return r

    def start(self):
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.dir, "-o", opts, "-l", self.log, "-w", "start"])

    def stop(self, mode="fast", check=True):
        return self._run([f"{PG_BIN}/pg_ctl", "-D", self.dir, "-m", mode, "-w", "stop"], check=check)

    def running(self):
        return self._run([f"{PG_BIN}/pg_ctl", "-D", self.dir, "status"], check=False).returncode == 0

    def psql_cmd(self, db="faults"):
        return [f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"]

    def sql(self, query, db="faults"):
        r = subprocess.run(self.psql_cmd(db) + ["-c", query], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise HarnessError(f"psql failed: {r.stderr.strip()} -- {query}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def fresh_database(self):
        if not self.running():
            self.start()
        self.sql("DROP DATABASE IF EXISTS faults WITH (FORCE)", db="postgres")
        self.sql("CREATE DATABASE faults", db="postgres")

    def terminate_backends(self):
        rows = self.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname='faults' AND pid <> pg_backend_pid()", db="postgres")
        return len(rows)


# ---------------------------------------------------------------- HTTP
class Resp:
    __slots__ = ("status", "headers", "body", "latency", "error", "start")

    def __init__(self, start):
        self.start, self.status, self.headers, self.body, self.error = start, None, {}, b"", None
        self.latency = 0.0

    def json(self):
        return json.loads(self.body)


def request(base, method, path, body=None, token=None, key=None, timeout=TIMEOUT):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    host, port = base.split(":")
    r = Resp(time.time())
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=data if data is not None else (b"" if method == "POST" else None),
                     headers=headers)
        res = conn.getresponse()
        r.body = res.read()
        r.status = res.status
        r.headers = {k.lower(): v for k, v in res.getheaders()}
    except (OSError, http.client.HTTPException) as e:
        r.error = f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    r.latency = time.monotonic() - t0
    return r


# ---------------------------------------------------------------- server
class Server:
    def __init__(self, binary, root, db_port, name):
        self.binary, self.root, self.name = binary, root, name
        self.port = free_port()
        self.base = f"127.0.0.1:{self.port}"
        self.log = f"{root}/{name}.log"
        self.env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{db_port}/faults",
                        CONCIERGE_BIND=self.base, CONCIERGE_ADMIN_EMAIL=ADMIN["email"],
                        CONCIERGE_ADMIN_PASSWORD=ADMIN["password"], CONCIERGE_RATE_LIMIT_PER_MINUTE="1000000",
                        CONCIERGE_JOBS_INTERVAL_SECS="0", CONCIERGE_JWT_SECRET=JWT_SECRET,
                        CONCIERGE_ENCRYPTION_KEY=ENC_KEY, RUST_LOG="warn")
        self.proc = None

    def start(self, wait=60):
        with open(self.log, "a") as log:
            log.write(f"\n==== start {time.strftime('%H:%M:%S')} ====\n")
            log.flush()
            self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, cwd=self.root,
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"server {self.name} exited with {self.proc.returncode}\n{self.tail()}")
            if request(self.base, "GET", "/health/ready", timeout=2).status == 200:
                return time.time()
            time.sleep(0.1)
        raise HarnessError(f"server {self.name} not ready after {wait}s\n{self.tail()}")

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill9()

    def tail(self, n=25):
        try:
            with open(self.log, errors="replace") as f:
                lines = f.readlines()[-n:]
        except OSError:
            return ""
        return "".join(f"    | {line}" for line in lines)


# ---------------------------------------------------------------- load
class Op:
    """One write with its own key; `kind` is adjust, ticket or comp."""

    def __init__(self, kind, path, body, key, group="main"):
        self.kind, self.path, self.body, self.key, self.group = kind, path, body, key, group
        self.acked = None  # Resp of the acknowledgement
        self.gave_up = None  # Resp of the 4xx that ended it
        self.applied_lost = None  # Resp of a 409 "already applied" (committed, answer lost)
        self.attempts = []


class Scenario:
    """A fresh database, server(s), data and an attempt log for one scenario."""

    def __init__(self, h, name, instances=1):
        self.h, self.name = h, name
        self.lock = threading.Lock()
        self.attempts = []  # (group, kind, Resp)
        self.ops = []
        self.failures, self.figures = [], []
        self.windows = []  # (start, end): fault windows (outage)
        self.dead = []  # (start, end): server process dead
        self.fault_end = None
        self.recovered = None  # True/False once measured
        self.stop_gen = threading.Event()
        self.deadline = float("inf")
        self.threads = []
        h.stop_servers()
        h.pg.fresh_database()
        self.servers = [Server(h.binary, h.root, h.pg.port, f"{name}-{c}") for c in "ab"[:instances]]
        h.servers = self.servers
        for s in self.servers:
            s.start()
        self.token = self.call_ok("POST", "/api/v1/auth/login", ADMIN)["access_token"]
        prop = self.call_ok("POST", "/api/v1/properties",
                            {"code": "FLT-1", "name": "Fault Hotel", "timezone": "Asia/Shanghai", "currency": "CNY"})
        self.property_id = prop["id"]
        self.guests, self.tickets = [], {}
        for i in range(GUESTS):
            g = self.call_ok("POST", "/api/v1/customers",
                             {"given_name": "Guest", "family_name": f"Fault{i}", "email": f"guest{i}@example.com"})
            self.guests.append(g["id"])
            self.call_ok("POST", f"/api/v1/customers/{g['id']}/loyalty/enrolment", key=f"enrol-{g['id']}")
            self.call_ok("POST", f"/api/v1/customers/{g['id']}/loyalty/adjustments",
                         {"points": 1000, "reason": "fault harness opening balance"}, key=f"open-{g['id']}")
            t = self.call_ok("POST", "/api/v1/tickets", self.ticket_body(g["id"], f"setup ticket {i}"))
            self.tickets[g["id"]] = t["id"]

    def call_ok(self, method, path, body=None, key=None):
        r = request(self.servers[0].base, method, path, body, getattr(self, "token", None), key)
        if r.status is None or r.status >= 300:
            raise HarnessError(f"setup {method} {path} answered {r.status or r.error}: {r.body[:300]!r}")
        return r.json() if r.body else None

    def ticket_body(self, guest, subject):
        return {"property_id": self.property_id, "customer_id": guest, "kind": "complaint",
                "category": "cleanliness", "severity": "low", "channel": "phone", "subject": subject,
                "description": "raised by the fault-injection harness"}

    # -- operations
    def new_op(self, kind, guest, group="main"):
        key = f"flt-{uuid.uuid4().hex}"
        tag = f"fault-op {key}"
        if kind == "adjust":
            return Op(kind, f"/api/v1/customers/{guest}/loyalty/adjustments",
                      {"points": random.randint(1, 50), "reason": tag}, key, group)
        if kind == "ticket":
            return Op(kind, "/api/v1/tickets", self.ticket_body(guest, tag), key, group)
        return Op(kind, f"/api/v1/tickets/{self.tickets[guest]}/compensations",
                  {"kind": "points", "points": random.randint(1, 50), "note": tag}, key, group)

    def record(self, group, kind, r):
        with self.lock:
            self.attempts.append((group, kind, r))

    def submit(self, op, base):
        """Sends op until acknowledged, refused with a 4xx, or the scenario's drain deadline."""
        with self.lock:
            self.ops.append(op)
        while time.time() < self.deadline:
            r = request(base, "POST", op.path, op.body, self.token, op.key)
            op.attempts.append(r)
            self.record(op.group, op.kind, r)
            if r.status is not None and 200 <= r.status < 300:
                op.acked = r
                return op
            if r.status == 409 and b"already applied" in r.body:
                op.applied_lost = r  # final: applied once, its answer lost in the crash
                return op
            if r.status is not None and 400 <= r.status < 500 and r.status not in (409, 429):
                op.gave_up = r
                return op
            time.sleep(0.2 + random.random() * 0.1)
        return op

    def submit_everywhere(self, op):
        """two-instances: the same key and body to every instance at once; acked when all are."""
        clones = [op] + [Op(op.kind, op.path, op.body, op.key, op.group) for _ in self.servers[1:]]
        ts = [threading.Thread(target=self.submit, args=(c, s.base)) for c, s in zip(clones, self.servers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def start_workers(self, n, make_op, group="main", everywhere=False):
        def loop():
            while not self.stop_gen.is_set():
                op = make_op()
                op.group = group
                if everywhere:
                    self.submit_everywhere(op)
                else:
                    self.submit(op, self.servers[0].base)

        for _ in range(n):
            t = threading.Thread(target=loop, daemon=True)
            t.start()
            self.threads.append(t)

    def start_reader(self, paths, group="reads", pause=0.05):
        def loop():
            i = 0
            while not self.stop_gen.is_set():
                path = paths[i % len(paths)]
                i += 1
                self.record(group, "read", request(self.servers[0].base, "GET", path, token=self.token))
                time.sleep(pause)

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def mixed_op(self, guests=None):
        kind = random.choices(["adjust", "ticket", "comp"], [6, 2, 2])[0]
        return self.new_op(kind, random.choice(guests or self.guests))

    def start_default_load(self):
        self.start_workers(WORKERS, self.mixed_op)
        self.start_reader([f"/api/v1/customers/{self.guests[0]}/loyalty", "/health/ready"])

    def stop_load(self, drain):
        self.stop_gen.set()
        self.deadline = time.time() + drain
        for t in self.threads:
            t.join(drain + 3 * TIMEOUT)

    # -- recovery (check 5)
    def measure_recovery(self, limit=10.0, give_up=20.0):
        start = self.fault_end = time.time()
        base = self.servers[0].base
        while time.time() - start < give_up:
            if request(base, "GET", "/health/ready", timeout=2).status == 200:
                op = self.new_op("adjust", self.guests[-1], group="probe")
                with self.lock:
                    self.ops.append(op)
                r = request(base, "POST", op.path, op.body, self.token, op.key, timeout=5)
                op.attempts.append(r)
                if r.status is not None and 200 <= r.status < 300:
                    op.acked = r
                    self.recovered = True
                    took = time.time() - start
                    self.figures.append(f"recovery {took:.1f}s")
                    if took > limit:
                        self.failures.append(f"recovery took {took:.1f}s (> {limit:.0f}s)")
                    return took
            time.sleep(0.2)
        self.recovered = False
        self.figures.append(f"recovery >{give_up:.0f}s")
        self.failures.append(f"no recovery: /health/ready 200 and a successful write not seen within "
                             f"{give_up:.0f}s after the fault ended")
        return None


# ---------------------------------------------------------------- checks
def check_ledger(sc, label=""):
    pg = sc.h.pg
    bad = pg.sql("SELECT a.customer_id, a.balance, COALESCE(SUM(e.points), 0) FROM loyalty_accounts a "
                 "LEFT JOIN ledger_entries e ON e.customer_id = a.customer_id GROUP BY a.customer_id, a.balance "
                 "HAVING a.balance <> COALESCE(SUM(e.points), 0) OR a.balance < 0")
    n = pg.sql("SELECT (SELECT count(*) FROM loyalty_accounts), (SELECT count(*) FROM ledger_entries)")[0]
    for cid, bal, total in bad[:5]:
        sc.failures.append(f"account {cid}{label}: balance {bal} but entries sum to {total}")
    return f"accounts {n[0]} entries {n[1]} balance-mismatch {len(bad)}"


def applied_counts(sc):
    """key -> number of effects found in the database (per kind)."""
    pg, counts = sc.h.pg, {}
    queries = {
        "adjust": "SELECT reason, count(*) FROM ledger_entries WHERE reason LIKE 'fault-op %' GROUP BY reason",
        "ticket": "SELECT subject, count(*) FROM tickets WHERE subject LIKE 'fault-op %' GROUP BY subject",
        "comp": "SELECT note, count(*) FROM ticket_compensations WHERE note LIKE 'fault-op %' GROUP BY note",
    }
    for kind, q in queries.items():
        for tag, c in pg.sql(q):
            counts[(kind, tag[len("fault-op "):])] = int(c)
    # every approved points compensation posted exactly one ledger entry for its ticket
    comp_mismatch = pg.sql(
        "SELECT t.id, (SELECT count(*) FROM ticket_compensations c WHERE c.ticket_id = t.id AND c.kind = 'points' "
        "AND c.state = 'approved'), (SELECT count(*) FROM ledger_entries e WHERE e.kind = 'compensation' "
        "AND e.source_id = t.id) FROM tickets t")
    comp_mismatch = [row for row in comp_mismatch if row[1] != row[2]]
    return counts, comp_mismatch


def check_exactly_once(sc):
    counts, comp_mismatch = applied_counts(sc)
    acked = [op for op in sc.ops if op.acked]
    others = [op for op in sc.ops if not op.acked]
    lost = [op for op in acked if counts.get((op.kind, op.key), 0) == 0]
    dup = [op for op in sc.ops if counts.get((op.kind, op.key), 0) > 1]
    for what, lst in (("acknowledged but not applied", lost), ("applied more than once", dup)):
        if lst:
            ex = ", ".join(f"{o.kind}:{o.key}x{counts.get((o.kind, o.key), 0)}" for o in lst[:3])
            sc.failures.append(f"{len(lst)} keys {what} (e.g. {ex})")
    for tid, n_comp, n_entries in comp_mismatch[:3]:
        sc.failures.append(f"ticket {tid}: {n_comp} approved points compensations but "
                           f"{n_entries} compensation ledger entries")
    applied_unacked = sum(1 for o in others if counts.get((o.kind, o.key), 0) == 1)
    said_applied = [o for o in others if o.applied_lost]
    wrong = [o for o in said_applied if counts.get((o.kind, o.key), 0) != 1]
    if wrong:
        sc.failures.append(f"{len(wrong)} keys answered 'already applied' but applied "
                           f"{counts.get((wrong[0].kind, wrong[0].key), 0)} times")
    return (f"acked {len(acked)} once {len(acked) - len(lost) - sum(1 for o in dup if o.acked)} "
            f"lost {len(lost)} dup {len(dup)} | unacked {len(others)} (applied {applied_unacked}, "
            f"answered 'already applied' {len(said_applied)})")


def check_replays(sc, sample):
    acked = [op for op in sc.ops if op.acked]
    if sample and len(acked) > sample:
        acked = random.sample(acked, sample)
    bad, lock = [], threading.Lock()

    def worker(chunk):
        for op in chunk:
            r = request(sc.servers[0].base, "POST", op.path, op.body, sc.token, op.key)
            problem = None
            if r.status != op.acked.status:
                problem = f"status {r.status or r.error} (first answer {op.acked.status})"
            elif r.body != op.acked.body:
                problem = "another body than the first answer"
            elif r.headers.get("idempotent-replayed") != "true":
                problem = f"Idempotent-Replayed: {r.headers.get('idempotent-replayed')}"
            if problem:
                with lock:
                    bad.append(f"{op.kind}:{op.key}: {problem} {r.body[:120]!r}")

    ts = [threading.Thread(target=worker, args=(acked[i::8],)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if bad:
        sc.failures.append(f"{len(bad)}/{len(acked)} replays differ, e.g. " + "; ".join(bad[:3]))
    return f"replay {len(acked) - len(bad)}/{len(acked)} ok"


def in_windows(t, windows, slack=0.0):
    return any(a - slack <= t <= b + slack for a, b in windows)


def check_answers(sc):
    five, bad503, other4xx, transport, lat503 = [], [], [], [], []
    for group, kind, r in sc.attempts:
        if r.status is None:
            if not in_windows(r.start, sc.dead, slack=0.5):
                transport.append(f"{kind}: {r.error} after {r.latency:.1f}s")
        elif r.status == 503:
            if in_windows(r.start, sc.windows):
                lat503.append(r.latency)
            ct = r.headers.get("content-type", "")
            if "retry-after" not in r.headers or "problem+json" not in ct:
                bad503.append(f"{kind}: Retry-After={r.headers.get('retry-after')} content-type={ct}")
        elif r.status >= 500:
            five.append(f"{kind} {r.status} {'in' if in_windows(r.start, sc.windows) else 'outside'} "
                        f"the fault window: {r.body[:100]!r}")
        elif 400 <= r.status < 500 and r.status not in (409, 429):
            other4xx.append(f"{kind} {r.status}: {r.body[:120]!r}")
    for what, lst in (("5xx other than 503", five), ("503 without Retry-After/problem+json", bad503),
                      ("unexpected 4xx", other4xx), ("transport errors/timeouts", transport)):
        if lst:
            sc.failures.append(f"{len(lst)} {what}, e.g. " + "; ".join(lst[:2]))
    n409 = sum(1 for _, _, r in sc.attempts if r.status == 409)
    return (f"attempts {len(sc.attempts)} | 503 {len(lat503)} in window (p50 {ms(pct(lat503, 50))} "
            f"max {ms(max(lat503, default=0))}) | other-5xx {len(five)} 409 {n409} transport {len(transport)}")


def finish(sc, replay_sample=200):
    sc.figures.append(check_answers(sc))
    sc.figures.append(check_ledger(sc))
    counts = applied_counts(sc)[0]
    sc.figures.append(check_exactly_once(sc))
    if sc.recovered is False:  # replay against a fresh process so check 3 still tells something
        sc.figures.append("servers restarted for the replay check")
        try:
            for s in sc.servers:
                s.stop()
                s.start()
        except HarnessError as e:
            sc.failures.append(f"restart for the replay check failed: {e}")
    sc.figures.append(check_replays(sc, replay_sample))
    # the replays must not have applied anything again
    again = [k for k, n in applied_counts(sc)[0].items() if n > counts.get(k, 0)]
    if again:
        sc.failures.append(f"the replays applied {len(again)} keys again, e.g. {again[0][0]}:{again[0][1]}")
    check_ledger(sc, label=" after replays")


# ---------------------------------------------------------------- scenarios
def run_outage(h, name, fault, warmup=4, replay_sample=200):
    """Default load, then `fault()` (which returns figures to report), then recovery checks."""
    sc = Scenario(h, name)
    sc.start_default_load()
    time.sleep(warmup)
    t0 = time.time()
    sc.figures.extend(fault())
    sc.windows.append((t0, time.time()))
    sc.measure_recovery()
    time.sleep(3)
    sc.stop_load(drain=20)
    finish(sc, replay_sample=replay_sample)
    return sc


def run_pg_stop(h):
    def fault():
        h.pg.stop("fast")
        time.sleep(15)
        h.pg.start()
        return []
    return run_outage(h, "pg-stop", fault)


def run_pg_terminate(h):
    def fault():
        killed = 0
        for _ in range(3):
            killed += h.pg.terminate_backends()
            time.sleep(2)
        return [f"terminated {killed} backends"]
    return run_outage(h, "pg-terminate", fault)


def run_pg_crash(h):
    def fault():
        h.pg.stop("immediate")
        time.sleep(5)
        h.pg.start()
        return []
    # every acknowledged answer must have survived the crash
    return run_outage(h, "pg-crash", fault, warmup=5, replay_sample=0)


def run_server_kill(h):
    sc = Scenario(h, "server-kill")
    sc.start_default_load()
    time.sleep(5)
    srv = sc.servers[0]
    t0 = time.time()
    srv.kill9()
    time.sleep(2)
    ready = srv.start()
    sc.figures.append(f"down {ready - t0:.1f}s")
    sc.dead.append((t0, ready))
    sc.windows.append((t0, ready))
    sc.measure_recovery()
    time.sleep(3)
    sc.stop_load(drain=75)  # a key held by the killed process stays locked for its lease
    # how long did keys in flight at the kill answer 409 "still being processed" afterwards?
    stuck = []
    for op in sc.ops:
        late409 = [r for r in op.attempts
                   if r.status == 409 and r.start >= ready and b"already applied" not in r.body]
        if late409:
            done = op.acked or op.applied_lost
            end = done.start if done else time.time()
            stuck.append(end - late409[0].start)
    sc.figures.append(f"keys 409 after restart {len(stuck)} (max {max(stuck, default=0):.1f}s, "
                      f"p50 {pct(stuck, 50):.1f}s)")
    finish(sc)
    return sc


def run_row_lock(h):
    sc = Scenario(h, "row-lock")
    locked, others = sc.guests[0], sc.guests[1:]
    sc.start_workers(LOCKED_WRITERS, lambda: sc.new_op("adjust", locked), group="locked")
    sc.start_workers(WORKERS - LOCKED_WRITERS,
                     lambda: sc.new_op(random.choice(["adjust", "adjust", "comp"]), random.choice(others)),
                     group="others")
    sc.start_reader([f"/api/v1/customers/{g}/loyalty" for g in others], group="others")
    sc.start_reader(["/health/ready"], group="ready", pause=0.1)
    time.sleep(3)
    script = (f"BEGIN; SELECT customer_id FROM loyalty_accounts WHERE customer_id = '{locked}' FOR UPDATE; "
              "SELECT pg_sleep(20); COMMIT;")
    t0 = time.time()  # requests from here on may meet the lock
    proc = subprocess.Popen(h.pg.psql_cmd(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    proc.stdin.write(script.replace("; ", ";\n") + "\n")
    proc.stdin.close()
    for _ in range(100):  # the lock is held once the session sleeps
        if h.pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%' "
                    "AND state = 'active'")[0][0] != "0":
            break
        time.sleep(0.1)
    else:
        raise HarnessError("the locking psql session never started sleeping")
    if proc.wait(60) != 0:
        raise HarnessError(f"the locking psql session failed: {proc.stderr.read()}")
    sc.windows.append((t0, time.time()))
    sc.fault_end = time.time()
    sc.measure_recovery()
    time.sleep(3)
    sc.stop_load(drain=25)

    def during(group):
        return [r for g, _, r in sc.attempts if g == group and t0 <= r.start <= sc.windows[0][1] - 0.2]

    for group in ("others", "ready"):
        rs = during(group)
        lat = [r.latency for r in rs]
        not2xx = [r for r in rs if r.status is None or not 200 <= r.status < 300]
        sc.figures.append(f"{group} during lock: n {len(rs)} non-2xx {len(not2xx)} p99 {ms(pct(lat, 99))}")
        if pct(lat, 99) > 2.0:
            sc.failures.append(f"{group}: p99 latency {pct(lat, 99):.2f}s while one guest's row was locked (> 2 s)")
        if not2xx:
            ex = not2xx[0]
            sc.failures.append(f"{group}: {len(not2xx)}/{len(rs)} answers were not 2xx while one guest's row "
                               f"was locked, e.g. {ex.status or ex.error}")
    rs = during("locked")
    lat = [r.latency for r in rs]
    slow = [r for r in rs if r.latency > 5.5 or r.status is None]
    statuses = sorted({str(r.status or 'error') for r in rs})
    sc.figures.append(f"locked guest: n {len(rs)} statuses {','.join(statuses)} max {max(lat, default=0):.1f}s")
    if slow:
        sc.failures.append(f"locked guest: {len(slow)}/{len(rs)} requests hung > 5 s (or timed out at "
                           f"{TIMEOUT:.0f} s) instead of answering 503")
    wrong = [r for r in rs if r.status is not None and r.status not in (503, 409) and not 200 <= r.status < 300]
    if wrong:
        sc.failures.append(f"locked guest: {len(wrong)} answers neither 503 nor 409, e.g. {wrong[0].status}")
    finish(sc)
    return sc


def run_two_instances(h):
    sc = Scenario(h, "two-instances", instances=2)
    sc.start_workers(WORKERS, sc.mixed_op, everywhere=True)
    time.sleep(15)
    sc.stop_load(drain=20)
    # both instances must have acknowledged each key with the same answer
    by_key = {}
    for op in sc.ops:
        by_key.setdefault(op.key, []).append(op)
    differ = [k for k, ops in by_key.items() if all(o.acked for o in ops)
              and len({(o.acked.status, o.acked.body) for o in ops}) > 1]
    if differ:
        sc.failures.append(f"{len(differ)} keys answered differently by the two instances, e.g. {differ[0]}")
    sc.figures.append(f"keys {len(by_key)} differing answers {len(differ)}")
    # checks 2-3 on one submission per key; an op counts as acked when any instance acked it
    primary = []
    for ops in by_key.values():
        acked = [o for o in ops if o.acked]
        primary.append(acked[0] if acked else ops[0])
    sc.ops = primary
    finish(sc)
    return sc


def run_audit_crash(h):
    """Unmasked reads share audit commits (group commit): under load, kill -9 the server, then
    crash PostgreSQL; every read answered 200 must have its audit row (by request id)."""
    sc = Scenario(h, "audit-crash")
    paths = [f"/api/v1/customers/{g}" for g in sc.guests] + [f"/api/v1/customers?limit=5&q=fault{len(sc.guests) - 1}"]
    for _ in range(WORKERS):
        sc.start_reader(paths, group="audited", pause=0)
    time.sleep(3)
    srv = sc.servers[0]
    srv.kill9()
    time.sleep(1)
    srv.start()
    time.sleep(3)
    h.pg.stop("immediate")
    time.sleep(3)
    h.pg.start()
    sc.measure_recovery()
    time.sleep(3)
    sc.stop_load(drain=5)
    acked = {r.headers.get("x-request-id") for g, _, r in sc.attempts if g == "audited" and r.status == 200}
    stored = {row[0] for row in h.pg.sql("SELECT request_id FROM audit_log "
                                         "WHERE action IN ('customer.read_unmasked', 'customer.list_unmasked')")}
    missing = acked - stored
    statuses = {}
    for g, _, r in sc.attempts:
        if g == "audited":
            statuses[str(r.status or "error")] = statuses.get(str(r.status or "error"), 0) + 1
    sc.figures.append(f"audited reads {dict(sorted(statuses.items()))} rows {len(stored)} "
                      f"acknowledged without a row {len(missing)}")
    if None in acked:
        sc.failures.append("a 200 answer carried no x-request-id")
    if missing:
        sc.failures.append(f"{len(missing)} acknowledged unmasked reads have no audit row, e.g. {sorted(missing)[0]}")
    if len(acked) < 100:
        sc.failures.append(f"only {len(acked)} reads acknowledged: the load did not run")
    bad = [s for s in statuses if s not in ("200", "503", "error")]
    if bad:
        sc.failures.append(f"answers other than 200/503 during the crashes: {bad}")
    return sc


RUNNERS = {"pg-stop": run_pg_stop, "pg-terminate": run_pg_terminate, "pg-crash": run_pg_crash,
           "server-kill": run_server_kill, "row-lock": run_row_lock, "two-instances": run_two_instances,
           "audit-crash": run_audit_crash}


# ---------------------------------------------------------------- main
class Harness:
    def __init__(self, binary, keep):
        self.binary, self.keep = os.path.abspath(binary), keep
        self.root = tempfile.mkdtemp(prefix="concierge-faults-")
        os.chmod(self.root, 0o755)
        self.servers = []
        try:
            self.pg = Postgres(self.root)
        except Exception:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def stop_servers(self):
        for s in self.servers:
            s.stop()
        self.servers = []

    def cleanup(self):
        self.stop_servers()
        if self.keep:
            print(f"kept {self.root} (PostgreSQL on port {self.pg.port}, still running)")
            return
        self.pg.stop("immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--scenario", action="append", choices=SCENARIOS)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"faults: {args.binary} is not an executable")
    names = args.scenario or SCENARIOS
    started = time.time()
    h = Harness(args.binary, args.keep)
    results = []
    try:
        for name in names:
            t = time.time()
            try:
                sc = RUNNERS[name](h)
                failures, figures = sc.failures, sc.figures
            except Exception as e:  # a broken scenario must not stop the next ones
                failures, figures = [f"harness error: {e}"], []
                traceback.print_exc()
            ok = not failures
            print(f"{'PASS' if ok else 'FAIL'} {name} ({time.time() - t:.0f}s): " + " | ".join(figures), flush=True)
            for f in failures:
                print(f"    - {f}")
            if not ok:
                for s in h.servers:
                    print(f"  log tail of {s.name} ({s.log}):\n{s.tail(15)}")
            results.append((name, ok))
            h.stop_servers()
            if not h.pg.running():
                h.pg.start()
    finally:
        h.cleanup()
    bad = [n for n, ok in results if not ok]
    print(f"faults: {len(results) - len(bad)}/{len(results)} scenarios passed in {time.time() - started:.0f}s"
          + (f"; failed: {', '.join(bad)}" if bad else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
