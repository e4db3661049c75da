#!/usr/bin/env python3
"""Helpers of bench/search.sh (a benchmark, not a test). Subcommands:

  queries BASE TOKEN GUESTS OUTDIR LIMIT
      reads 200 seeded guests through the API and writes one file of request paths per query
      kind (OUTDIR/<kind>.paths: name, email, phone, tag, grade, short), each line a different
      realistic substring; prints examples and the page sizes the first 30 answer.
  check-search-text BASE TOKEN DB_URL
      PATCHes three seeded guests with their own given name, so the server rebuilds their
      search_text, and checks it equals what the seed wrote (guest with email and phone, without
      email, without phone). Also reports whether a phone typed with its + finds its guest.
  pg-plans LOGFILE DB_NAME MARKS
      prints, per query kind, the auto_explain plan (EXPLAIN ANALYZE) of the guest search the
      server ran: the slowest and whether it used customers_search_trgm_idx; MARKS is the file of
      "<kind> <log offset before> <log offset after>" lines search.sh wrote.
  sqlite-plans DB_FILE OUTDIR LIMIT
      EXPLAIN QUERY PLAN and direct timings of the guest search SQL the server runs on SQLite
      (src/features/guests/search.rs + src/db/dialect.rs customer_text_hit), per query kind.
"""
import json
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

KINDS = ["name", "email", "phone", "tag", "grade"]


