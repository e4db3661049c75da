#!/usr/bin/env python3
"""Runs a bench seed script on a SQLite database file (SQLite has no psql -v):

    python3 bench/sqlite_seed.py DB_FILE SCRIPT.sql name=value ...

Each `:name` in the script is replaced by its value, then the script runs in one go. The
session skips fsync while seeding (synchronous = OFF) and checkpoints the WAL at the end; the
data and schema are the server's.
"""
import re
import sqlite3
import sys
import time

db, script, *pairs = sys.argv[1:]
values = dict(p.split("=", 1) for p in pairs)
sql = re.sub(r":([a-z_]+)\b", lambda m: values.get(m.group(1), m.group(0)), open(script).read())
t0 = time.monotonic()
conn = sqlite3.connect(db, isolation_level=None)
conn.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;"
                   "PRAGMA temp_store = MEMORY;")
conn.executescript(sql)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the server starts on a settled file, not a 4 GB WAL
conn.close()
print(f"{script}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
