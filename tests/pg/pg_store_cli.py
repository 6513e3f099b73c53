#!/usr/bin/python3
"""The store's guarantees hold on PostgreSQL too (issue 13): the store suite
of tests/cli (idempotency, --expect-seq, bad input, crash recovery, tick) run
against the PostgreSQL backend, plus what only a server brings: connections,
roles, the schema version and concurrent writers.

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3 pg_store_cli.py
ZORGPAD_BINARY` (ctest does): it needs ZORGPAD_PG_URL (an application role,
zorgpad_a), ZORGPAD_PG_OWNER_URL and the superuser's PG* variables, which
psql uses to dump a practice's rows (the superuser bypasses row-level
security). Every section works in a practice of its own.

- idempotency: an `open` or `record` repeated with the same event "id" is
  recorded once and reports the first result; `import` run twice reports every
  line as already recorded; the database is unchanged by the repeats;
- `--expect-seq`: the right N is accepted, a stale one exits 2 with one line
  and writes nothing;
- bad input (malformed JSON, an unknown episode, an event the pathway refuses,
  out of range values, time going backwards, an existing episode id, an
  import with a bad line, a malformed --now, an unknown task, a control
  character, a first command under a new practice code) exits 2 with exactly
  the line SQLite gives for the same input, prints nothing on stdout, and
  leaves the practice's rows as they were;
- concurrency: six processes racing with the same event id, or with the
  same --expect-seq, leave one event; retried opens racing each other (same
  --id, same event id) open the episode once and all report it, racing opens
  of one --id without an event id give one episode and "already exists" for
  the others; two racing imports of one file both succeed; never a raw
  "database error" (exit 1) for what is a duplicate;
- crash: an `import --batch 200` of ~6000 interleaved lines, killed with
  SIGKILL twice (reading a pipe, then resumed from the file), leaves whole
  batches only: per episode the seqs are 1..n and the bodies the file's first
  n events, every episode with events has a projection whose last_seq is n,
  timers and episode_counts agree with the projections, `rebuild` reports 0
  differences; the final run completes it, reporting the stored lines as
  already recorded;
- tick: `tick --now` fires the due timers (no timer due is left), a second
  tick to the same date changes nothing, `rebuild` reports 0 differences,
  and a sample of episodes equals `zorgpad replay` of the same events with
  that `until`;
- connections: a multi-host URL whose first host is down works (libpq moves
  on to the next); an unreachable server, a wrong password, an unknown database,
  a malformed URL, a role outside zorgpad_app (with or without USAGE on the
  schema), a role that may not log in, a schema version newer (99) or older
  (0) than the binary's, a missing or malformed --practice: each exits 2 with
  one line within seconds (never a hang), writes nothing, and never echoes
  the password.
"""
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ZORGPAD = os.path.abspath(sys.argv[1])
URL = os.environ.get("ZORGPAD_PG_URL")
OWNER_URL = os.environ.get("ZORGPAD_PG_OWNER_URL")
EPISODES = 1000
BATCH = 200
failures = []

