#!/usr/bin/python3
"""Several processes on one database lose nothing and fire nothing twice
(issue 3: concurrency).

Run as `python3 concurrency.py ZORGPAD_BINARY` (ctest does).

1. Writers: two workers each record 150 sessions/measurements (one `zorgpad
   record` process per event, so two processes write at any moment) into
   episodes of their own, plus 25 sessions each into one shared episode, while
   a third worker opens 30 episodes with generated ids. Every command exits 0
   with nothing on stderr ("database is locked" never appears), no event is
   lost (every log is complete, seqs 1..n, sessions counted), the generated
   ids are distinct, and `rebuild` reports 0 differences.
2. Ticks: 600 episodes (imported) with phase and checkpoint timers due; three `tick`s run
   at once (two to the same date, one to an earlier date). The timers they
   report fired add up to the timers due, no checkpoint/phase transition
   appears twice, and every episode equals `zorgpad replay` of its events with
   `until` = the tick date.
3. First use: four processes run `init` at once on a database file that
   does not exist yet (creation and migration race), then four open episodes
   in it at once: all succeed, ids distinct.
"""
import collections
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading

ZORGPAD = os.path.abspath(sys.argv[1])
failures = []
lock = threading.Lock()


def check(cond, what):
    if not cond:
        with lock:
            failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(db, *args, stdin=None):
    return subprocess.run([ZORGPAD, "--db", db, *args], input=stdin, capture_output=True, text=True, timeout=120)


