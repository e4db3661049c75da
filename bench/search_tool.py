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


def sqlite_sql(kind):
    cols = ("id, given_name, family_name, email, email_norm, phone, gender, nationality, language, birth_date, "
            "company, job_title, address, preferred_channel, grade, grade_override, grade_override_reason, "
            "lifecycle_stage, source_channel, preferences, special_dates, id_doc_type, id_doc_country, "
            "id_doc_number_enc, id_doc_key_id, id_doc_last4, search_text, version, created_at, updated_at")
    sql = (f"SELECT {', '.join('`customers`.`' + c.strip() + '`' for c in cols.split(','))} FROM `customers` "
           "WHERE (customers.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts.search_text LIKE ?) "
           "AND (`customers`.`search_text` LIKE ? ESCAPE '\\'))")
    if kind == "tag":
        sql += (" AND (`customers`.`id` IN (SELECT `customer_tags`.`customer_id` FROM `customer_tags` "
                "WHERE (`customer_tags`.`tag` = ?)))")
    if kind == "grade":
        sql += (" AND ((`customers`.`grade_override` = ?) OR ((`customers`.`grade_override` IS NULL) "
                "AND (`customers`.`grade` = ?)))")
    return sql + " ORDER BY `customers`.`id` ASC LIMIT ?"


def sqlite_plans(db_file, outdir, limit):
    import sqlite3
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    print(f"  (python's SQLite {sqlite3.sqlite_version}; the server links its own bundled SQLite)")
    for kind in KINDS + ["short"]:
        params = []
        for p in open(f"{outdir}/{kind}.paths").read().split():
            qs = dict(urllib.parse.parse_qsl(p.split("?", 1)[1]))
            text = qs["q"].strip().lower()
            esc = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args = [f"%{text}%", f"%{esc}%"]
            if kind == "tag":
                args.append(qs["tag"])
            if kind == "grade":
                args += [qs["grade"], qs["grade"]]
            params.append(args + [int(limit) + 1])
        sql = sqlite_sql(kind)
        plan = con.execute("EXPLAIN QUERY PLAN " + sql, params[0]).fetchall()
        times = []
        for args in params[:40]:
            t0 = time.perf_counter()
            con.execute(sql, args).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        fts = any("customers_fts" in r[3] and "VIRTUAL TABLE INDEX" in r[3] for r in plan)
        print(f"--- {kind}: SQL alone over {len(times)} queries: p50 {statistics.median(times):.2f} ms, "
              f"max {times[-1]:.2f} ms; FTS5 trigram index used: {'yes' if fts else 'NO'}")
        for r in plan:
            print(f"    {r[0]:>3} {r[1]:>3}  {r[3]}")
    print("  SQL of kind grade (the others without its last condition; tag with the customer_tags IN instead):")
    print("    SELECT <the 30 columns of customers> FROM " + sqlite_sql("grade").split(" FROM ", 1)[1])


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    sys.exit({"queries": queries, "check-search-text": check_search_text, "pg-plans": pg_plans,
              "sqlite-plans": sqlite_plans}[cmd](*args) or 0)
