#!/usr/bin/python3
"""Issue 16's findings through the CLI: a date near the year 3000 keeps the
episode readable and no failing command commits; a NUL byte in input is an
error that writes nothing; exports holding patient data are 0600; a control
character in a stored value is shown, not sent to the terminal; errors cut a
long echoed value.

Run as `python3 hardening_cli.py ZORGPAD_BINARY` (ctest does).
"""
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(db, *args, stdin=None, today="2026-05-04"):
    cmd = [ZORGPAD, "--db", db, "--today", today] + list(args)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(cmd, input=data, capture_output=True)


def ok(db, *args, stdin=None):
    r = run(db, *args, stdin=stdin)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr.decode()}")
    return r.stdout.decode()


def dump(db):
    con = sqlite3.connect(db)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


OPEN = {"type": "open", "at": "2026-05-04", "onset": "2026-04-30", "complaint": "lbp", "age": 53}


def year_3000(tmp):
    """The issue's reproduction: the stratification dated 2999-12-31 sets
    checkpoints in the year 3000; it must commit and read back, or neither."""
    db = os.path.join(tmp, "y3000.db")
    ok(db, "init")
    ok(db, "open", "--id", "e1", "-", stdin=json.dumps(OPEN))
    ok(db, "record", "e1", "-", stdin=json.dumps({"type": "screening", "at": "2026-05-04", "red_flags": [], "exclusions": []}))
    r = run(db, "record", "e1", "-", stdin=json.dumps({"type": "stratification", "at": "2999-12-31", "factors": {}, "profile": 1}))
    check(r.returncode == 0, f"the stratification at 2999-12-31 is recorded ({r.returncode}: {r.stderr.decode().strip()})")
    shown = run(db, "show", "e1", "--json")
    check(shown.returncode == 0, f"show after it works ({shown.returncode}: {shown.stderr.decode().strip()})")
    if shown.returncode == 0:
        tasks = json.loads(shown.stdout)["tasks"]
        check(any(t["due"].startswith("3000-") for t in tasks), f"a checkpoint lies in the year 3000: {tasks}")
    for args in (["fhir", "--all"], ["rebuild"], ["tasks"], ["overview"]):
        r = run(db, *args)
        check(r.returncode == 0, f"{' '.join(args)} after it works ({r.returncode}: {r.stderr.decode().strip()})")
    r = run(db, "rebuild")
    check(b"0 difference" in r.stdout, f"rebuild finds nothing to repair: {r.stdout.decode().strip()}")


def nul_bytes(tmp):
    db = os.path.join(tmp, "nul.db")
    ok(db, "init")
    ok(db, "open", "--id", "e1", "-", stdin=json.dumps(OPEN))
    before = dump(db)
    session = json.dumps({"type": "session", "at": "2026-05-05"}).encode()
    cases = [
        ("record", ["record", "e1", "-"], session + b"\0GARBAGE{{"),
        ("open", ["open", "--id", "e2", "-"], json.dumps(OPEN).encode() + b"\0"),
        ("import", ["import", "-"], json.dumps({"episode": "e1", "event": {"type": "session", "at": "2026-05-05"}}).encode()
         + b"\0{{\n"),
    ]
    for name, args, data in cases:
        r = run(db, *args, stdin=data)
        err = r.stderr.decode()
        check(r.returncode == 2 and "NUL" in err and err.count("\n") == 1,
              f"{name} with a NUL byte: exit 2, one line naming it ({r.returncode}: {err.strip()})")
        check(dump(db) == before, f"{name} with a NUL byte writes nothing")


def private_exports(tmp):
    db = os.path.join(tmp, "exp.db")
    ok(db, "init")
    ok(db, "open", "--id", "e1", "--patient", "P-1", "-", stdin=json.dumps(dict(OPEN, gp="Dokter Jansen")))
    ok(db, "record", "e1", "-", stdin=json.dumps({"type": "screening", "at": "2026-05-04", "red_flags": [], "exclusions": []}))
    old = os.umask(0o022)
    try:
        for args, name in ((["fhir", "--all"], "bundle.json"), (["calendar"], "tasks.ics"), (["fhir", "e1"], "one.json")):
            out = os.path.join(tmp, name)
            r = run(db, *args, "--out", out)
            check(r.returncode == 0, f"{' '.join(args)} --out ({r.returncode}: {r.stderr.decode().strip()})")
            if os.path.exists(out):
                mode = stat.S_IMODE(os.stat(out).st_mode)
                check(mode == 0o600, f"{' '.join(args)} --out writes mode {oct(mode)}, not 0o600")
    finally:
        os.umask(old)


def terminal_output(tmp):
    """A value stored by an older release may hold an escape sequence; the
    text output shows it instead of sending it to the terminal."""
    db = os.path.join(tmp, "esc.db")
    ok(db, "init")
    ok(db, "open", "--id", "e1", "--patient", "P-1", "-", stdin=json.dumps(OPEN))
    con = sqlite3.connect(db)
    (body,) = con.execute("SELECT body FROM episodes WHERE id = 'e1'").fetchone()
    j = json.loads(body)
    j["patient"] = "P-\x1b]0;owned\x07\x1b[2J"
    con.execute("UPDATE episodes SET body = ?, patient = ? WHERE id = 'e1'", (json.dumps(j, separators=(",", ":"), sort_keys=True),
                                                                          j["patient"]))
    con.commit()
    con.close()
    for args in (["show", "e1"], ["overview"], ["tasks"]):
        r = run(db, *args)
        check(r.returncode == 0, f"{' '.join(args)} ({r.returncode}: {r.stderr.decode().strip()})")
        check(b"\x1b" not in r.stdout and b"\x07" not in r.stdout, f"{' '.join(args)} prints no control character")
    check(b"\\x1B]0;owned" in run(db, "show", "e1").stdout, "show prints the escape as \\x1B")


def long_echo(tmp):
    db = os.path.join(tmp, "long.db")
    ok(db, "init")
    ok(db, "open", "--id", "e1", "-", stdin=json.dumps(OPEN))
    long_id = "x" * 100000
    for args, stdin in ((["record", long_id, "-"], json.dumps({"type": "session", "at": "2026-05-05"})),
                        (["record", long_id, "-"], "not json"),
                        (["show", long_id], None)):
        r = run(db, *args, stdin=stdin)
        err = r.stderr.decode()
        check(r.returncode == 2 and len(err) < 300, f"{args[0]} of a 100,000-character id: a short error ({len(err)} bytes)")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        year_3000(tmp)
        nul_bytes(tmp)
        private_exports(tmp)
        terminal_output(tmp)
        long_echo(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("hardening_cli: ok")


if __name__ == "__main__":
    main()
