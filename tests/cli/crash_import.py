#!/usr/bin/python3
"""An import killed with SIGKILL leaves whole batches, and running it again
completes it (issue 3: crash recovery).

Run as `python3 crash_import.py ZORGPAD_BINARY` (ctest does).

An NDJSON file of 3000 episodes (~6 events each, every event with a unique
"id", the episodes' events interleaved) is imported with `--batch 200`; the
process is killed with SIGKILL once some batches are in, twice: first while it
reads the file from a pipe (so it cannot finish first), then while the import
is being resumed from the file. After each kill:

- the events table holds exactly the first k*200 lines of the file: per
  episode the seqs are 1..n and the stored bodies are the episode's first n
  events of the file;
- every episode with events has a projection and no other episode has one;
- `rebuild` reports 0 differences.
Finally the import run once more completes: it reports the already recorded
events as duplicates, the event count equals the file's, no event id is stored
twice, `rebuild` reports 0 differences, and a sample of episodes shows exactly
what `zorgpad replay` computes from the same events.
"""
import datetime
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ZORGPAD = os.path.abspath(sys.argv[1])
EPISODES = 3000
BATCH = 200
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def day(base, n):
    return (base + datetime.timedelta(days=n)).isoformat()


def episode_events(rng, k):
    """One episode's events: open, screening, measurement, stratification, then 0-4 more."""
    ep = f"ep-{k:05d}"
    base = datetime.date(2026, 1, 5) + datetime.timedelta(days=k % 60)
    evs = [
        {"type": "open", "at": day(base, 0), "onset": day(base, -rng.randint(0, 30)),
         "complaint": "lbp", "age": rng.randint(17, 90)},
        {"type": "screening", "at": day(base, 0), "red_flags": [], "exclusions": []},
        {"type": "measurement", "at": day(base, 0), "nprs": rng.randint(1, 10), "qbpds": rng.randint(1, 100)},
        {"type": "stratification", "at": day(base, 1), "sbst": [rng.randint(0, 1) for _ in range(8)] + [rng.randint(0, 4)],
         "factors": {}},
    ]
    d = 1
    for _ in range(rng.randint(0, 4)):
        d += rng.randint(1, 4)
        if rng.random() < 0.5:
            evs.append({"type": "session", "at": day(base, d)})
        else:
            evs.append({"type": "measurement", "at": day(base, d), "nprs": rng.randint(0, 10)})
    for i, ev in enumerate(evs):
        ev["id"] = f"{ep}/{i}"
    return ep, f"P{k:05d}", evs


def make_file(path):
    """Writes the NDJSON file; returns its lines as (episode, event) in file order."""
    rng = random.Random(20260105)
    pending = [episode_events(rng, k) for k in range(EPISODES)]
    cursor = {ep: 0 for ep, _, _ in pending}
    live = list(pending)
    lines = []
    with open(path, "w") as f:
        while live:
            i = rng.randrange(len(live))
            ep, patient, evs = live[i]
            ev = evs[cursor[ep]]
            cursor[ep] += 1
            if cursor[ep] == len(evs):
                live[i] = live[-1]
                live.pop()
            f.write(json.dumps({"episode": ep, "patient": patient, "event": ev}) + "\n")
            lines.append((ep, patient, ev))
    return lines


