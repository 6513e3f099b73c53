#!/usr/bin/python3
"""`zorgpad serve` on PostgreSQL: the write API suite of tests/cli/web_write_api.py, on a practice of a
PostgreSQL database (tests/lib/zorgpad_web.py's api_suite, the same checks as on SQLite).

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3 pg_web_api.py ZORGPAD_BINARY` (ctest does):
it needs ZORGPAD_PG_URL (an application role) and the superuser's PG* variables (pg_virtualenv's), or
ZORGPAD_PG_ADMIN (psql arguments of the superuser), with which psql reads the rows a write could change,
past row-level security.

serve runs with `--db $ZORGPAD_PG_URL --practice pa`; users: a therapist and a practice admin of pa, a
coordinator, a GP, and a therapist of a second practice pb. Besides the suite's checks (seeding through
the write API only, every route, roles, exactly once, If-Match, refused events with the CLI's line,
import errors, bad input, users, the audit log, then the OpenAPI check of every exchange), on PostgreSQL:

- "nothing written" compares the rows of every table outside the audit log (counts of all practices, the
  rows of the episodes concerned, the small tables whole), read by the superuser;
- the practices: a therapist of pa naming pb with ?practice= gets 403 on reads and writes and nothing is
  written; pb's episode, opened and imported by pb's therapist through the API, is not seen, listed or
  written by pa's therapist (404); the coordinator lists both practices, reads pb with ?practice=, pa by
  default, and records in neither (403); a practice admin cannot revoke pb's user.
"""
import os
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zorgpad_web as web  # noqa: E402

NAME = "pg_web_api"
PRACTICE, FOREIGN = "pa", "pb"


class Psql:
    """One psql session of the superuser, kept open (a new psql costs a connection and a process)."""

    def __init__(self):
        admin = os.environ.get("ZORGPAD_PG_ADMIN")
        where = shlex.split(admin) if admin else ["-d", "zorgpad"]
        self.p = subprocess.Popen(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0", *where],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)

    def run(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __end_of_output__ :SQLSTATE\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                web.abort(f"psql ended: {''.join(out)[-300:]}")
            if line.startswith("__end_of_output__ "):
                break
            out.append(line)
        if line.split()[1] != "00000" or any("ERROR:" in x for x in out):
            web.abort(f"psql {sql[:100]!r}: {''.join(out).strip()[:300]}")
        return "".join(out)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def pg_dump(sql, episodes):
    """What a write could change (the audit log left out: a refused write adds its row there): every
    table's rows in all practices, counted; the rows of the given episodes of the served practice; the
    small tables whole."""
    parts = []
    for t in ("episodes", "events", "tasks", "timers", "ticks", "episode_counts", "practices", "users", "meta"):
        parts.append(f"SELECT '{t}: ' || count(*) FROM zorgpad.{t};")
    for t in ("episode_counts", "practices", "users", "meta"):
        parts.append(f"SELECT '{t}|' || x::text FROM zorgpad.{t} x ORDER BY x::text;")
    if episodes:
        ids = ", ".join(lit(e) for e in episodes)
        parts.append(f"SELECT 'episodes|' || x::text FROM zorgpad.episodes x WHERE practice = '{PRACTICE}' "
                     f"AND id IN ({ids}) ORDER BY id;")
        for t, order in (("events", "episode, seq"), ("tasks", "id"), ("timers", "episode, due"),
                         ("ticks", "episode, after_seq")):
            parts.append(f"SELECT '{t}|' || x::text FROM zorgpad.{t} x WHERE practice = '{PRACTICE}' "
                         f"AND episode IN ({ids}) ORDER BY {order};")
    return sql.run("\n".join(parts))


def main():
    if len(sys.argv) < 2:
        print("usage: pg_web_api.py ZORGPAD_BINARY", file=sys.stderr)
        return 2
    url = os.environ.get("ZORGPAD_PG_URL")
    if not url:
        print("ZORGPAD_PG_URL not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    binary = os.path.abspath(sys.argv[1])
    t0 = time.monotonic()
    sql = Psql()
    with tempfile.TemporaryDirectory(prefix="zorgpad-pg-web-") as tmp:
        exchanges = os.environ.get("ZORGPAD_EXCHANGES") or os.path.join(tmp, "exchanges.ndjson")
        web.set_exchanges(exchanges)
        backend = web.Backend("postgresql", binary, url, tmp, practice=PRACTICE, foreign=FOREIGN,
                              dump=lambda eids: pg_dump(sql, eids))
        web.ApiSuite(backend).run()
        web.openapi_check(exchanges, NAME)
    sql.close()
    web.finish(NAME, t0)


if __name__ == "__main__":
    sys.exit(main())
