#!/usr/bin/python3
"""Every replay scenario also runs through the durable store (issue 3).

Run as `python3 store_equivalence.py ZORGPAD_BINARY` (ctest does), with
ZORGPAD_TESTS_DIR pointing at tests/ (default: this file's parent folder).

Backends: a SQLite file per scenario by default; with ZORGPAD_PG_URL set
(scripts/with-postgres.sh does), one PostgreSQL database with a practice per
scenario, its rows dumped through psql (the superuser of pg_virtualenv's
environment) for the "database unchanged" checks.

ZORGPAD_EQUIV_IMPORT=1 (the sanitizer build): the events before the one a
scenario fails at (all of them for a valid scenario) go in through one
`import` per scenario instead of a command each; the failing event is still
its own `open`/`record`. The plain build runs a command per event.

For each tests/scenarios/*.json, on a fresh database: `init`; per episode
`open --id ID --patient P -` with event 0 and `record ID -` for each further
event, one command per event; then `tick --now UNTIL` when the scenario has an
`until`. Then:

- valid scenario: `show ID --json` equals the episode object of `zorgpad
  replay` exactly (full JSON equality), and `rebuild` reports 0 differences;
- invalid scenario: the command of the failing event exits 2 with one line on
  stderr naming the same episode and event as replay, with the same message,
  prints nothing on stdout, and leaves the database content unchanged (dump
  before == dump after). Scenario-level errors (the file is not JSON, the
  episodes are not a list, ...) have no CLI equivalent and are skipped; a
  malformed `until` is checked as a rejected `tick --now`.
"""
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS_DIR = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = os.path.join(TESTS_DIR, "scenarios")

# "zorgpad: ep-3 event 4 (reevaluation): not allowed in state 'screened'"
LABEL = re.compile(r"^zorgpad: (?P<ep>\S+) event (?P<n>\d+)(?: \((?P<type>[^)]*)\))?: (?P<what>.*)$")


PG_URL = os.environ.get("ZORGPAD_PG_URL")
BATCHED = os.environ.get("ZORGPAD_EQUIV_IMPORT") == "1"
PG_TABLES = {
    "episodes": "id", "events": "episode, seq", "tasks": "id", "timers": "episode",
    "ticks": "episode", "episode_counts": "state, phase, profile", "practices": "code",
}


def run(db, *args, stdin=None):
    """db: a SQLite path, or (url, practice) for PostgreSQL."""
    where = ["--db", db] if isinstance(db, str) else ["--db", db[0], "--practice", db[1]]
    return subprocess.run([ZORGPAD, *where, *args], input=stdin, capture_output=True, text=True, timeout=60)


def dump(db):
    """The database content as text (schema and rows); for PostgreSQL the practice's rows."""
    if not isinstance(db, str):
        practice = db[1]
        args = ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "zorgpad"]
        for table, order in PG_TABLES.items():
            col = "code" if table == "practices" else "practice"
            args += ["-c", f"SELECT '{table}', t::text FROM zorgpad.{table} t WHERE {col} = '{practice}' ORDER BY {order}"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"psql: {p.stderr}")
        parts = [p.stdout]
        return "\n".join(parts)
    con = sqlite3.connect(db)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def replay(path):
    return subprocess.run([ZORGPAD, "replay", path], capture_output=True, text=True, timeout=60)


def check_error_line(name, p, want, errs):
    """p: the failing CLI command; want: replay's stderr line (parsed)."""
    if p.returncode != 2:
        errs.append(f"{name}: exit {p.returncode}, expected 2 ({p.stderr.strip()[:200]!r})")
    if p.stdout:
        errs.append(f"{name}: printed on stdout despite the error: {p.stdout[:200]!r}")
    lines = p.stderr.splitlines()
    if len(lines) != 1:
        errs.append(f"{name}: stderr is not one line: {p.stderr[:300]!r}")
        return
    got = LABEL.match(lines[0])
    if not got:
        errs.append(f"{name}: stderr does not name the episode and event: {lines[0]!r}")
        return
    if (got["ep"], got["n"]) != (want["ep"], want["n"]):
        errs.append(f"{name}: error at {got['ep']} event {got['n']}, replay says {want['ep']} event {want['n']}")
    if got["what"] != want["what"]:
        errs.append(f"{name}: message differs from replay: store {got['what']!r}, replay {want['what']!r}")


