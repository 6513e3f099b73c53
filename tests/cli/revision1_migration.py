#!/usr/bin/python3
"""A store written by the revision-1 release opens, migrates and answers as before.

Run as `python3 revision1_migration.py ZORGPAD_BINARY` (ctest does), with
ZORGPAD_TESTS_DIR pointing at tests/. tests/data/revision1.db was written by
the release before pathway revision 2 (schema 4); tests/data/revision1-show.json
is what that release printed for `show ID --json` of each episode
(tests/data/README.md). On a copy of the database:

- every episode answers `show --json` with every field the old release
  printed, unchanged (scores.baseline/latest compared in the replay format's
  compact form, the one deliberate change), and says it follows revision 1;
- `rebuild` finds no difference: each log replays under revision 1's rules;
- the file is at the current schema version and a second open changes nothing;
- a new event on a revision-1 episode follows revision 1 (a reevaluation
  without a judgement is judged by the 30 % rule, as it was), while a
  revision-1 episode refuses a revision-2 field and a new episode opened in the
  same store follows revision 2 (the same reevaluation is refused);
- a revision-2 event type on a revision-1 episode is refused with exit 2 and
  nothing written.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS_DIR = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TESTS_DIR, "data")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(db, *args, stdin=None):
    return subprocess.run([ZORGPAD, "--db", db, "--today", "2026-12-02", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def subset(old, new, path):
    """Every key the old release printed is there with the same value."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{path}: was an object, now {json.dumps(new)[:80]}"]
        errs = []
        for k, v in old.items():
            errs += [f"{path}.{k}: missing"] if k not in new else subset(v, new[k], f"{path}.{k}")
        return errs
    if isinstance(old, list):
        if not isinstance(new, list) or len(old) != len(new):
            return [f"{path}: was {json.dumps(old)[:80]}, now {json.dumps(new)[:80]}"]
        errs = []
        for i, (a, b) in enumerate(zip(old, new)):
            errs += subset(a, b, f"{path}[{i}]")
        return errs
    return [] if old == new else [f"{path}: was {json.dumps(old)}, now {json.dumps(new)}"]


def dump(db):
    """The database as SQL, without the audit log: the audit log records each
    access (a `show`, a repeated open) by design; these checks are about what
    a command does to the clinical data."""
    con = sqlite3.connect(db)
    try:
        return "\n".join(line for line in con.iterdump()
                         if not line.startswith('INSERT INTO "audit"'))
    finally:
        con.close()


def main():
    with open(os.path.join(DATA, "revision1-show.json")) as f:
        before = json.load(f)["episodes"]
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "practice.db")
        shutil.copy(os.path.join(DATA, "revision1.db"), db)
        os.chmod(db, 0o600)

        # show: every old field unchanged, revision 1
        for ep_id, old in sorted(before.items()):
            p = run(db, "show", ep_id, "--json")
            check(p.returncode == 0, f"show {ep_id}: exit {p.returncode}: {p.stderr.strip()}")
            if p.returncode != 0:
                continue
            new = json.loads(p.stdout)
            # One deliberate change: scores.baseline/latest follow the replay
            # format now (null until a measure, then only the measures
            # recorded); the old release printed every key, null or not.
            for k in ("baseline", "latest"):
                m = {a: b for a, b in old["scores"][k].items() if b is not None}
                old["scores"][k] = m or None
            for e in subset(old, new, ep_id):
                failures.append("show " + e)
            check(new.get("revision") == 1, f"{ep_id}: revision {new.get('revision')}, expected 1")

        con = sqlite3.connect(db)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.close()
        check(version >= 6, f"schema version {version} after migration")

        p = run(db, "rebuild")
        check(p.returncode == 0 and " 0 difference(s)" in p.stdout, f"rebuild: {p.stdout.strip()} {p.stderr.strip()}")
        once = dump(db)
        p = run(db, "show", "ep-1", "--json")
        check(dump(db) == once, "a second open changed the migrated database")

        # a revision-2 field or event on a revision-1 episode: refused, nothing written
        for ev, want in [
            ({"type": "stop", "at": "2026-11-25", "reason": "goals_met", "nprs": 3}, "unknown field 'nprs'"),
            ({"type": "gp_request", "at": "2026-11-25"}, "not allowed in state"),
            ({"type": "screening", "at": "2026-11-25", "complaint": "lrs"}, "unknown field 'complaint'"),
        ]:
            p = run(db, "record", "r1-lrs-active", "-", stdin=json.dumps(ev))
            check(p.returncode == 2, f"{ev['type']} on a revision-1 episode: exit {p.returncode}")
            check(want in p.stderr and "r1-lrs-active" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
                  f"{ev['type']} on a revision-1 episode: stderr {p.stderr.strip()!r}")
            check(dump(db) == once, f"{ev['type']} on a revision-1 episode wrote something")

        # revision 1 goes on: a reevaluation without judgement is judged by the 30 % rule (NPRS 6 -> 4)
        p = run(db, "record", "r1-lrs-active", "-",
                stdin=json.dumps({"type": "reevaluation", "at": "2026-11-25", "nprs": 4}))
        check(p.returncode == 0, f"revision-1 reevaluation without judgement: {p.stderr.strip()}")
        show = json.loads(run(db, "show", "r1-lrs-active", "--json").stdout)
        check(show["state"] == "treatment", f"r1-lrs-active after the reevaluation: {show['state']}")
        check(show["reevaluations"][-1]["derived"] is True, f"r1-lrs-active reevaluation: {show['reevaluations'][-1]}")

        # a new episode in the same store follows revision 2
        p = run(db, "open", "--id", "r2-new", "--patient", "P-NEW", "-",
                stdin=json.dumps({"type": "open", "at": "2026-11-20", "onset": "2026-11-10", "complaint": "lbp", "age": 50}))
        check(p.returncode == 0, f"open r2-new: {p.stderr.strip()}")
        for ev in [{"type": "screening", "at": "2026-11-20"},
                   {"type": "measurement", "at": "2026-11-20", "nprs": 6},
                   {"type": "stratification", "at": "2026-11-20", "factors": {}}]:
            p = run(db, "record", "r2-new", "-", stdin=json.dumps(ev))
            check(p.returncode == 0, f"r2-new {ev['type']}: {p.stderr.strip()}")
        p = run(db, "record", "r2-new", "-", stdin=json.dumps({"type": "reevaluation", "at": "2026-11-25", "nprs": 4}))
        check(p.returncode == 2 and "judgement" in p.stderr, f"revision-2 reevaluation without judgement: {p.returncode} {p.stderr.strip()}")
        show = json.loads(run(db, "show", "r2-new", "--json").stdout)
        check(show.get("revision") == 2, f"r2-new revision {show.get('revision')}")

        p = run(db, "rebuild")
        check(p.returncode == 0 and " 0 difference(s)" in p.stdout, f"rebuild after new events: {p.stdout.strip()}")

    if failures:
        for f in failures[:40]:
            print("FAIL", f)
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok: {len(before)} revision-1 episodes show as before, rebuild agrees, revision 1 goes on, new episodes follow revision 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