def call(base, path, token, method="GET", body=None, headers=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("authorization", "Bearer " + token)
    if body is not None:
        req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def guest_id(n):
    return f"00000000-0000-7000-9000-{n:012d}"


def search_path(limit, q, **extra):
    params = {"q": q, **extra, "limit": str(limit)}
    return "/api/v1/customers?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def queries(base, token, guests, outdir, limit):
    guests = int(guests)
    sample = [call(base, "/api/v1/customers/" + guest_id(1 + (k * 4999) % guests), token) for k in range(200)]
    out = {k: [] for k in KINDS + ["short"]}
    for i, c in enumerate(sample):
        given, family = c["given_name"].lower(), c["family_name"].lower()
        # name: what reception types — a family name, "given fam…", the family+given run, a given prefix
        out["name"].append([family, f"{given} {family[:3]}", family + given,
                            given[:5] if len(given) >= 3 else family][i % 4])
        email = c.get("email")
        if email:
            local, domain = email.lower().split("@")
            out["email"].append([local, local[-8:] + "@" + domain[:3], email.lower()][i % 3])
        phone = c.get("phone")
        if phone:
            digits = phone.lstrip("+")
            out["phone"].append([digits[-8:], digits[3:10], digits][i % 3])
        tag = "vip:airport-pickup" if i % 4 == 0 else (c.get("tags") or ["business"])[0]
        out["tag"].append((family, {"tag": tag}))
        out["grade"].append((family, {"grade": ["vip", "vvip", "member", "corporate"][i % 4]}))
        out["short"].append(given[:2])
    for kind, qs in out.items():
        paths = [search_path(limit, q) if isinstance(q, str) else search_path(limit, q[0], **q[1]) for q in qs]
        with open(f"{outdir}/{kind}.paths", "w") as f:
            f.write("\n".join(paths) + "\n")
        sizes = []
        for p in paths[:30]:
            sizes.append(len(call(base, p, token)["data"]))
        ex = ", ".join(urllib.parse.unquote(p.split("?", 1)[1].rsplit("&limit", 1)[0]) for p in paths[:3])
        print(f"  {kind:6} {len(paths)} queries, e.g. {ex}; page sizes of the first 30: "
              f"median {statistics.median(sizes):.0f}, full ({limit}) {sum(s == int(limit) for s in sizes)}, "
              f"empty {sum(s == 0 for s in sizes)}")


def db_search_text(db_url, gid):
    if db_url.startswith("sqlite://"):
        import sqlite3
        con = sqlite3.connect(db_url[len("sqlite://"):])
        try:
            return con.execute("SELECT search_text FROM customers WHERE id = ?", (gid,)).fetchone()[0]
        finally:
            con.close()
    out = subprocess.run(["psql", db_url, "-tAc", f"SELECT search_text FROM customers WHERE id = '{gid}'"],
                         check=True, capture_output=True, text=True)
    return out.stdout.rstrip("\n")


def check_search_text(base, token, db_url):
    ok = 0
    for n, what in [(1, "email and phone"), (3, "no email"), (5, "no phone")]:
        gid = guest_id(n)
        seeded = db_search_text(db_url, gid)
        c = call(base, "/api/v1/customers/" + gid, token)
        call(base, "/api/v1/customers/" + gid, token, "PATCH", {"given_name": c["given_name"]})
        rebuilt = db_search_text(db_url, gid)
        same = seeded == rebuilt
        ok += same
        print(f"  guest {n} ({what}): seeded {seeded!r} {'==' if same else '!='} server-built {rebuilt!r}")
    c = call(base, "/api/v1/customers/" + guest_id(1), token)
    plus = call(base, search_path(20, c["phone"]), token)["data"]
    bare = call(base, search_path(20, c["phone"].lstrip("+")), token)["data"]
    print(f"  q={c['phone']} (phone as typed, with +) finds {len(plus)} guest(s); "
          f"q={c['phone'].lstrip('+')} finds {len(bare)}")
    print(f"  search_text as seeded == as the server builds it: {ok}/3")
    return 0 if ok == 3 else 1


PLAN_START = re.compile(r"^\S+ \S+ \S+ \[\d+\] \S*@(\S+) LOG:  duration: ([\d.]+) ms  plan:")


def pg_plans(logfile, dbname, marks):
    with open(logfile, "rb") as f:
        log = f.read()
    for line in open(marks):
        kind, start, end = line.split()
        blocks, cur = [], None
        for raw in log[int(start):int(end)].decode("utf-8", "replace").splitlines():
            m = PLAN_START.match(raw)
            if m:
                cur = [float(m.group(2)), []] if m.group(1) == dbname else None
                if cur:
                    blocks.append(cur)
            elif cur is not None and (raw.startswith("\t") or raw.startswith(" ")):
                cur[1].append(raw.strip("\t"))
            else:
                cur = None
        search = [b for b in blocks if b[1] and 'FROM "customers"' in b[1][0] and "search_text" in b[1][0]]
        if not search:
            print(f"--- {kind}: no plan of the guest search in the log segment")
            continue
        durs = sorted(b[0] for b in search)
        uses = sum("customers_search_trgm_idx" in "\n".join(b[1]) for b in search)
        generic = sum(any("~~ $" in l for l in b[1]) for b in search)
        slow = max(search, key=lambda b: b[0])
        print(f"--- {kind}: {len(search)} searches, SQL time p50 {statistics.median(durs):.2f} ms, max {durs[-1]:.2f} ms;"
              f" trigram index used in {uses}/{len(search)}; generic plan (pattern as $n) in {generic}/{len(search)}")
        print("    slowest, EXPLAIN ANALYZE as auto_explain logged it:")
        for l in slow[1]:
            print("    " + l)


FEW_MATCHES = 1000  # src/db/dialect.rs


def sqlite_search(con, text, tag, grade, limit):
    """The statements the server runs for one search on SQLite (src/features/guests/search.rs,
    src/db/dialect.rs text_plan): a whole email/phone is not modelled here (none in these kinds).
    Returns (plan, [(sql, args)]) with the statements of the page, in order."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmts = []
    ids = None
    if len(text) >= 3:
        probe = ("SELECT id FROM customers WHERE customers.rowid IN (SELECT rowid FROM customers_fts "
                 f"WHERE customers_fts.search_text LIKE ? LIMIT {FEW_MATCHES + 1})")
        stmts.append((probe, [f"%{text}%"]))
        ids = [r[0] for r in con.execute(probe, [f"%{text}%"])]
    where, args = [], []
    plan = "candidates" if ids is not None and len(ids) <= FEW_MATCHES else "walk"
    if plan == "candidates":
        where.append(f"customers.id IN ({','.join('?' * len(ids))})")
        args += ids
    where.append("customers.search_text LIKE ? ESCAPE '\\'")
    args.append(like)
    if tag:
        where.append("EXISTS (SELECT 1 FROM customer_tags WHERE customer_tags.customer_id = customers.id "
                     "AND customer_tags.tag = ?)")
        args.append(tag)
    if grade:
        where.append("coalesce(customers.grade_override, customers.grade) = ?")
        args.append(grade)
    sql = "SELECT * FROM customers WHERE " + " AND ".join(where)
    if not (tag and plan == "walk"):
        stmts.append((sql + " ORDER BY id LIMIT ?", args + [limit + 1]))
        con.execute(*stmts[-1]).fetchall()
        return plan, stmts
    # The tag's guests drive the walk, in chunks of 4 per row of the page growing fourfold.
    plan, after, chunk, found = "walk by tag", "", 4 * (limit + 1), 0
    while True:
        q = "SELECT customer_id FROM customer_tags WHERE tag = ? AND customer_id > ? ORDER BY customer_id LIMIT ?"
        cids = [r[0] for r in con.execute(q, [tag, after, chunk])]
        stmts.append((q, [tag, after, chunk]))
        page = (sql + f" AND customers.id IN ({','.join('?' * len(cids))}) ORDER BY id LIMIT ?",
                args + cids + [limit + 1 - found])
        stmts.append(page)
        found += len(con.execute(*page).fetchall())
        if found > limit or len(cids) < chunk:
            return plan, stmts
        after, chunk = cids[-1], min(chunk * 4, 4096)


def sqlite_plans(db_file, outdir, limit):
    import sqlite3
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    limit = int(limit)
    print(f"  (python's SQLite {sqlite3.sqlite_version}; the server links its own bundled SQLite)")
    for kind in KINDS + ["short"]:
        times, plans, shown = [], {}, {}
        for p in open(f"{outdir}/{kind}.paths").read().split()[:40]:
            qs = dict(urllib.parse.parse_qsl(p.split("?", 1)[1]))
            t0 = time.perf_counter()
            plan, stmts = sqlite_search(con, qs["q"].strip().lower(), qs.get("tag"), qs.get("grade"), limit)
            times.append((time.perf_counter() - t0) * 1000)
            plans[plan] = plans.get(plan, 0) + 1
            shown.setdefault(plan, stmts[-1])
        times.sort()
        print(f"--- {kind}: the statements alone over {len(times)} searches: p50 {statistics.median(times):.2f} ms, "
              f"max {times[-1]:.2f} ms; plans: " + ", ".join(f"{k} {v}" for k, v in sorted(plans.items())))
        for plan, (sql, args) in sorted(shown.items()):
            print(f"    {plan}: " + "; ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, args)))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    sys.exit({"queries": queries, "check-search-text": check_search_text, "pg-plans": pg_plans,
              "sqlite-plans": sqlite_plans}[cmd](*args) or 0)