PG_TABLES = {
    "episodes": "id", "events": "episode, seq", "tasks": "id", "timers": "episode",
    "ticks": "episode", "episode_counts": "state, phase, profile", "practices": "code",
}
OPEN = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 45}
SCREEN = {"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(practice, *args, stdin=None, url=None, timeout=60, env=None):
    """zorgpad on PostgreSQL (practice None: no --practice) or, with url a path, on SQLite."""
    where = ["--db", url or URL] + (["--practice", practice] if practice is not None else [])
    return subprocess.run([ZORGPAD, *where, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=env)


def must(practice, *args, **kw):
    p = run(practice, *args, **kw)
    if p.returncode != 0:
        raise SystemExit(f"setup: zorgpad {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class Session:
    """One psql session (default: the superuser on database zorgpad, past row-level security), kept
    open: a new psql costs a connection and a process (~0.1-0.3 s on a loaded machine)."""

    def __init__(self, url=None):
        args = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0"] + ([url] if url else ["-d", "zorgpad"])
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)

    def run(self, sql):
        """Runs the statements; returns their output rows (fields separated by '|'); raises on an error."""
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __end_of_output__ :SQLSTATE\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql ended: {''.join(out)[-300:]}")
            if line.startswith("__end_of_output__ "):
                break
            out.append(line)
        if line.split()[1] != "00000" or any("ERROR:" in x for x in out):
            raise RuntimeError(f"psql {sql[:100]!r}: {''.join(out).strip()[:300]}")
        return "".join(out)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


SQL = None  # the superuser's Session, opened by main()


def psql(sql):
    return SQL.run(sql)


def dump(practice):
    """A practice's rows in every table, as text."""
    parts = []
    for table, order in PG_TABLES.items():
        col = "code" if table == "practices" else "practice"
        parts.append(f"SELECT '{table}', t::text FROM zorgpad.{table} t WHERE {col} = '{practice}' ORDER BY {order};")
    return psql("\n".join(parts))


def one_line(p, where, code=2, mentions=()):
    """p exited `code` with exactly one 'zorgpad: ' line on stderr and nothing on stdout."""
    check(p.returncode == code, f"{where}: exit {p.returncode}, expected {code}; stderr {p.stderr.strip()[:300]!r}")
    check(p.stdout == "", f"{where}: printed on stdout: {p.stdout[:200]!r}")
    lines = p.stderr.splitlines()
    if check(len(lines) == 1, f"{where}: stderr is not exactly one line: {p.stderr[:400]!r}"):
        check(lines[0].startswith("zorgpad: "), f"{where}: stderr line lacks the 'zorgpad: ' prefix: {lines[0]!r}")
        for m in mentions:
            check(m in lines[0], f"{where}: stderr does not mention {m!r}: {lines[0]!r}")
    return lines[0] if len(lines) == 1 else None


def rebuild_clean(practice, when, episodes=None, events=None):
    p = run(practice, "rebuild")
    m = re.fullmatch(r"rebuilt (\d+) episodes from (\d+) events: 0 difference\(s\)", p.stdout.strip())
    if check(p.returncode == 0 and m is not None,
             f"{when}: rebuild: exit {p.returncode}, {p.stdout.strip()[-300:]!r} {p.stderr.strip()!r}"):
        if episodes is not None:
            check(int(m.group(1)) == episodes and int(m.group(2)) == events,
                  f"{when}: rebuild saw {m.group(1)} episodes and {m.group(2)} events of practice {practice}, "
                  f"it has {episodes} and {events}")


def open_ep(practice, ep, url=None, **kw):
    return must(practice, "open", "--id", ep, "--patient", "P-" + ep, "-", stdin=json.dumps(dict(OPEN, **kw)), url=url)


def rec(practice, ep, *args, url=None, **ev):
    return must(practice, "record", ep, *args, "-", stdin=json.dumps(ev), url=url)


# --- idempotency and --expect-seq ---------------------------------------------------------------

def idempotency():
    pr = "idem"
    open_ev = dict(OPEN, at="2026-02-02", onset="2026-02-01", age=30, id="open-1")
    out = must(pr, "open", "--id", "ep-i", "--patient", "P-i", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i", f"open: {out!r}")
    before = dump(pr)
    out = must(pr, "open", "--id", "ep-i2", "--patient", "P-i", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i (already opened by this event id)", f"open again under another --id: {out!r}")
    out = must(pr, "open", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i (already opened by this event id)", f"open again without --id: {out!r}")
    check(dump(pr) == before, "a repeated open changed the database")

    scr = dict(SCREEN, at="2026-02-02", id="scr-1")
    out = rec(pr, "ep-i", **scr)
    check(out.strip() == "ep-i event 1: screened, acute", f"record: {out!r}")
    before = dump(pr)
    out = rec(pr, "ep-i", **scr)
    check(out.strip() == "ep-i event 1 (already recorded): screened, acute", f"record again: {out!r}")
    out = rec(pr, "ep-i", **dict(scr, suspicion=True))
    check(out.strip().startswith("ep-i event 1 (already recorded)"), f"record again, another body: {out!r}")
    open_ep(pr, "ep-other", at="2026-02-02", onset="2026-02-01")
    before = dump(pr)
    out = rec(pr, "ep-other", **dict(scr, at="2026-03-01"))
    check(out.strip().startswith("ep-i event 1 (already recorded)"), f"record again for another episode: {out!r}")
    check(dump(pr) == before, "a repeated event id changed the database")

    # --expect-seq: the log of ep-i holds 2 entries
    strat = {"type": "stratification", "at": "2026-02-03", "profile": 1, "factors": {}, "id": "strat-1"}
    before = dump(pr)
    p = run(pr, "record", "ep-i", "--expect-seq", "1", "-", stdin=json.dumps(strat))
    one_line(p, "stale --expect-seq 1", mentions=["ep-i event 2"])
    check(dump(pr) == before, "a stale --expect-seq wrote to the database")
    out = rec(pr, "ep-i", "--expect-seq", "2", **strat)
    check(out.strip() == "ep-i event 2: treatment, acute", f"--expect-seq 2: {out!r}")
    out = rec(pr, "ep-i", "--expect-seq", "2", **strat)
    check(out.strip() == "ep-i event 2 (already recorded): treatment, acute", f"retry with --expect-seq: {out!r}")
    before = dump(pr)
    p = run(pr, "record", "ep-i", "--expect-seq", "2", "-", stdin=json.dumps({"type": "session", "at": "2026-02-04"}))
    one_line(p, "stale --expect-seq 2 after the log moved on", mentions=["ep-i"])
    check(dump(pr) == before, "a stale --expect-seq (2) wrote to the database")
    out = rec(pr, "ep-i", "--expect-seq", "3", type="session", at="2026-02-04")
    check(out.strip() == "ep-i event 3: treatment, acute", f"--expect-seq 3: {out!r}")

    # import: what is recorded is skipped, the rest recorded once; a second run changes nothing
    lines = [{"episode": "ep-i", "event": {"type": "session", "at": "2026-02-05", "id": "imp-1"}},
             {"episode": "ep-i", "event": scr},
             {"episode": "ep-j", "patient": "P-j", "event": dict(open_ev, id="open-j")},
             {"episode": "ep-j", "event": dict(scr, id="scr-j")}]
    text = "".join(json.dumps(x) + "\n" for x in lines)
    out = must(pr, "import", "-", stdin=text)
    check(out.strip() == "imported 3 events (1 episodes opened, 1 already recorded) from 4 lines", f"import: {out!r}")
    before = dump(pr)
    out = must(pr, "import", "-", stdin=text)
    check(out.strip() == "imported 0 events (0 episodes opened, 4 already recorded) from 4 lines",
          f"import again: {out!r}")
    check(dump(pr) == before, "a repeated import changed the database")
    i = json.loads(must(pr, "show", "ep-i", "--json"))
    check(i["sessions"] == 2 and i["state"] == "treatment", f"ep-i: {i['sessions']} sessions, {i['state']}")
    n_ids = psql(f"SELECT count(*), count(DISTINCT event_id) FROM zorgpad.events WHERE practice = '{pr}' "
                 "AND event_id IS NOT NULL").strip().split("|")
    check(n_ids[0] == n_ids[1], f"an event id is stored twice: {n_ids}")
    rebuild_clean(pr, "after the idempotency checks")


# --- concurrent writers -------------------------------------------------------------------------

def race(practice, cmds):
    """Starts every (args, stdin) at once; returns [(exit, stdout, stderr)] in the same order."""
    procs = [subprocess.Popen([ZORGPAD, "--db", URL, "--practice", practice, *args], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args, _ in cmds]
    out = [None] * len(procs)

    def talk(i):
        try:
            o, e = procs[i].communicate(cmds[i][1], timeout=60)
        except subprocess.TimeoutExpired:
            procs[i].kill()
            o, e = procs[i].communicate()
        out[i] = (procs[i].returncode, o.strip(), e.strip())

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(len(procs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def count(sql):
    return int(psql(sql).strip())


def concurrency():
    pr = "race"
    open_ep(pr, "ep-r")
    rec(pr, "ep-r", **SCREEN)
    rec(pr, "ep-r", type="stratification", at="2026-01-05", profile=1, factors={})
    open_ep(pr, "ep-s")
    rec(pr, "ep-s", **SCREEN)
    rec(pr, "ep-s", type="stratification", at="2026-01-05", profile=1, factors={})

    def events(ep):
        return count(f"SELECT count(*) FROM zorgpad.events WHERE practice = '{pr}' AND episode = '{ep}'")

    # the same event (same id) recorded by six processes at once
    n = events("ep-r")
    res = race(pr, [(["record", "ep-r", "-"], json.dumps({"type": "session", "at": "2026-01-06", "id": "same-1"}))] * 6)
    check(all(r[0] == 0 for r in res), f"racing records of one event id: exits {[r[:1] + r[2:] for r in res if r[0]]}")
    check(sum(r[1] == f"ep-r event {n}: treatment, acute" for r in res) == 1
          and sum(r[1] == f"ep-r event {n} (already recorded): treatment, acute" for r in res) == 5,
          f"racing records of one event id: expected 1 recorded and 5 already recorded, got {[r[1] for r in res]}")
    check(events("ep-r") == n + 1, f"racing records of one event id stored {events('ep-r') - n} events")

    # six writers with the same, right --expect-seq: one wins, the others are stale
    n = events("ep-r")
    res = race(pr, [(["record", "ep-r", "--expect-seq", str(n), "-"],
                     json.dumps({"type": "session", "at": "2026-01-07"}))] * 6)
    won = [r for r in res if r[0] == 0]
    stale = [r for r in res if r[0] == 2 and r[1] == "" and len(r[2].splitlines()) == 1 and "ep-r" in r[2]]
    check(len(won) == 1 and len(stale) == 5,
          f"racing --expect-seq {n}: expected one success and 5 exit-2 refusals, got {res}")
    check(events("ep-r") == n + 1, f"racing --expect-seq {n}: {events('ep-r') - n} events stored, expected 1")

    # racing writers without --expect-seq: all recorded, seqs 1..n without a gap
    n = events("ep-s")
    res = race(pr, [(["record", "ep-s", "-"], json.dumps({"type": "session", "at": "2026-01-08"}))] * 6)
    check(all(r[0] == 0 for r in res), f"racing plain records: {[r for r in res if r[0]]}")
    seqs = psql(f"SELECT seq FROM zorgpad.events WHERE practice = '{pr}' AND episode = 'ep-s' ORDER BY seq").split()
    check(seqs == [str(i) for i in range(1, n + 7)], f"racing plain records: seqs {seqs}")

    # Duplicates racing each other, several kinds at once per round (the window is small):
    # - a retried open (same --id, same event id) racing the first attempt: the episode is
    #   opened once and every attempt reports it, as a sequential retry does;
    # - opens of one --id without an event id: one opens it, the others are told it exists (exit 2);
    # - one event id sent for two episodes: recorded once, the others report the first result;
    # - two imports of one file: both succeed, every line stored once.
    bad = {"retry": [], "twice": [], "two": [], "import": []}
    rounds = 3
    for k in range(rounds):
        retry, twice = f"ep-retry-{k}", f"ep-twice-{k}"
        lines = [{"episode": f"imp-{k}-{j}", "patient": "P", "event": dict(OPEN, id=f"imp-{k}-{j}/0")} for j in range(4)]
        lines += [{"episode": f"imp-{k}-{j}", "event": dict(SCREEN, id=f"imp-{k}-{j}/1")} for j in range(4)]
        cmds = ([("retry", ["open", "--id", retry, "-"], json.dumps(dict(OPEN, id=f"open-retry-{k}")))] * 4
                + [("twice", ["open", "--id", twice, "-"], json.dumps(OPEN))] * 4
                + [("two", ["record", ep, "-"], json.dumps({"type": "session", "at": "2026-01-09", "id": f"two-{k}"}))
                   for ep in ("ep-r", "ep-s", "ep-r", "ep-s")]
                + [("import", ["import", "-"], "".join(json.dumps(x) + "\n" for x in lines))] * 2)
        res = race(pr, [(args, stdin) for _, args, stdin in cmds])
        by = {}
        for (kind, _, _), r in zip(cmds, res):
            by.setdefault(kind, []).append(r)
        r = by["retry"]
        if not (all(x[0] == 0 and x[1] in (retry, f"{retry} (already opened by this event id)") for x in r)
                and sum(x[1] == retry for x in r) == 1):
            bad["retry"].append([x for x in r if x[1] != f"{retry} (already opened by this event id)"])
        r = by["twice"]
        won = [x for x in r if x[0] == 0 and x[1] == twice]
        exists = [x for x in r if x[0] == 2 and x[2] == f"zorgpad: {twice}: the episode already exists"]
        if len(won) != 1 or len(exists) != 3:
            bad["twice"].append([x for x in r if x not in won and x not in exists])
        r = by["two"]
        if any(x[0] != 0 for x in r):
            bad["two"].append([x for x in r if x[0] != 0])
        r = by["import"]
        if any(x[0] != 0 for x in r):
            bad["import"].append([x for x in r if x[0] != 0])
        for ep in (retry, twice):
            check(events(ep) == 1, f"racing opens of {ep}: {events(ep)} events")
        check(count(f"SELECT count(*) FROM zorgpad.events WHERE practice = '{pr}' AND event_id = 'two-{k}'") == 1,
              f"event id two-{k} stored other than once")
        check(count(f"SELECT count(*) FROM zorgpad.events WHERE practice = '{pr}' AND event_id LIKE 'imp-{k}-%'") == 8,
              f"racing imports {k}: the 8 lines are not stored once each")
    check(not bad["retry"], "racing retries of one open (same --id, same event id): expected every one to exit 0 "
          f"reporting the episode; {len(bad['retry'])} of {rounds} rounds differ, e.g. {bad['retry'][:2]}")
    check(not bad["twice"], "racing opens of one --id: expected one opened and the others 'the episode already "
          f"exists' (exit 2); {len(bad['twice'])} of {rounds} rounds differ, e.g. {bad['twice'][:2]}")
    check(not bad["two"], "racing records of one event id for two episodes: expected exit 0 ('already recorded'); "
          f"{len(bad['two'])} of {rounds} rounds had a failing command, e.g. {bad['two'][:2]}")
    check(not bad["import"], f"racing imports of one file: {len(bad['import'])} of {rounds} rounds had a failing "
          f"import, e.g. {bad['import'][:2]}")
    rebuild_clean(pr, "after the races")


# --- bad input ----------------------------------------------------------------------------------

def bad_input(tmp):
    """Each bad command exits 2 with SQLite's line for the same input and leaves the rows as they were."""
    pr = "bad"
    lite = os.path.join(tmp, "bad.db")
    must(None, "init", url=lite)
    for db, practice in ((lite, None), (None, pr)):
        open_ep(practice, "ep-intake", url=db)
        open_ep(practice, "ep-tx", url=db)
        rec(practice, "ep-tx", url=db, **SCREEN)
        rec(practice, "ep-tx", url=db, type="measurement", at="2026-01-05", nprs=6, qbpds=40)
        rec(practice, "ep-tx", url=db, type="stratification", at="2026-01-05", factors={"leg_pain": "present"})
        rec(practice, "ep-tx", url=db, type="session", at="2026-01-12")
    good_line = json.dumps({"episode": "ep-new", "patient": "P", "event": OPEN}) + "\n"
    cases = [
        ("malformed JSON", ["record", "ep-tx", "-"], '{"type": "session", "at": "2026-01-13"', ["not valid JSON"]),
        ("not an object", ["record", "ep-tx", "-"], "[1, 2]", ["ep-tx"]),
        ("unknown episode", ["record", "ep-nobody", "-"], json.dumps({"type": "session", "at": "2026-01-13"}),
         ["ep-nobody"]),
        ("refused by the pathway: a session in intake", ["record", "ep-intake", "-"],
         json.dumps({"type": "session", "at": "2026-01-06"}), ["ep-intake event 1", "not allowed"]),
        ("refused by the pathway: a second open", ["record", "ep-tx", "-"], json.dumps(dict(OPEN, at="2026-01-13")),
         ["ep-tx event 5"]),
        ("nprs out of range", ["record", "ep-tx", "-"],
         json.dumps({"type": "measurement", "at": "2026-01-13", "nprs": 11}), ["ep-tx event 5", "nprs"]),
        ("unknown field", ["record", "ep-tx", "-"], json.dumps({"type": "session", "at": "2026-01-13", "colour": 1}),
         ["colour"]),
        ("back in time", ["record", "ep-tx", "-"], json.dumps({"type": "session", "at": "2026-01-10"}), ["ep-tx event 5"]),
        ("control character", ["record", "ep-tx", "-"],
         json.dumps({"type": "gp_request", "at": "2026-01-13", "question": "a\u001bb", "gp": "x\u001b"}), ["ep-tx"]),
        ("open without onset", ["open", "--id", "ep-x", "-"], json.dumps({k: v for k, v in OPEN.items() if k != "onset"}),
         ["ep-x", "onset"]),
        ("open of an existing id", ["open", "--id", "ep-tx", "-"], json.dumps(OPEN), ["ep-tx"]),
        ("import: a bad third line in the one batch", ["import", "-"],
         good_line + json.dumps({"episode": "ep-new", "event": SCREEN}) + "\n"
         + json.dumps({"episode": "ep-new", "event": {"type": "measurement", "at": "2026-01-05", "nprs": 12}}) + "\n",
         ["line 3"]),
        ("import: an unknown episode", ["import", "-"],
         good_line + json.dumps({"episode": "ep-ghost", "event": {"type": "session", "at": "2026-01-06"}}) + "\n",
         ["ep-ghost"]),
        ("stale --expect-seq", ["record", "ep-tx", "--expect-seq", "3", "-"],
         json.dumps({"type": "session", "at": "2026-01-13"}), ["ep-tx"]),
        ("malformed --now", ["tick", "--now", "2026-02-30"], None, ["--now"]),
        ("unknown task", ["task", "done", "999999"], None, ["999999"]),
        ("show of an unknown episode", ["show", "ep-nobody"], None, ["ep-nobody"]),
    ]
    for name, args, stdin, mentions in cases:
        before = dump(pr)
        p = run(pr, *args, stdin=stdin)
        after = dump(pr)
        line = one_line(p, f"bad input, {name}", mentions=mentions)
        check(after == before, f"bad input, {name}: the practice's rows changed")
        q = run(None, *args, stdin=stdin, url=lite)
        check(q.returncode == 2 and line == q.stderr.strip(),
              f"bad input, {name}: PostgreSQL says {line!r}, SQLite (exit {q.returncode}) {q.stderr.strip()!r}")

    # a rejected first command under a new practice code adds nothing, not even the code
    p = run("bad-new", "record", "ep-1", "-", stdin=json.dumps({"type": "session", "at": "2026-01-06"}))
    one_line(p, "record under a new practice code", mentions=["ep-1"])
    p = run("bad-new", "open", "--id", "ep-1", "-", stdin=json.dumps(dict(OPEN, age=-1)))
    one_line(p, "a bad open under a new practice code", mentions=["ep-1"])
    check(dump("bad-new") == "", f"rejected commands under a new practice code wrote: {dump('bad-new')[:300]!r}")
    rebuild_clean(pr, "after the bad input", episodes=2, events=6)


# --- crash: an import killed with SIGKILL -------------------------------------------------------

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
    """Writes the NDJSON file, the episodes' events interleaved; returns (episode, patient, event) in file order."""
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


def wait_disconnected(role="zorgpad_a"):
    """Waits until the killed import's backend is gone: a COMMIT it sent may still be landing."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if SQL.run(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}'").strip() == "0":
            return True
        time.sleep(0.02)
    return check(False, f"the killed import's connection of {role} is still open after 20 s")


def import_and_kill(pr, path, at_least, via_pipe=False):
    """Starts the import and SIGKILLs it once at least `at_least` events are stored.

    via_pipe: the import reads standard input, fed the first half of the file,
    so it cannot finish before the kill however fast it is."""
    cmd = [ZORGPAD, "--db", URL, "--practice", pr, "import", "-" if via_pipe else path, "--batch", str(BATCH)]
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
                pass

        feeder = threading.Thread(target=feed)
        feeder.start()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and p.poll() is None:
        if int(SQL.run(f"SELECT count(*) FROM zorgpad.events WHERE practice = '{pr}'")) >= at_least:
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
        check(p.returncode == -signal.SIGKILL, f"the import was not killed by SIGKILL: {p.returncode}")
    wait_disconnected()
    return not finished


def json_rows(select):
    """The rows of a query as dicts, through json_agg (safe for any text in the bodies)."""
    return json.loads(psql(f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({select}) q"))


def check_prefix(pr, lines, when):
    """The stored log is the first k*BATCH lines of the file; projections, timers and counts agree with it."""
    q = f"practice = '{pr}'"
    stored = sorted((r["episode"], r["seq"], r["event_id"], r["body"]) for r in
                    json_rows(f"SELECT episode, seq, event_id, body FROM zorgpad.events WHERE {q}"))
    projections = {r["id"]: r["last_seq"] for r in json_rows(f"SELECT id, last_seq FROM zorgpad.episodes WHERE {q}")}
    total = len(stored)
    check(total % BATCH == 0 or total == len(lines),
          f"{when}: {total} events stored, not a whole number of batches of {BATCH}")
    want = {}
    for ep, _, ev in lines[:total]:
        # the log keeps the canonical form: a field at its default is not written
        want.setdefault(ep, []).append({k: v for k, v in ev.items() if not (v is None or v is False or v == [])})
    got = {}
    for ep, seq, event_id, body in stored:
        b = json.loads(body)
        if b.get("type") == "open":
            b.pop("patient", None)  # the store adds the line's patient reference to the open entry
            if b.pop("revision", None) != 2:  # and the pathway revision the episode follows
                check(False, f"{when}: {ep}: the open entry does not record pathway revision 2")
        got.setdefault(ep, []).append((seq, event_id, b))
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
    check(set(projections) == set(got), f"{when}: {len(projections)} projections for {len(got)} episodes with events")
    lagging = [ep for ep, evs in got.items() if projections.get(ep) != len(evs)]
    check(not lagging, f"{when}: projection last_seq differs from the log for {lagging[:5]}")
    # every pending timer has its row, due on the episode's next_due; the counts are the projections'
    mism = psql(f"SELECT count(*) FROM (SELECT id, next_due FROM zorgpad.episodes WHERE {q} AND next_due IS NOT NULL) e "
                f"FULL JOIN (SELECT episode, due FROM zorgpad.timers WHERE {q}) t ON t.episode = e.id "
                "WHERE e.next_due IS DISTINCT FROM t.due").strip()
    check(mism == "0", f"{when}: {mism} episode(s) whose timers row does not match next_due")
    counts = psql(f"SELECT count(*) FROM (SELECT state, phase, coalesce(profile, 0) AS profile, count(*) AS n "
                  f"FROM zorgpad.episodes WHERE {q} GROUP BY 1, 2, 3) e FULL JOIN (SELECT state, phase, profile, n "
                  f"FROM zorgpad.episode_counts WHERE {q} AND n <> 0) c USING (state, phase, profile) "
                  "WHERE e.n IS DISTINCT FROM c.n").strip()
    check(counts == "0", f"{when}: episode_counts differs from the projections in {counts} group(s)")
    return total


def crash(tmp):
    pr = "crash"
    path = os.path.join(tmp, "events.ndjson")
    lines = make_file(path)
    n = len(lines)
    killed = import_and_kill(pr, path, 5 * BATCH, via_pipe=True)
    first = check_prefix(pr, lines, "after the first kill")
    check(killed and 0 < first < n, f"the first import was not killed mid-way ({first} of {n} events)")
    rebuild_clean(pr, "after the first kill")

    import_and_kill(pr, path, first + 10 * BATCH)
    second = check_prefix(pr, lines, "after the second kill")
    check(second >= first, f"the resumed import lost events: {first} -> {second}")
    rebuild_clean(pr, "after the second kill")

    p = run(pr, "import", path, "--batch", str(BATCH))
    check(p.returncode == 0, f"the final import failed: {p.returncode} {p.stderr.strip()}")
    m = re.fullmatch(r"imported (\d+) events \((\d+) episodes opened, (\d+) already recorded\) from (\d+) lines",
                     p.stdout.strip())
    if check(m is not None, f"unexpected import report {p.stdout!r}"):
        recorded, _, dups, nlines = map(int, m.groups())
        check((recorded, dups, nlines) == (n - second, second, n),
              f"final import reported {recorded} recorded, {dups} already recorded from {nlines} lines; "
              f"expected {n - second}, {second}, {n}")
    final = check_prefix(pr, lines, "after the final import")
    check(final == n, f"{final} events stored, the file has {n}")
    ids = psql(f"SELECT count(*) - count(DISTINCT event_id), count(*) FILTER (WHERE event_id IS NULL) "
               f"FROM zorgpad.events WHERE practice = '{pr}'").strip()
    check(ids == "0|0", f"duplicate | missing event ids: {ids}")
    rebuild_clean(pr, "after the final import", episodes=EPISODES, events=n)
    print(f"crash: killed at {first} and {second} of {n} events; resumed and complete")
    return lines


# --- tick ---------------------------------------------------------------------------------------

def replay_sample(lines, until, every=97):
    per_ep = {}
    for ep, patient, ev in lines:
        per_ep.setdefault((ep, patient), []).append({k: v for k, v in ev.items() if k != "id"})
    sample = sorted(per_ep)[::every]
    scen = {"until": until, "episodes": [{"id": ep, "patient": pt, "events": per_ep[(ep, pt)]} for ep, pt in sample]}
    r = subprocess.run([ZORGPAD, "replay", "-"], input=json.dumps(scen), capture_output=True, text=True, timeout=60)
    if not check(r.returncode == 0, f"replay of the sample failed: {r.stderr.strip()}"):
        return []
    return json.loads(r.stdout)["episodes"]


def tick(lines):
    pr = "crash"
    now = "2026-04-20"
    due = count(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'crash' AND due <= '{now}'")
    check(due > 0, "nothing is due: the tick checks test nothing")
    p = run(pr, "tick", "--now", now)
    m = re.fullmatch(r"tick " + now + r": (\d+) timer\(s\) fired in (\d+) episode\(s\)", p.stdout.strip())
    check(p.returncode == 0 and m is not None and int(m.group(2)) == due,
          f"tick --now {now}: exit {p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}; {due} episodes were due")
    left = count(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'crash' AND due <= '{now}'")
    check(left == 0, f"after tick --now {now}: {left} timer row(s) still due")
    rebuild_clean(pr, "after tick", episodes=EPISODES, events=len(lines))
    before = dump(pr)
    p = run(pr, "tick", "--now", now)
    check(p.returncode == 0 and p.stdout.strip() == f"tick {now}: 0 timer(s) fired in 0 episode(s)",
          f"a second tick --now {now}: {p.stdout.strip()!r} {p.stderr.strip()!r}")
    check(dump(pr) == before, "a second tick to the same date changed the database")
    for exp in replay_sample(lines, now, every=163):
        s = run(pr, "show", exp["id"], "--json")
        check(s.returncode == 0 and json.loads(s.stdout) == exp,
              f"{exp['id']}: show --json after tick --now {now} differs from replay with until {now}")
    # and on, by a worker pass of this practice
    later = "2026-06-01"
    p = run(pr, "worker", "--once", "--now", later, "--batch", "50")
    check(p.returncode == 0, f"worker --once --now {later}: exit {p.returncode} {p.stderr.strip()!r}")
    left = count(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'crash' AND due <= '{later}'")
    check(left == 0, f"after worker --once --now {later}: {left} timer row(s) still due")
    rebuild_clean(pr, "after worker --once", episodes=EPISODES, events=len(lines))
    for exp in replay_sample(lines, later, every=241):
        s = run(pr, "show", exp["id"], "--json")
        check(s.returncode == 0 and json.loads(s.stdout) == exp,
              f"{exp['id']}: show --json after worker --now {later} differs from replay with until {later}")


# --- connections, roles, schema version, practice -----------------------------------------------

def with_credentials(url, user, password, host=None, port=None, database=None):
    u = urllib.parse.urlsplit(url)
    netloc = f"{user}:{password}@{host or u.hostname}:{port if port is not None else u.port}"
    return urllib.parse.urlunsplit((u.scheme, netloc, "/" + (database or u.path.lstrip("/")), u.query, u.fragment))


READ_WRITE = [(["tasks"], None), (["record", "ep-1", "-"], json.dumps({"type": "session", "at": "2026-01-20"}))]
ALL = READ_WRITE + [(["show", "ep-1"], None), (["open", "--id", "ep-new", "-"], json.dumps(OPEN))]


def refused(url, practice, where, mentions=(), secret=None, within=10.0, cmds=READ_WRITE):
    """Every command fails with exit 2 and one line, quickly, without the password; writes nothing."""
    for args, stdin in cmds:
        t = time.monotonic()
        try:
            p = run(practice, *args, stdin=stdin, url=url, timeout=30)
        except subprocess.TimeoutExpired:
            check(False, f"{where}: {' '.join(args)} hangs (no exit within 30 s)")
            continue
        took = time.monotonic() - t
        one_line(p, f"{where}: {' '.join(args)}", mentions=mentions)
        check(took < within, f"{where}: {' '.join(args)} took {took:.1f} s")
        if secret:
            check(secret not in p.stderr, f"{where}: {' '.join(args)}: stderr shows the password: {p.stderr.strip()!r}")


def connections():
    pr = "conn"
    open_ep(pr, "ep-1")
    rec(pr, "ep-1", **SCREEN)
    before = dump(pr)
    u = urllib.parse.urlsplit(URL)

    refused(with_credentials(URL, "zorgpad_a", "pw-unreach-7f3", host="127.0.0.1", port=1), pr,
            "an unreachable server", secret="pw-unreach-7f3", within=5)
    refused(with_credentials(URL, "zorgpad_a", "pw-wrong-5c1"), pr, "a wrong password", secret="pw-wrong-5c1", within=5)
    refused(with_credentials(URL, "zorgpad_a", "a-pw", database="zorgpad_nosuchdb"), pr, "an unknown database")
    refused(f"postgresql://zorgpad_a:pw-malformed-9d2@[::1:{u.port}/zorgpad", pr, "a malformed URL",
            secret="pw-malformed-9d2")
    refused(with_credentials(URL, "zorgpad_a", "a-pw") + "?nonsense=1", pr, "an unknown URL parameter")

    # roles outside zorgpad_app
    psql("DROP ROLE IF EXISTS zorgpad_stranger; CREATE ROLE zorgpad_stranger LOGIN PASSWORD 'st-pw-41';"
         "DROP ROLE IF EXISTS zorgpad_usage; CREATE ROLE zorgpad_usage LOGIN PASSWORD 'us-pw-42';"
         "GRANT USAGE ON SCHEMA zorgpad TO zorgpad_usage;"
         "DROP ROLE IF EXISTS zorgpad_nologin; CREATE ROLE zorgpad_nologin NOLOGIN PASSWORD 'nl-pw-43' IN ROLE zorgpad_app")
    refused(with_credentials(URL, "zorgpad_stranger", "st-pw-41"), pr, "a login role not in zorgpad_app",
            secret="st-pw-41", cmds=ALL)
    refused(with_credentials(URL, "zorgpad_usage", "us-pw-42"), pr,
            "a login role not in zorgpad_app with USAGE on the schema", secret="us-pw-42")
    refused(with_credentials(URL, "zorgpad_nologin", "nl-pw-43"), pr, "a member of zorgpad_app that may not log in")

    # no practice, or a malformed one
    env = {k: v for k, v in os.environ.items() if k not in ("ZORGPAD_PRACTICE", "ZORGPAD_DB")}
    for args in (["show", "ep-1"], ["tick", "--now", "2026-02-01"]):
        p = run(None, *args, env=env)
        one_line(p, f"no --practice: {' '.join(args)}", mentions=["practice"])
    p = subprocess.run([ZORGPAD, "tasks"], capture_output=True, text=True, timeout=30, env=dict(env, ZORGPAD_DB=URL))
    one_line(p, "$ZORGPAD_DB a PostgreSQL URL, no practice", mentions=["practice"])
    p = subprocess.run([ZORGPAD, "--db", URL, "show", "ep-1", "--json"], capture_output=True, text=True, timeout=30,
                       env=dict(env, ZORGPAD_PRACTICE=pr))
    check(p.returncode == 0 and json.loads(p.stdout or "{}").get("id") == "ep-1",
          f"$ZORGPAD_PRACTICE is not used: exit {p.returncode} {p.stderr.strip()!r}")
    for bad in ("bad code", "x" * 33, ""):
        p = run(bad, "tasks")
        one_line(p, f"--practice {bad!r}", mentions=["practice"])
    check(dump(pr) == before, "a refused connection or practice changed the practice's rows")

    # a schema newer, then older, than the binary's
    current = psql("SELECT value FROM zorgpad.meta WHERE key = 'schema_version'").strip()
    try:
        psql("UPDATE zorgpad.meta SET value = '99' WHERE key = 'schema_version'")
        cmds = [(["tasks"], None), (["show", "ep-1"], None), (["rebuild"], None),
                (["tick", "--now", "2026-02-01"], None), (["worker", "--once", "--now", "2026-02-01"], None),
                (["record", "ep-1", "-"], json.dumps({"type": "session", "at": "2026-01-20"})),
                (["open", "--id", "ep-new", "-"], json.dumps(OPEN)),
                (["import", "-"], json.dumps({"episode": "ep-9", "patient": "P", "event": OPEN}) + "\n")]
        refused(URL, pr, "schema version 99", mentions=["99", "newer"], cmds=cmds)
        p = run(None, "init", url=OWNER_URL, timeout=30)
        one_line(p, "init as the owner on schema version 99", mentions=["99"])
        check(psql("SELECT value FROM zorgpad.meta WHERE key = 'schema_version'").strip() == "99",
              "init changed the newer schema's version")
        psql("UPDATE zorgpad.meta SET value = '0' WHERE key = 'schema_version'")
        refused(URL, pr, "schema version 0", mentions=["init"], cmds=cmds[:2] + cmds[5:6])
    finally:
        psql(f"UPDATE zorgpad.meta SET value = '{current}' WHERE key = 'schema_version'")
    check(dump(pr) == before, "commands on a schema of another version changed the practice's rows")
    p = run(pr, "show", "ep-1", "--json")
    check(p.returncode == 0, f"show after the schema version was restored: {p.stderr.strip()!r}")

    # A multi-host URL (failover, docs/deploy.md): the first host is down, the
    # second is the primary; libpq goes on to it and the command works.
    multi = f"postgresql://zorgpad_a:a-pw@127.0.0.1:1,{u.hostname}:{u.port}/zorgpad?target_session_attrs=read-write"
    p = run(pr, "show", "ep-1", "--json", url=multi, timeout=30)
    check(p.returncode == 0 and json.loads(p.stdout or "{}").get("id") == "ep-1",
          f"a multi-host URL whose first host is down: exit {p.returncode} {p.stderr.strip()!r}")
    p = run(pr, "open", "--id", "ep-multi", "-", stdin=json.dumps(OPEN), url=multi, timeout=30)
    check(p.returncode == 0, f"open through a multi-host URL: exit {p.returncode} {p.stderr.strip()!r}")


def main():
    if not URL or not OWNER_URL:
        print("ZORGPAD_PG_URL / ZORGPAD_PG_OWNER_URL not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    global SQL
    t0 = time.monotonic()
    SQL = Session()
    with tempfile.TemporaryDirectory(prefix="zorgpad-pg-store-") as tmp:
        for name, section in (("idempotency", idempotency), ("concurrency", concurrency),
                              ("bad input", lambda: bad_input(tmp)), ("connections", connections)):
            t = time.monotonic()
            section()
            print(f"{name}: {time.monotonic() - t:.1f} s")
        t = time.monotonic()
        lines = crash(tmp)
        print(f"crash: {time.monotonic() - t:.1f} s")
        t = time.monotonic()
        tick(lines)
        print(f"tick: {time.monotonic() - t:.1f} s")
    SQL.close()
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
