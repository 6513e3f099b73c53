#!/usr/bin/python3
"""`zorgpad migrate` moves a practice's SQLite store into PostgreSQL whole, and
only once (issue 13; docs/deploy.md, "Moving a practice in").

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3 pg_migrate.py
ZORGPAD_BINARY` (ctest does). The SQLite practice is `zorgpad demo --episodes
30 --seed 7` with --today 2026-06-30 (daily ticks up to that date, so it has
fired timers, done and cancelled tasks, closed and referred episodes);
`rebuild` on it finds nothing to repair, as the procedure requires.

- the command line docs/deploy.md gives (`zorgpad migrate --from FILE --to URL
  --practice CODE`, --practice after the subcommand) works; the rest of the
  test runs `zorgpad --practice CODE migrate …`, which the CLI takes anyway;
- it reports every episode copied; the SQLite file is left byte-for-byte as it
  was; PostgreSQL holds the same episode ids, and the same log: per event
  episode, seq, type, date, body and event id, and the recorded_at audit time
  (when the event was recorded, not when it was migrated);
- `show ID --json` of every episode is the same on SQLite and on PostgreSQL;
  `tasks --json` and `overview --json` are too, but for the task ids (a
  database-wide sequence numbers them anew); `rebuild` on PostgreSQL reports
  0 differences for all the practice's episodes and events;
- a second run reports 0 copied, all already there, and changes nothing (the
  practice's rows dumped with psql before and after are equal);
- the timers came along: `tick --now` to two later dates on a copy of the
  file and on PostgreSQL report the same firings and leave every episode
  equal, and `rebuild` still finds 0 differences on both;
- the same file migrated into a second practice is independent of the first;
- into a practice where an episode of the same id has another log (another
  first event; or the log continued on PostgreSQL after an earlier migrate),
  migrate exits 2 with one line naming the episode, and writes nothing: no
  other episode is copied, the practice's rows are unchanged;
- a missing --from file, a file that is not a zorgpad store, --to that is not
  a PostgreSQL URL, a wrong password and no practice exit 2 with one line
  and write nothing;
- a store written by the release before pathway revision 2 (schema 4,
  tests/data/revision1.db) migrates too: its episodes show the same on both
  backends (a sample), and `rebuild` on PostgreSQL finds 0 differences.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

ZORGPAD = os.path.abspath(sys.argv[1])
URL = os.environ.get("ZORGPAD_PG_URL")
URL_B = os.environ.get("ZORGPAD_PG_URL_B")
TESTS_DIR = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TODAY = "2026-06-30"
EPISODES = 30
failures = []

PG_TABLES = {
    "episodes": "id", "events": "episode, seq", "tasks": "id", "timers": "episode",
    "ticks": "episode", "episode_counts": "state, phase, profile", "practices": "code",
}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def zp(*args, stdin=None, timeout=60):
    return subprocess.run([ZORGPAD, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


def on_pg(practice, *args, url=None):
    return zp("--db", url or URL, "--practice", practice, *args)


def on_lite(db, *args):
    return zp("--db", db, *args)


def must(p, what):
    if p.returncode != 0:
        raise SystemExit(f"{what}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class Session:
    """The superuser's psql session, kept open; run() returns the output rows and raises on an error."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0", "-d", "zorgpad"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)

    def run(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __end_of_output__ :SQLSTATE\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql ended: {''.join(out)[-300:]}")
            if line.startswith("__end_of_output__ "):
                break
            out.append(line.rstrip("\n"))
        if line.split()[1] != "00000":
            raise RuntimeError(f"psql {sql[:100]!r}: {' '.join(out)[:300]}")
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait()


SQL = None


def dump(practice):
    parts = []
    for table, order in PG_TABLES.items():
        col = "code" if table == "practices" else "practice"
        parts.append(f"SELECT '{table}', t::text FROM zorgpad.{table} t WHERE {col} = '{practice}' ORDER BY {order};")
    return "\n".join(SQL.run("\n".join(parts)))


def pg_json(select):
    return json.loads(SQL.run(f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({select}) q")[0])


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def one_line(p, where, code=2, mentions=()):
    check(p.returncode == code, f"{where}: exit {p.returncode}, expected {code}; stderr {p.stderr.strip()[:300]!r}")
    check(p.stdout == "", f"{where}: printed on stdout: {p.stdout[:200]!r}")
    lines = p.stderr.splitlines()
    if check(len(lines) == 1, f"{where}: stderr is not exactly one line: {p.stderr[:400]!r}"):
        check(lines[0].startswith("zorgpad: "), f"{where}: {lines[0]!r}")
        for m in mentions:
            check(m in lines[0], f"{where}: stderr does not mention {m!r}: {lines[0]!r}")


def rebuild_clean(p, when, episodes, events):
    check(p.returncode == 0 and p.stdout.strip() == f"rebuilt {episodes} episodes from {events} events: 0 difference(s)",
          f"{when}: rebuild: exit {p.returncode}, {p.stdout.strip()[-300:]!r} {p.stderr.strip()!r} "
          f"(expected {episodes} episodes, {events} events)")


def lite_rows(db, sql):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def migrate(practice, db, url=None):
    """The global-option form, which the CLI takes whatever the documented form does."""
    return zp("--practice", practice, "migrate", "--from", db, "--to", url or URL)


def documented_migrate(demo, practice):
    """The arguments of the `zorgpad … migrate` line of docs/deploy.md, with this test's file, URL and practice."""
    try:
        with open(os.path.join(os.path.dirname(TESTS_DIR), "docs", "deploy.md")) as f:
            m = re.search(r"^zorgpad (.*\bmigrate\b.*--from.*)$", f.read(), re.M)
    except OSError:
        m = None
    args = shlex.split(m.group(1)) if m else \
        ["migrate", "--from", "practice.db", "--to", "postgresql://db1/zorgpad", "--practice", "fysio-noord"]
    values = {"--from": demo, "--to": URL, "--practice": practice}
    return [values.get(args[i - 1], a) if i else a for i, a in enumerate(args)]


def compare_shows(db, practice, ids, when):
    """show --json of each id on SQLite and PostgreSQL, equal; a few at a time."""
    def both(ep):
        return ep, on_lite(db, "show", ep, "--json"), on_pg(practice, "show", ep, "--json")

    differ = []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for ep, a, b in pool.map(both, ids):
            if not (a.returncode == 0 and b.returncode == 0 and json.loads(a.stdout) == json.loads(b.stdout)):
                differ.append(ep)
                if len(differ) <= 2:
                    check(False, f"{when}: show {ep} --json differs: SQLite exit {a.returncode} {a.stdout[:150]!r} "
                                 f"{a.stderr.strip()!r}, PostgreSQL exit {b.returncode} {b.stdout[:150]!r} "
                                 f"{b.stderr.strip()!r}")
    check(not differ, f"{when}: {len(differ)} of {len(ids)} episodes show differently on SQLite and PostgreSQL: "
                      f"{differ[:10]}")


def without_task_ids(doc):
    """The JSON with the ids of tasks left out and lists put in a fixed order (ties in due date were
    ordered by task id)."""
    if isinstance(doc, dict):
        return {k: without_task_ids(v) for k, v in doc.items() if not (k == "id" and "kind" in doc)}
    if isinstance(doc, list):
        items = [without_task_ids(x) for x in doc]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
    return doc


# --- the migration ------------------------------------------------------------------------------

def first_migration(demo):
    digest = sha256(demo)
    ids = [r[0] for r in lite_rows(demo, "SELECT id FROM episodes ORDER BY id")]
    n_events = lite_rows(demo, "SELECT count(*) FROM events")[0][0]
    check(len(ids) == EPISODES, f"the demo has {len(ids)} episodes, asked for {EPISODES}")

    # the command line docs/deploy.md gives
    args = documented_migrate(demo, "DEMO")
    p = zp(*args)
    want = f"migrate: {EPISODES} episode(s) copied, 0 already there, practice DEMO"
    if not check(p.returncode == 0 and p.stdout.strip() == want,
                 f"the command of docs/deploy.md, `zorgpad {' '.join(args)}`: exit "
                 f"{p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}"):
        p = migrate("DEMO", demo)
        check(p.returncode == 0 and p.stdout.strip() == want,
              f"zorgpad --practice DEMO migrate: exit {p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}")
    check(sha256(demo) == digest, "migrate changed the SQLite file it copied from")

    pg_ids = sorted(r["id"] for r in pg_json("SELECT id FROM zorgpad.episodes WHERE practice = 'DEMO'"))
    check(pg_ids == sorted(ids), f"episode ids on PostgreSQL {pg_ids[:5]}… differ from SQLite's {sorted(ids)[:5]}…")
    lite_ev = [tuple(r) for r in lite_rows(demo, "SELECT episode, seq, type, at, body, event_id, recorded_at "
                                                 "FROM events ORDER BY episode, seq")]
    pg_ev = sorted((r["episode"], r["seq"], r["type"], r["at"], r["body"], r["event_id"], r["recorded_at"])
                   for r in pg_json("SELECT episode, seq, type, to_char(at, 'YYYY-MM-DD') AS at, body, event_id, "
                                    "recorded_at FROM zorgpad.events WHERE practice = 'DEMO'"))
    lite_ev.sort()
    check([e[:6] for e in pg_ev] == [e[:6] for e in lite_ev],
          f"the log on PostgreSQL ({len(pg_ev)} events) is not SQLite's ({len(lite_ev)}): first difference "
          f"{next(((a[:6], b[:6]) for a, b in zip(lite_ev, pg_ev) if a[:6] != b[:6]), None)}")
    moved = [(a[0], a[1], a[6], b[6]) for a, b in zip(lite_ev, pg_ev) if a[:2] == b[:2] and a[6] != b[6]]
    check(not moved, f"migrate did not keep recorded_at (when each event was recorded): {len(moved)} of "
                     f"{len(lite_ev)} events differ, e.g. {moved[0] if moved else ''} (episode, seq, SQLite, PostgreSQL)")

    compare_shows(demo, "DEMO", ids, "after migrate")
    a = json.loads(must(on_lite(demo, "tasks", "--json"), "tasks on SQLite"))
    b = json.loads(must(on_pg("DEMO", "tasks", "--json"), "tasks on PostgreSQL"))
    check(len(a["tasks"]) == len(b["tasks"]) and without_task_ids(a) == without_task_ids(b),
          f"tasks --json differs beyond the task ids: {len(a['tasks'])} tasks on SQLite, {len(b['tasks'])} on PostgreSQL")
    a = json.loads(must(on_lite(demo, "--today", TODAY, "overview", "--json"), "overview on SQLite"))
    b = json.loads(must(zp("--db", URL, "--practice", "DEMO", "--today", TODAY, "overview", "--json"),
                        "overview on PostgreSQL"))
    check(without_task_ids(a) == without_task_ids(b), "overview --json differs beyond the task ids")
    rebuild_clean(on_pg("DEMO", "rebuild"), "after migrate", EPISODES, n_events)

    # a second run changes nothing (the SQLite file's digest from just before
    # it: `show` on the file above appends to its audit log)
    before = dump("DEMO")
    digest = sha256(demo)
    p = migrate("DEMO", demo)
    check(p.returncode == 0 and p.stdout.strip() == f"migrate: 0 episode(s) copied, {EPISODES} already there, practice DEMO",
          f"the second migrate: exit {p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}")
    check(dump("DEMO") == before, "the second migrate changed the practice's rows")
    check(sha256(demo) == digest, "the second migrate changed the SQLite file")
    return ids, n_events


def timers_came_along(demo, tmp, ids, n_events):
    """Ticks on a copy of the file and on PostgreSQL fire the same timers."""
    copy = os.path.join(tmp, "demo-tick.db")
    shutil.copyfile(demo, copy)
    for now in ("2026-07-20", "2026-09-30"):
        a = on_lite(copy, "tick", "--now", now)
        b = on_pg("DEMO", "tick", "--now", now)
        check(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout and "0 timer(s)" not in a.stdout,
              f"tick --now {now}: SQLite {a.stdout.strip()!r} {a.stderr.strip()!r}, "
              f"PostgreSQL {b.stdout.strip()!r} {b.stderr.strip()!r}")
    compare_shows(copy, "DEMO", ids, "after ticks on both")
    rebuild_clean(on_lite(copy, "rebuild"), "SQLite after the ticks", EPISODES, n_events)
    rebuild_clean(on_pg("DEMO", "rebuild"), "PostgreSQL after the ticks", EPISODES, n_events)


def second_practice(demo):
    """The same file into another practice, by the other login: independent of DEMO."""
    before = dump("DEMO")
    p = migrate("DEMO2", demo, url=URL_B)
    check(p.returncode == 0 and p.stdout.strip() == f"migrate: {EPISODES} episode(s) copied, 0 already there, practice DEMO2",
          f"migrate into DEMO2: exit {p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}")
    check(dump("DEMO") == before, "migrating into DEMO2 changed DEMO")
    n = SQL.run("SELECT count(*) FROM zorgpad.episodes WHERE practice = 'DEMO2'")[0]
    check(n == str(EPISODES), f"DEMO2 has {n} episodes")


def conflicts(demo, ids):
    victim = ids[len(ids) // 2]
    # another first event under the same id
    other_open = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 33}
    p = zp("--db", URL, "--practice", "CONFL", "open", "--id", victim, "--patient", "someone-else", "-",
           stdin=json.dumps(other_open))
    must(p, f"open {victim} under CONFL")
    before = dump("CONFL")
    p = migrate("CONFL", demo)
    one_line(p, "migrate into a practice where an episode of the same id has another log", mentions=[victim])
    n = SQL.run("SELECT count(*) FROM zorgpad.episodes WHERE practice = 'CONFL'")[0]
    check(dump("CONFL") == before, f"a refused migrate (another log under {victim}) wrote to the practice: it holds "
                                   f"{n} episodes, it held 1 (docs/deploy.md: one transaction, nothing is written)")

    # the log continued on PostgreSQL after a migrate: running migrate again is refused
    must(migrate("CONT", demo), "migrate into CONT")
    live = [r["id"] for r in pg_json("SELECT id FROM zorgpad.episodes WHERE practice = 'CONT' AND NOT terminal "
                                     "AND state = 'treatment' ORDER BY id")]
    if check(live, "no episode in treatment to continue"):
        ep = live[0]
        last = pg_json(f"SELECT max(at)::text AS at FROM zorgpad.events WHERE practice = 'CONT' AND episode = '{ep}'")[0]["at"]
        at = max(last, TODAY)
        must(zp("--db", URL, "--practice", "CONT", "record", ep, "-", stdin=json.dumps({"type": "session", "at": at})),
             f"record a session for {ep} on PostgreSQL")
        before = dump("CONT")
        p = migrate("CONT", demo)
        one_line(p, "migrate again after the log continued on PostgreSQL", mentions=[ep])
        check(dump("CONT") == before, "a refused migrate (the log continued on PostgreSQL) wrote to the practice")


def bad_arguments(tmp, demo):
    garbage = os.path.join(tmp, "garbage.db")
    with open(garbage, "wb") as f:
        f.write(os.urandom(8192))
    foreign = os.path.join(tmp, "foreign.db")
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE patients(name TEXT)")
    con.execute("INSERT INTO patients VALUES ('x')")
    con.commit()
    con.close()
    foreign_digest = sha256(foreign)
    u = urllib.parse.urlsplit(URL)
    wrong = urllib.parse.urlunsplit((u.scheme, f"zorgpad_a:pw-wrong-31@{u.hostname}:{u.port}", u.path, "", ""))
    cases = [
        ("a missing --from file", ["--practice", "BADARG", "migrate", "--from", os.path.join(tmp, "none.db"), "--to", URL]),
        ("--from a file of random bytes", ["--practice", "BADARG", "migrate", "--from", garbage, "--to", URL]),
        ("--from an SQLite file that is not a zorgpad store",
         ["--practice", "BADARG", "migrate", "--from", foreign, "--to", URL]),
        ("--to a SQLite path", ["--practice", "BADARG", "migrate", "--from", demo, "--to", os.path.join(tmp, "x.db")]),
        ("--to with a wrong password", ["--practice", "BADARG", "migrate", "--from", demo, "--to", wrong]),
        ("no practice", ["migrate", "--from", demo, "--to", URL]),
    ]
    env_practice = os.environ.pop("ZORGPAD_PRACTICE", None)
    try:
        for name, args in cases:
            p = zp(*args, timeout=30)
            one_line(p, f"migrate, {name}")
            check("pw-wrong-31" not in p.stderr, f"migrate, {name}: stderr shows the password")
    finally:
        if env_practice is not None:
            os.environ["ZORGPAD_PRACTICE"] = env_practice
    check(dump("BADARG") == "", "a refused migrate wrote to practice BADARG")
    check(sha256(foreign) == foreign_digest, "migrate --from a foreign SQLite file changed it")
    check(not os.path.exists(os.path.join(tmp, "none.db")), "migrate --from a missing file created it")


def revision1(tmp):
    """A store of the release before revision 2 (schema 4) migrates: same episodes, rebuild clean."""
    src = os.path.join(TESTS_DIR, "data", "revision1.db")
    copy = os.path.join(tmp, "revision1.db")
    shutil.copyfile(src, copy)
    p = migrate("R1", copy)
    ids = [r[0] for r in lite_rows(copy, "SELECT id FROM episodes ORDER BY id")]
    n_events = lite_rows(copy, "SELECT count(*) FROM events")[0][0]
    check(p.returncode == 0 and p.stdout.strip() == f"migrate: {len(ids)} episode(s) copied, 0 already there, practice R1",
          f"migrate of revision1.db: exit {p.returncode}, {p.stdout.strip()!r} {p.stderr.strip()!r}")
    sample = [i for i in ids if i.startswith("r1-")] + ids[::6]
    compare_shows(copy, "R1", sample, "revision1.db after migrate")
    rebuild_clean(on_pg("R1", "rebuild"), "revision1.db on PostgreSQL", len(ids), n_events)


def main():
    global SQL
    if not URL or not URL_B:
        print("ZORGPAD_PG_URL / ZORGPAD_PG_URL_B not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    SQL = Session()
    try:
        with tempfile.TemporaryDirectory(prefix="zorgpad-pg-migrate-") as tmp:
            demo = os.path.join(tmp, "demo.db")
            p = zp("--db", demo, "--today", TODAY, "demo", "--episodes", str(EPISODES), "--seed", "7")
            must(p, "zorgpad demo")
            n_events = lite_rows(demo, "SELECT count(*) FROM events")[0][0]
            rebuild_clean(on_lite(demo, "rebuild"), "the demo before migrate", EPISODES, n_events)
            t = time.monotonic()
            ids, n_events = first_migration(demo)
            print(f"first migration: {time.monotonic() - t:.1f} s")
            for name, step in (("second practice", lambda: second_practice(demo)),
                               ("conflicts", lambda: conflicts(demo, ids)),
                               ("bad arguments", lambda: bad_arguments(tmp, demo)),
                               ("timers", lambda: timers_came_along(demo, tmp, ids, n_events)),
                               ("revision 1", lambda: revision1(tmp))):
                t = time.monotonic()
                step()
                print(f"{name}: {time.monotonic() - t:.1f} s")
    finally:
        SQL.close()
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