def event_count(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM events").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # the schema is not there yet


def run(db, *args, **kw):
    return subprocess.run([ZORGPAD, "--db", db, *args], capture_output=True, text=True, timeout=120, **kw)


def import_and_kill(db, path, at_least, via_pipe=False):
    """Starts the import and SIGKILLs it once at least `at_least` events are stored.

    via_pipe: the import reads standard input, fed the first half of the file
    by a thread, so it cannot finish before the kill however fast it is."""
    cmd = [ZORGPAD, "--db", db, "import", "-" if via_pipe else path, "--batch", str(BATCH)]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if via_pipe else None, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    feeder = None
    if via_pipe:
        with open(path, "rb") as f:
            data = f.read()
        half = data[:data.index(b"\n", len(data) // 2) + 1]

        def feed():
            try:
                p.stdin.write(half)
                p.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # killed while we were writing

        feeder = threading.Thread(target=feed)
        feeder.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        if event_count(db) >= at_least:
            break
        time.sleep(0.002)
    finished = p.poll() is not None
    if not finished:
        p.send_signal(signal.SIGKILL)
    p.wait()
    if feeder:
        feeder.join()
        try:
            p.stdin.close()
        except OSError:
            pass
    out, err = p.stdout.read(), p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    if finished:
        print(f"note: the import finished before it could be killed ({out.decode().strip()} {err.decode().strip()})",
              file=sys.stderr)
    else:
        check(p.returncode == -signal.SIGKILL, f"import was not killed by SIGKILL: {p.returncode}")
    return not finished


def check_prefix(db, lines, when):
    """The stored log is the first k*BATCH lines of the file, in each episode's order."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT episode, seq, event_id, body FROM events ORDER BY episode, seq").fetchall()
        projections = {r[0]: r[1] for r in con.execute("SELECT id, last_seq FROM episodes")}
    finally:
        con.close()
    total = len(rows)
    check(total % BATCH == 0 or total == len(lines),
          f"{when}: {total} events stored, not a whole number of batches of {BATCH}")
    prefix = lines[:total]
    want = {}
    for ep, _, ev in prefix:
        # The log keeps the event in its canonical form: a field at its
        # default (null, an empty list, false) is not written.
        want.setdefault(ep, []).append({k: v for k, v in ev.items() if not (v is None or v is False or v == [])})
    got = {}
    for ep, seq, event_id, body in rows:
        stored = json.loads(body)
        if stored.get("type") == "open":
            stored.pop("patient", None)  # the store adds the line's patient reference to the open entry
            if stored.pop("revision", None) != 2:  # and the pathway revision the episode follows
                check(False, f"{when}: {ep}: the open entry does not record pathway revision 2")
        got.setdefault(ep, []).append((seq, event_id, stored))
    check(set(got) == set(want), f"{when}: the stored episodes are not those of the first {total} lines "
                                 f"({len(set(got) - set(want))} extra, {len(set(want) - set(got))} missing)")
    bad = 0
    for ep, evs in got.items():
        exp = want.get(ep, [])
        if [s for s, _, _ in evs] != list(range(1, len(evs) + 1)) or [b for _, _, b in evs] != exp \
                or [i for _, i, _ in evs] != [e["id"] for e in exp]:
            bad += 1
            if bad <= 3:
                check(False, f"{when}: {ep}: stored log {[(s, i) for s, i, _ in evs]} is not the file's first "
                             f"{len(exp)} events {[e['id'] for e in exp]}")
    check(bad == 0, f"{when}: {bad} episode(s) whose log is not a prefix of the file")
    check(set(projections) == set(got), f"{when}: projections {len(projections)} for {len(got)} episodes with events")
    lagging = [ep for ep, evs in got.items() if projections.get(ep) != len(evs)]
    check(not lagging, f"{when}: projection last_seq differs from the log for {lagging[:5]}")
    return total


def check_rebuild(db, when):
    p = run(db, "rebuild")
    check(p.returncode == 0 and re.search(r": 0 difference\(s\)$", p.stdout.strip()) is not None,
          f"{when}: rebuild: exit {p.returncode}, {p.stdout.strip()[-300:]!r} {p.stderr.strip()!r}")


def main():
    with tempfile.TemporaryDirectory(prefix="zorgpad-crash-") as tmp:
        path = os.path.join(tmp, "events.ndjson")
        db = os.path.join(tmp, "store.db")
        lines = make_file(path)
        n = len(lines)
        print(f"{n} events of {EPISODES} episodes in {path}")
        check(run(db, "init").returncode == 0, "init failed")

        # First import, from a pipe, killed early on: always mid-way.
        killed = import_and_kill(db, path, 5 * BATCH, via_pipe=True)
        first = check_prefix(db, lines, "after the first kill")
        check(killed and 0 < first < n, f"the first import was not killed mid-way ({first} of {n} events)")
        check_rebuild(db, "after the first kill")

        # The import resumed from the file, killed again further on (unless it is
        # faster than the polling: then it simply completes).
        import_and_kill(db, path, first + 10 * BATCH)
        second = check_prefix(db, lines, "after the second kill")
        check(second >= first, f"the resumed import lost events: {first} -> {second}")
        check_rebuild(db, "after the second kill")

        # The final run completes it; what was stored is skipped.
        p = run(db, "import", path, "--batch", str(BATCH))
        check(p.returncode == 0, f"the final import failed: {p.returncode} {p.stderr.strip()}")
        m = re.match(r"imported (\d+) events \((\d+) episodes opened, (\d+) already recorded\) from (\d+) lines",
                     p.stdout.strip())
        if check(m is not None, f"unexpected import report {p.stdout!r}"):
            recorded, _, dups, nlines = map(int, m.groups())
            check((recorded, dups, nlines) == (n - second, second, n),
                  f"final import reported {recorded} recorded, {dups} duplicates from {nlines} lines; "
                  f"expected {n - second}, {second}, {n}")
        final = check_prefix(db, lines, "after the final import")
        check(final == n, f"{final} events stored, the file has {n}")
        con = sqlite3.connect(db)
        dup_ids = con.execute("SELECT count(*) - count(DISTINCT event_id) FROM events").fetchone()[0]
        null_ids = con.execute("SELECT count(*) FROM events WHERE event_id IS NULL").fetchone()[0]
        con.close()
        check(dup_ids == 0 and null_ids == 0, f"{dup_ids} duplicate and {null_ids} missing event ids")
        check_rebuild(db, "after the final import")

        # A sample of episodes equals a replay of the same events.
        per_ep = {}
        for ep, patient, ev in lines:
            per_ep.setdefault((ep, patient), []).append({k: v for k, v in ev.items() if k != "id"})
        sample = sorted(per_ep)[::150]
        scen = {"episodes": [{"id": ep, "patient": pt, "events": per_ep[(ep, pt)]} for ep, pt in sample]}
        r = subprocess.run([ZORGPAD, "replay", "-"], input=json.dumps(scen), capture_output=True, text=True)
        if check(r.returncode == 0, f"replay of the sample failed: {r.stderr}"):
            for exp in json.loads(r.stdout)["episodes"]:
                s = run(db, "show", exp["id"], "--json")
                check(s.returncode == 0 and json.loads(s.stdout) == exp, f"{exp['id']}: show --json differs from replay")

    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok: killed at {first} and {second} of {n} events; resumed and complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