def run_scenario(path):
    """Returns (status, errors): status is 'valid', 'invalid' or 'skipped'."""
    name = os.path.basename(path)
    errs = []
    try:
        with open(path) as f:
            doc = json.load(f)
    except ValueError:
        return "skipped", []  # not JSON: nothing to feed the CLI
    if not isinstance(doc, dict) or not isinstance(doc.get("episodes"), list):
        return "skipped", []
    ref = replay(path)
    want = None
    if ref.returncode == 0:
        expected = {e["id"]: e for e in json.loads(ref.stdout)["episodes"]}
    else:
        m = LABEL.match(ref.stderr.strip())
        want = m.groupdict() if m else None
        if want is None and "'until'" not in ref.stderr:
            return "skipped", []  # a scenario-level error (duplicate ids, unknown field, ...)
    with tempfile.TemporaryDirectory(prefix="zorgpad-eq-") as tmp:
        if PG_URL:
            # a practice per scenario: letters, digits, '-', '_', at most 32
            db = (PG_URL, "eq-" + hashlib.sha1(name.encode()).hexdigest()[:20])
        else:
            db = os.path.join(tmp, "store.db")
        # (PostgreSQL: the schema is there; `init` as an application role would only check it)
        p = run(db, "init") if not PG_URL else subprocess.CompletedProcess([], 0, "", "")
        if p.returncode != 0:
            return "invalid" if want else "valid", [f"{name}: init failed: {p.stderr}"]

        def step(ep_id, index, cmd, stdin):
            """Runs one event's command; returns False when the scenario stops here."""
            failing = want is not None and want["ep"] == ep_id and want["n"] == str(index)
            before = dump(db) if failing else None
            p = run(db, *cmd, stdin=stdin)
            if failing:
                check_error_line(f"{name} {ep_id} event {index}", p, want, errs)
                if dump(db) != before:
                    errs.append(f"{name}: the rejected event {index} of {ep_id} changed the database")
                return False
            if p.returncode != 0:
                errs.append(f"{name}: {ep_id} event {index}: exit {p.returncode}: {p.stderr.strip()[:300]}")
                return False
            return True

        for ep in doc["episodes"]:
            if not isinstance(ep, dict) or not isinstance(ep.get("events"), list) or not ep["events"]:
                return "skipped", []
            ep_id, patient = ep.get("id"), ep.get("patient", "")
            if not isinstance(ep_id, str) or not isinstance(patient, str):
                return "skipped", []
        if BATCHED:
            # Every event before the failing one, through one import.
            lines = []
            for ep in doc["episodes"]:
                for i, ev in enumerate(ep["events"]):
                    if want is not None and want["ep"] == ep["id"] and want["n"] == str(i):
                        break
                    lines.append(json.dumps({"episode": ep["id"], "patient": ep.get("patient", ""), "event": ev}))
                else:
                    continue
                break
            if lines:
                p = run(db, "import", "-", stdin="\n".join(lines) + "\n")
                if p.returncode != 0:
                    errs.append(f"{name}: import of the events before the failing one: exit {p.returncode}: {p.stderr.strip()[:300]}")
                    return ("invalid" if want else "valid"), errs
            if want is not None:
                ep = next(e for e in doc["episodes"] if e["id"] == want["ep"])
                i = int(want["n"])
                cmd = ["open", "--id", ep["id"], "--patient", ep.get("patient", ""), "-"] if i == 0 else ["record", ep["id"], "-"]
                step(ep["id"], i, cmd, json.dumps(ep["events"][i]))
                return "invalid", errs
        for ep in ([] if BATCHED else doc["episodes"]):
            ep_id, patient = ep.get("id"), ep.get("patient", "")
            events = ep["events"]
            if not step(ep_id, 0, ["open", "--id", ep_id, "--patient", patient, "-"], json.dumps(events[0])):
                return ("invalid" if want else "valid"), errs
            for i, ev in enumerate(events[1:], start=1):
                if not step(ep_id, i, ["record", ep_id, "-"], json.dumps(ev)):
                    return ("invalid" if want else "valid"), errs

        if "until" in doc:
            before = dump(db)
            p = run(db, "tick", "--now", str(doc["until"]))
            if ref.returncode != 0:
                # the only error replay can find after the last event: a malformed `until`
                if p.returncode != 2 or p.stdout or len(p.stderr.splitlines()) != 1:
                    errs.append(f"{name}: tick --now {doc['until']!r}: exit {p.returncode}, {p.stdout!r} {p.stderr!r}")
                if dump(db) != before:
                    errs.append(f"{name}: a rejected tick changed the database")
                return "invalid", errs
            if p.returncode != 0:
                errs.append(f"{name}: tick failed: {p.stderr.strip()}")
                return "valid", errs
        if ref.returncode != 0:
            errs.append(f"{name}: replay fails ({ref.stderr.strip()[:200]}) but every CLI command succeeded")
            return "invalid", errs

        for ep_id, exp in expected.items():
            p = run(db, "show", ep_id, "--json")
            if p.returncode != 0:
                errs.append(f"{name}: show {ep_id}: {p.stderr.strip()}")
                continue
            got = json.loads(p.stdout)
            if got != exp:
                keys = sorted(k for k in set(got) | set(exp) if got.get(k) != exp.get(k))
                for k in keys[:5]:
                    errs.append(f"{name}: {ep_id}.{k}: store {json.dumps(got.get(k))[:300]} != replay {json.dumps(exp.get(k))[:300]}")
        p = run(db, "rebuild")
        if p.returncode != 0 or " 0 difference(s)" not in p.stdout:
            errs.append(f"{name}: rebuild: exit {p.returncode}: {p.stdout.strip()[-300:]} {p.stderr.strip()}")
        return "valid", errs


def main():
    files = sorted(f for f in glob.glob(os.path.join(SCENARIOS, "*.json")) if not f.endswith(".expected.json"))
    if len(files) < 100:
        print(f"FAIL: only {len(files)} scenarios found in {SCENARIOS}")
        return 1
    # ZORGPAD_EQUIV_SHARE=K/N (the sanitizer build on PostgreSQL): the scenarios
    # whose place in the sorted list is K modulo N, so that N runs cover them all.
    share = os.environ.get("ZORGPAD_EQUIV_SHARE")
    if share:
        k, n = (int(x) for x in share.split("/"))
        files = [f for i, f in enumerate(files) if i % n == k]
        print(f"share {k}/{n}: {len(files)} scenarios")
    counts = {"valid": 0, "invalid": 0, "skipped": 0}
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for path, (status, errs) in zip(files, pool.map(run_scenario, files)):
            counts[status] += 1
            if errs:
                failed += 1
                print(f"FAIL {os.path.basename(path)}")
                for e in errs[:8]:
                    print("   ", e)
    print(f"{len(files)} scenarios through the store: {counts['valid']} valid, {counts['invalid']} invalid, "
          f"{counts['skipped']} skipped (scenario-level errors), {failed} failed")
    n = int(share.split("/")[1]) if share else 1
    if counts["valid"] < 50 // n or counts["invalid"] < 70 // n:
        print("FAIL: fewer scenarios checked than expected")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