def must(db, *args, stdin=None):
    p = run(db, *args, stdin=stdin)
    if p.returncode != 0 or p.stderr:
        raise SystemExit(f"zorgpad {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def open_treated(db, ep, at, onset, strat):
    """Opens ep and brings it into treatment. Returns the events (for replay)."""
    evs = [{"type": "open", "at": at, "onset": onset, "complaint": "lbp", "age": 50},
           {"type": "screening", "at": at, "red_flags": [], "exclusions": []},
           {"type": "measurement", "at": at, "nprs": 6, "qbpds": 40},
           dict({"type": "stratification", "at": at}, **strat)]
    must(db, "open", "--id", ep, "--patient", "P-" + ep, "-", stdin=json.dumps(evs[0]))
    for ev in evs[1:]:
        must(db, "record", ep, "-", stdin=json.dumps(ev))
    return evs


def writers(tmp):
    db = os.path.join(tmp, "writers.db")
    must(db, "init")
    own = {w: [f"{w}-{i}" for i in range(3)] for w in ("a", "b")}
    for eps in own.values():
        for ep in eps:
            open_treated(db, ep, "2026-01-05", "2026-01-01", {"profile": 2, "factors": {"leg_pain": "present"}})
    open_treated(db, "shared", "2026-01-05", "2026-01-01", {"profile": 2, "factors": {"leg_pain": "present"}})

    outcomes = collections.defaultdict(list)  # worker -> [(cmd, CompletedProcess)]

    def recorder(w):
        for j in range(150):
            ep = own[w][j % 3]
            day = 6 + j // 12  # 2026-01-06 .. 2026-01-18, before the week-3 checkpoint
            ev = {"type": "session", "at": f"2026-01-{day:02d}", "id": f"{w}/{j}"} if j % 2 == 0 else \
                 {"type": "measurement", "at": f"2026-01-{day:02d}", "nprs": j % 11, "id": f"{w}/{j}"}
            outcomes[w].append((f"record {ep}", run(db, "record", ep, "-", stdin=json.dumps(ev))))
            if j % 6 == 0:
                ev = {"type": "session", "at": "2026-01-19", "id": f"{w}/shared/{j}"}
                outcomes[w].append(("record shared", run(db, "record", "shared", "-", stdin=json.dumps(ev))))

    def opener():
        ev = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lrs", "age": 33}
        for _ in range(30):
            outcomes["o"].append(("open", run(db, "open", "--patient", "P-gen", "-", stdin=json.dumps(ev))))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for f in [pool.submit(recorder, "a"), pool.submit(recorder, "b"), pool.submit(opener)]:
            f.result()

    for w, results in outcomes.items():
        bad = [(c, p.returncode, p.stderr.strip()) for c, p in results if p.returncode != 0 or p.stderr]
        check(not bad, f"worker {w}: {len(bad)} command(s) failed, e.g. {bad[:3]}")
        locked = [p for _, p in results if "locked" in p.stderr or "busy" in p.stderr]
        check(not locked, f"worker {w}: 'database is locked' seen {len(locked)} time(s)")
    check(sum(len(r) for r in outcomes.values()) == 2 * (150 + 25) + 30, "not every command ran")

    generated = [p.stdout.strip() for c, p in outcomes["o"] if p.returncode == 0]
    check(len(set(generated)) == 30 and all(re.fullmatch(r"ep-\d+", g) for g in generated),
          f"generated episode ids are not 30 distinct ep-N: {generated}")

    con = sqlite3.connect(db)
    logs = collections.defaultdict(list)
    for ep, seq, event_id in con.execute("SELECT episode, seq, event_id FROM events ORDER BY episode, seq"):
        logs[ep].append((seq, event_id))
    con.close()
    for w in ("a", "b"):
        ids = set()
        for i, ep in enumerate(own[w]):
            seqs = [s for s, _ in logs[ep]]
            check(seqs == list(range(1, 4 + 50 + 1)), f"{ep}: log seqs {seqs[:3]}..{seqs[-3:]} ({len(seqs)}), expected 1..54")
            ids |= {e for _, e in logs[ep] if e}
            show = json.loads(must(db, "show", ep, "--json"))
            check(show["sessions"] == 25, f"{ep}: {show['sessions']} sessions, expected 25")
        check(ids == {f"{w}/{j}" for j in range(150)}, f"worker {w}: {150 - len(ids)} event(s) lost")
    shared = [s for s, _ in logs["shared"]]
    check(shared == list(range(1, 4 + 50 + 1)), f"shared: {len(shared)} log entries, expected 54 contiguous")
    check(json.loads(must(db, "show", "shared", "--json"))["sessions"] == 50, "shared: sessions lost")
    for g in generated:
        check([s for s, _ in logs[g]] == [1], f"{g}: log {logs[g]}")
    p = run(db, "rebuild")
    check(p.returncode == 0 and p.stdout.strip().endswith(": 0 difference(s)"), f"rebuild after writers: {p.stdout} {p.stderr}")


TICK_EPISODES = 2000
STRATS = [
    {"profile": 1, "sbst": [0, 0, 0, 0, 0, 0, 0, 0, 0], "factors": {}},
    {"profile": 2, "factors": {"leg_pain": "present"}},
    {"profile": 3, "factors": {"fear_of_movement": "dominant"}},
]


def ticks(tmp):
    db = os.path.join(tmp, "ticks.db")
    must(db, "init")
    scen, lines = [], []
    for i in range(TICK_EPISODES):
        ep = f"t-{i:04d}"
        at = f"2026-01-{5 + i % 20:02d}"
        onset = f"2025-12-{1 + i % 28:02d}"
        evs = [{"type": "open", "at": at, "onset": onset, "complaint": "lbp", "age": 50},
               {"type": "screening", "at": at, "red_flags": [], "exclusions": []},
               {"type": "measurement", "at": at, "nprs": 6, "qbpds": 40},
               dict({"type": "stratification", "at": at}, **STRATS[i % 3])]
        scen.append({"id": ep, "patient": "P-" + ep, "events": evs})
        lines += [json.dumps({"episode": ep, "patient": "P-" + ep, "event": ev}) for ev in evs]
    must(db, "import", "-", stdin="\n".join(lines) + "\n")
    late, early = "2026-05-01", "2026-02-10"

    con = sqlite3.connect(db)
    due = 0
    for (body,) in con.execute("SELECT body FROM episodes"):
        due += sum(1 for t in json.loads(body)["timers"] if t["due"] <= late)
    con.close()
    check(due >= 3 * TICK_EPISODES, f"only {due} timers due: the setup does not exercise the ticks")

    cmds = [("tick", "--now", late), ("tick", "--now", late), ("tick", "--now", early)]
    procs = [subprocess.Popen([ZORGPAD, "--db", db, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    fired = 0
    for c, p in zip(cmds, procs):
        out, err = p.communicate(timeout=120)
        check(p.returncode == 0 and not err, f"{' '.join(c)}: exit {p.returncode}: {err.strip()}")
        m = re.match(r"tick \S+: (\d+) timer\(s\) fired in (\d+) episode\(s\)", out.strip())
        if check(m is not None, f"{' '.join(c)}: unexpected output {out!r}"):
            fired += int(m.group(1))
    check(fired == due, f"the concurrent ticks fired {fired} timers, {due} were due")

    ref = subprocess.run([ZORGPAD, "replay", "-"], input=json.dumps({"until": late, "episodes": scen}),
                         capture_output=True, text=True)
    check(ref.returncode == 0, f"replay failed: {ref.stderr}")
    expected = {e["id"]: e for e in json.loads(ref.stdout)["episodes"]}
    con = sqlite3.connect(db)
    bodies = {ep: json.loads(body) for ep, body in con.execute("SELECT id, body FROM episodes")}
    con.close()
    for ep, body in bodies.items():
        timed = [(t["at"], t["event"], t["from"], t["to"]) for t in body["transitions"] if t["event"] in ("phase", "checkpoint")]
        check(len(timed) == len(set(timed)), f"{ep}: a timer fired twice: {timed}")
        check(body["transitions"] == expected[ep]["transitions"], f"{ep}: transitions differ from replay until {late}")
        check(not [t for t in body["timers"] if t["due"] <= late], f"{ep}: timers due by {late} left unfired")
    for e in scen[::100]:
        got = json.loads(must(db, "show", e["id"], "--json"))
        check(got == expected[e["id"]], f"{e['id']}: show --json differs from replay until {late}")
    p = run(db, "rebuild")
    check(p.returncode == 0 and p.stdout.strip().endswith(": 0 difference(s)"), f"rebuild after ticks: {p.stdout} {p.stderr}")
    p = run(db, "tick", "--now", late)
    check(p.stdout.startswith(f"tick {late}: 0 timer(s)"), f"a repeated tick fired again: {p.stdout!r}")


def first_use(tmp):
    """Four processes create a database that does not exist yet (`init`: the
    schema's creation races), then four open episodes in it at once."""
    ev = json.dumps({"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 40})
    for i in range(10):
        db = os.path.join(tmp, f"fresh-{i}.db")
        procs = [subprocess.Popen([ZORGPAD, "--db", db, "init"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            check(p.returncode == 0 and not err, f"fresh database {i}: init: exit {p.returncode}: {err.strip()}")
        procs = [subprocess.Popen([ZORGPAD, "--db", db, "open", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(ev, timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            check(p.returncode == 0 and not err, f"fresh database {i}: open: exit {p.returncode}: {err.strip()}")
        ids = sorted(out.strip() for out, _ in outs)
        check(ids == ["ep-1", "ep-2", "ep-3", "ep-4"], f"fresh database {i}: ids {ids}")


def main():
    with tempfile.TemporaryDirectory(prefix="zorgpad-conc-") as tmp:
        writers(tmp)
        ticks(tmp)
        first_use(tmp)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok: concurrent writers lost nothing; concurrent ticks fired every timer once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
