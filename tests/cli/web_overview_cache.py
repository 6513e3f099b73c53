"""serve's overview cache (docs/serve.md): the same overview asked again before
anything changed comes from memory, and anything that changes an episode
(a command through the CLI in another process, a tick, a write through the
API) shows in the next answer; every answer, cached or not, is audited.

Run: python3 web_overview_cache.py ZORGPAD_BINARY
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

ZP = os.path.abspath(sys.argv[1])
TODAY = "2026-06-20"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def zp(db, *args, stdin=None):
    return subprocess.run([ZP, "--db", db, "--today", TODAY, *args], input=stdin, capture_output=True, text=True, timeout=60)


def get(base, path, token):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def audit_rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM audit WHERE action = 'overview.read'").fetchone()[0]
    finally:
        con.close()


def urgent_ids(ov):
    return sorted(t["episode"]["id"] if isinstance(t.get("episode"), dict) else t.get("episode") for t in ov["urgent"]["items"])


def main():
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "c.db")
        open_ev = {"type": "open", "at": "2026-06-08", "onset": "2026-06-01", "complaint": "lbp", "age": 58}
        check(zp(db, "init").returncode == 0, "init")
        check(zp(db, "open", "--id", "ep-1", "--patient", "P1", "-", stdin=json.dumps(open_ev)).returncode == 0, "open ep-1")
        check(zp(db, "open", "--id", "ep-2", "--patient", "P2", "-", stdin=json.dumps(open_ev)).returncode == 0, "open ep-2")
        token = zp(db, "user", "add", "--name", "Cora", "--role", "coordinator").stdout.strip().splitlines()[-1]
        p = subprocess.Popen([ZP, "--db", db, "--today", TODAY, "serve", "--port", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            base = re.search(r"serving (\S+)", p.stdout.readline()).group(1).rstrip("/")
            first = get(base, "/api/overview", token)
            again = get(base, "/api/overview", token)
            check(first == again and first["urgent"]["total"] == 0, "the same overview twice: the same answer, no urgent task")
            check(audit_rows(db) == 2, f"each answer audited, the cached one too ({audit_rows(db)} rows)")

            # Another process records a red-flag screening: an urgent review task.
            screening = {"type": "screening", "at": "2026-06-08", "red_flags": ["fever_chills", "iv_drug_use"], "exclusions": []}
            r = zp(db, "record", "ep-1", "-", stdin=json.dumps(screening))
            check(r.returncode == 0, f"record through the CLI: {r.stderr.strip()}")
            after = get(base, "/api/overview", token)
            check(after["urgent"]["total"] == 1, f"a CLI write shows in the next overview (urgent {after['urgent']['total']})")
            cli = json.loads(zp(db, "overview", "--json").stdout)
            check(after == cli, "the overview after the write equals the CLI's")

            # A filter is its own entry; the unfiltered one stays right.
            filtered = get(base, "/api/overview?state=intake", token)
            check(filtered["episodes"] == 1, f"?state=intake: one episode ({filtered['episodes']})")
            check(get(base, "/api/overview", token) == after, "the unfiltered overview is still the one after the write")

            # A tick (timers fired by another process) shows too: the phase changes over weeks.
            before_phase = get(base, "/api/overview", token)["counts"]["phase"]
            r = subprocess.run([ZP, "--db", db, "tick", "--now", "2026-08-01"], capture_output=True, text=True, timeout=60)
            check(r.returncode == 0, f"tick through the CLI: {r.stderr.strip()}")
            check(get(base, "/api/overview", token)["counts"]["phase"] != before_phase, "a tick shows in the next overview")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        check(p.returncode == 0, "serve stops cleanly")
    if failures:
        print(f"web_overview_cache: {len(failures)} failed")
        return 1
    print("web_overview_cache: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
