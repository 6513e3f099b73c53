"""`zorgpad user` and `zorgpad audit` from the command line: bad input is exit
2 with one line and nothing written; `user list` never shows a token or its
hash; a revoked user stays listed as revoked.

Run: python3 user_cli.py ZORGPAD_BINARY
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

ZP = os.path.abspath(sys.argv[1])
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(db, *args):
    return subprocess.run([ZP, "--db", db, *args], capture_output=True, text=True, timeout=60)


def users(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, name, role, practice, gp, token_hash, revoked_at FROM users ORDER BY id").fetchall()
    finally:
        con.close()


def refused(db, what, *args, mentions=""):
    before = users(db)
    p = run(db, *args)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2 and len(lines) == 1 and p.stdout == "" and mentions in p.stderr,
          f"{what}: exit {p.returncode}, one line naming {mentions!r}: {p.stderr.strip()!r}")
    check(users(db) == before, f"{what}: nothing written")


def main():
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "u.db")
        check(run(db, "init").returncode == 0, "init")
        refused(db, "an unknown role", "user", "add", "--name", "X", "--role", "admin", "--practice", "A", mentions="--role")
        refused(db, "a therapist without a practice", "user", "add", "--name", "X", "--role", "therapist", mentions="--practice")
        refused(db, "a gp without a GP code", "user", "add", "--name", "X", "--role", "gp", mentions="--gp")
        refused(db, "a GP code on a therapist", "user", "add", "--name", "X", "--role", "therapist", "--practice", "A",
                "--gp", "G", mentions="--gp")
        refused(db, "a name with a newline", "user", "add", "--name", "a\nb", "--role", "coordinator", mentions="--name")
        refused(db, "revoke of an unknown user", "user", "revoke", "99", mentions="no user 99")
        p = run(db, "audit", "--since", "2026-13-01")
        check(p.returncode == 2 and "--since" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
              f"audit --since with a bad date: exit 2, one line ({p.stderr.strip()!r})")

        p = run(db, "user", "add", "--name", "Anna", "--role", "therapist", "--practice", "A")
        token = p.stdout.strip().splitlines()[-1]
        check(p.returncode == 0 and token.startswith("zp_1_"), f"user add prints the token once: {p.stdout.strip()!r}")
        p = run(db, "--practice", "B", "user", "add", "--name", "Ben", "--role", "practice_admin")
        check(p.returncode == 0 and users(db)[-1][3] == "B", "the global --practice names a practice admin's practice")
        check(run(db, "user", "revoke", "1").stdout.strip() == "user 1 revoked", "revoke")
        check(run(db, "user", "revoke", "1").stdout.strip() == "user 1 was revoked before", "revoke twice")
        listed = [json.loads(line) for line in run(db, "user", "list", "--json").stdout.splitlines()]
        check([u["name"] for u in listed] == ["Anna", "Ben"] and listed[0]["revoked_at"] is not None and
              listed[1]["revoked_at"] is None, f"user list --json: {listed}")
        text = run(db, "user", "list").stdout + run(db, "user", "list", "--json").stdout
        secret = token.rsplit("_", 1)[1]
        check(secret not in text and users(db)[0][5] not in text, "user list shows neither the token nor its hash")
        check([u["name"] for u in (json.loads(l) for l in run(db, "user", "list", "--json", "--of-practice", "B").stdout.splitlines())]
              == ["Ben"], "user list --of-practice B")
    if failures:
        print(f"user_cli: {len(failures)} failed")
        return 1
    print("user_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
