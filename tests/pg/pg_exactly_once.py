#!/usr/bin/python3
"""Exactly once on PostgreSQL: 4 workers over 100k due timers in 50 practices,
one of them killed with SIGKILL mid-batch and PostgreSQL restarted once during
the run; every timer fires once, none twice, and `rebuild` agrees with the live
projections.

Run inside scripts/with-postgres.sh (it gives ZORGPAD_PG_URL, an application
role, and PGHOST/PGPORT/PGUSER/PGPASSWORD/PGVERSION of the superuser):
  scripts/with-postgres.sh ZORGPAD /usr/bin/python3 tests/pg/pg_exactly_once.py ZORGPAD
ZORGPAD_EXACTLY_ONCE_EPISODES (default 100000) sets the number of episodes,
spread evenly over the 50 practices (about 2.5 minutes at 100k on 2 cores).

The episodes come in 5 shapes of practice (practice k has shape k % 5): each
shape is one NDJSON file of open/screening/measurement/stratification/session/
stop events (profiles 1-3, LBP and LRS, some left in intake, some closed),
dated so that most episodes have timers (phase changes, checkpoints) due by
--now and some have timers due only later. The first practice of each shape
imports its file with `zorgpad import`; every other practice of the shape gets
a copy of those rows made with SQL (the import is not what this test is about,
and under the sanitizers 50 imports took 132 s of its 266), so the same
episode ids exist in every practice. The check below that every practice
equals the reference covers the copies too.

The reference: each shape's file imported into a SQLite store and fired there
with `tick --now`; the expected end state of every episode is that store's.
Before the workers start, the live projections on PostgreSQL must equal the
SQLite store's before its tick (row and md5 of the stored body per episode).

Why an audit: firing a timer creates no task row in this pathway (reevaluation
tasks exist from when the checkpoint was scheduled; a checkpoint only moves the
state), and a firing done twice from the same body writes the same row twice,
so the end state alone cannot show a double firing. An audit trigger (installed
by this test as the superuser, not part of zorgpad) therefore records every
committed write to zorgpad.ticks with the writer's application_name: a worker
writes one ticks row per episode it fires, in the firing transaction, so the
audit holds exactly the committed firings (a rolled-back batch leaves none).
episode_counts, kept by adding deltas, would also drift on a double firing.

Four `worker --once --now DATE --batch 200` processes run (application_name
w1..w4). Once a fifth of the due episodes have fired, w1 is stopped (SIGSTOP)
and, if its backend is idle in a transaction holding an xid (a claimed,
uncommitted batch), killed with SIGKILL at once (else let go and tried again a
moment later); later the test checks that this transaction was rolled back
(txid_status 'aborted'). Once two fifths have fired, the cluster is restarted
(pg_ctlcluster restart -m fast) while the three other workers run; they must
reconnect and finish, exit 0 and print "worker: X timer(s) fired in Y
episode(s)".

Then:
- no timers row is due on or before DATE once every worker has exited (if some
  are, that fails, and one more `worker --once` is run so that the checks
  below still tell left-behind from lost and whether anything fired twice);
  per practice the timers rows left equal the reference's and each matches
  its episode's next_due;
- every episode equals the reference's: state, phase, profile, next_due,
  last_seq, md5 of the stored body, and its task rows (seq, kind, checkpoint,
  due, status); per practice the counts of tasks by (kind, checkpoint,
  status) and of episodes by (state, phase) too;
- no (practice, episode, seq) task appears twice;
- the audit holds exactly one committed firing per episode that had a timer
  due, none for any other episode, each at DATE after the episode's last log
  entry; the ticks table holds one row per fired episode;
- per surviving worker, the timers and episodes it reports equal those of its
  committed firings in the audit; all committed firings together are the
  reference's total of timers;
- episode_counts equals the counts of the episode rows in every practice;
- `rebuild` of every practice (as the application role) reports 0 differences.
"""
import collections
import datetime
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

ZORGPAD = os.path.abspath(sys.argv[1])
EPISODES = int(os.environ.get("ZORGPAD_EXACTLY_ONCE_EPISODES", "100000"))
PRACTICES = min(50, EPISODES)
PER_PRACTICE = EPISODES // PRACTICES
SHAPES = min(5, PRACTICES)
WORKERS = 4
BATCH = 200
NOW = "2026-04-15"
PARALLEL_IMPORTS = 3
URL = os.environ["ZORGPAD_PG_URL"]
failures = []
T0 = time.monotonic()


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def note(what):
    print(f"[{time.monotonic() - T0:7.1f}s] {what}", flush=True)


def practice_code(k):
    return f"pr-{k + 1:02d}"


def shape_of(k):
    return k % SHAPES


# ---- the episodes ------------------------------------------------------------------


def day(d, n=0):
    return (d + datetime.timedelta(days=n)).isoformat()


def episode_events(rng, base):
    """One episode's events (all dated well before NOW)."""
    opened = base + datetime.timedelta(days=rng.randint(0, 80))
    onset = opened - datetime.timedelta(days=rng.randint(0, 70))
    age = rng.randint(18, 85)
    kind = rng.choices(["intake", "p1", "p2", "p3", "lrs", "closed", "session"], [2, 4, 3, 2, 2, 1, 2])[0]
    complaint = "lrs" if kind == "lrs" else "lbp"
    evs = [{"type": "open", "at": day(opened), "onset": day(onset), "complaint": complaint, "age": age}]
    if kind == "intake":
        if rng.random() < 0.5:
            evs.append({"type": "measurement", "at": day(opened), "nprs": rng.randint(0, 10), "qbpds": rng.randint(0, 100)})
        return evs
    if kind == "lrs":
        evs.append({"type": "screening", "at": day(opened), "red_flags": [], "exclusions": [], "mrc": rng.choice([4, 5]),
                    "nprs": rng.randint(1, 6)})
    else:
        evs.append({"type": "screening", "at": day(opened), "red_flags": [], "exclusions": []})
        evs.append({"type": "measurement", "at": day(opened), "nprs": rng.randint(1, 9), "qbpds": rng.randint(1, 100)})
    strat = day(opened, rng.randint(0, 2))
    if kind == "p2":
        evs.append({"type": "stratification", "at": strat, "sbst": [1, 0, 1, 1, 1, 0, 0, 0, 2],
                    "factors": {"fear_of_movement": "present"}})
    elif kind == "p3":
        evs.append({"type": "stratification", "at": strat, "factors": {"leg_pain": "dominant"}})
    else:
        evs.append({"type": "stratification", "at": strat, "sbst": [0, 1, 0, 0, 0, 0, 0, 0, 1], "factors": {}})
    if kind == "session":
        evs.append({"type": "session", "at": day(opened, 4 + rng.randint(0, 6))})
    elif kind == "closed":
        evs.append({"type": "stop", "at": day(opened, 7 + rng.randint(0, 7)), "reason": "goals_met"})
    return evs


def make_shape(s, path):
    """Writes shape s's NDJSON file (episodes' lines interleaved in pairs)."""
    rng = random.Random(20260415 + s)
    base = datetime.date(2026, 1, 5) + datetime.timedelta(days=5 * s)
    lines = []
    for i in range(PER_PRACTICE):
        ep, patient = f"ep-{i:06d}", f"P{s}-{i:06d}"
        lines.append([json.dumps({"episode": ep, "patient": patient, "event": ev}) for ev in episode_events(rng, base)])
    with open(path, "w") as f:
        for i in range(0, len(lines), 2):  # two episodes' events interleaved
            a, b = lines[i], lines[i + 1] if i + 1 < len(lines) else []
            for j in range(max(len(a), len(b))):
                if j < len(a):
                    f.write(a[j] + "\n")
                if j < len(b):
                    f.write(b[j] + "\n")
    return sum(len(x) for x in lines)


# ---- helpers -----------------------------------------------------------------------


def zp(*args, db=URL, practice=None, timeout=600):
    cmd = [ZORGPAD, "--db", db] + (["--practice", practice] if practice else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def psql(sql, timeout=300):
    """Runs SQL as the superuser in the zorgpad database; returns rows of text fields (None for NULL)."""
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "zorgpad", "-c", f"COPY ({sql}) TO STDOUT"],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {sql[:200]}: {p.stderr.strip()}")
    return [[None if f == "\\N" else f for f in line.split("\t")] for line in p.stdout.splitlines()]


def psql_exec(sql, timeout=120):
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "zorgpad"], input=sql,
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {sql[:200]}: {p.stderr.strip()}")
    return p.stdout


def psql_value(sql, timeout=30):
    p = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", "zorgpad", "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    return p.stdout.strip() if p.returncode == 0 else None


# The tables an import fills, copied from one practice to another (task ids
# come from their sequence; the audit rows of the import are not copied).
COPIED = ("episodes", "events", "tasks", "timers", "episode_counts")


def copy_practices(pairs):
    """Copies the rows of practice `src` to practice `dst` for each (src, dst), as the superuser, in one transaction."""
    cols = {}
    for table, col in psql("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'zorgpad' "
                           "ORDER BY table_name, ordinal_position"):
        cols.setdefault(table, []).append(col)
    sql = ["BEGIN;"]
    for src, dst in pairs:
        sql.append(f"INSERT INTO zorgpad.practices(code) VALUES ('{dst}') ON CONFLICT DO NOTHING;")
        for table in COPIED:
            names = [c for c in cols[table] if c != "practice" and not (table == "tasks" and c == "id")]
            listed = ", ".join(f'"{c}"' for c in names)
            sql.append(f"INSERT INTO zorgpad.{table}(practice, {listed}) SELECT '{dst}', {listed} "
                       f"FROM zorgpad.{table} WHERE practice = '{src}';")
    sql.append("COMMIT;")
    psql_exec("\n".join(sql), timeout=600)


def with_app_name(url, name):
    return url + ("&" if "?" in url else "?") + "application_name=" + name


def run_parallel(cmds, width):
    """Runs (label, argv) commands, at most `width` at once; returns {label: (rc, stdout, stderr)}."""
    out, running, todo = {}, [], list(cmds)
    with tempfile.TemporaryDirectory() as tmp:
        while todo or running:
            while todo and len(running) < width:
                label, argv = todo.pop(0)
                fo, fe = open(os.path.join(tmp, label + ".out"), "w+"), open(os.path.join(tmp, label + ".err"), "w+")
                running.append((label, subprocess.Popen(argv, stdout=fo, stderr=fe), fo, fe))
            time.sleep(0.05)
            for item in list(running):
                label, p, fo, fe = item
                if p.poll() is not None:
                    fo.seek(0)
                    fe.seek(0)
                    out[label] = (p.returncode, fo.read(), fe.read())
                    fo.close()
                    fe.close()
                    running.remove(item)
    return out


# ---- the reference (SQLite) --------------------------------------------------------


def due_timers(body):
    """Number of the episode's pending timers due on or before NOW (what a tick fires)."""
    return sum(1 for t in json.loads(body)["timers"] if t["due"] <= NOW)


def sqlite_state(db):
    """{episode: (state, phase, profile, next_due, last_seq, md5(body))}, {episode: [task tuples]}, {episode: due timers}."""
    con = sqlite3.connect(db)
    try:
        eps, due = {}, {}
        for id_, state, phase, profile, next_due, last_seq, body in con.execute(
                "SELECT id, state, phase, profile, next_due, last_seq, body FROM episodes"):
            eps[id_] = (state, phase, "" if profile is None else str(profile), next_due or "", str(last_seq),
                        hashlib.md5(body.encode()).hexdigest())
            due[id_] = due_timers(body)
        tasks = collections.defaultdict(list)
        for ep, seq, kind, cp, d, status in con.execute(
                "SELECT episode, seq, kind, checkpoint, due, status FROM tasks ORDER BY episode, seq"):
            tasks[ep].append((str(seq), kind, cp or "", d, status))
        return eps, dict(tasks), due
    finally:
        con.close()


def build_reference(s, path, tmp):
    db = os.path.join(tmp, f"ref-{s}.db")
    check(zp("init", db=db).returncode == 0, f"shape {s}: SQLite init failed")
    p = zp("import", path, "--batch", "5000", db=db)
    check(p.returncode == 0 and " 0 already recorded" in p.stdout, f"shape {s}: SQLite import: {p.stdout} {p.stderr}")
    before = sqlite_state(db)
    p = zp("tick", "--now", NOW, db=db)
    m = re.search(r"(\d+) timer\(s\) fired in (\d+) episode\(s\)", p.stdout)
    check(p.returncode == 0 and m is not None, f"shape {s}: SQLite tick: {p.stdout} {p.stderr}")
    after = sqlite_state(db)
    ref = {"before": before[0], "eps": after[0], "tasks": after[1], "due": before[2],
           "tick": (int(m.group(1)), int(m.group(2))) if m else (-1, -1)}
    total_due = sum(before[2].values())
    check(ref["tick"] == (total_due, sum(1 for n in before[2].values() if n)),
          f"shape {s}: SQLite tick fired {ref['tick']}, the bodies had {total_due} due timers")
    check(all(e[3] == "" or e[3] > NOW for e in after[0].values()), f"shape {s}: SQLite tick left a due timer")
    return ref


# ---- PostgreSQL --------------------------------------------------------------------


def pg_episodes():
    """{practice: {episode: (state, phase, profile, next_due, last_seq, md5)}}"""
    out = collections.defaultdict(dict)
    for pr, id_, state, phase, profile, next_due, last_seq, md5 in psql(
            "SELECT practice, id, state, phase, profile, next_due, last_seq, md5(body) FROM zorgpad.episodes"):
        out[pr][id_] = (state, phase, profile or "", next_due or "", last_seq, md5)
    return out


def pg_tasks():
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for pr, ep, seq, kind, cp, d, status in psql(
            "SELECT practice, episode, seq, kind, checkpoint, due, status FROM zorgpad.tasks ORDER BY practice, episode, seq"):
        out[pr][ep].append((seq, kind, cp or "", d, status))
    return out


def compare_practice(code, got, want, what, limit=3):
    """Compares {episode: value} maps of one practice; returns the number of episodes that differ."""
    bad = [ep for ep in sorted(set(got) | set(want)) if got.get(ep) != want.get(ep)]
    for ep in bad[:limit]:
        check(False, f"{what}: {code}/{ep}: {got.get(ep)} != reference {want.get(ep)}")
    return len(bad)


def cluster_name():
    for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == os.environ.get("PGVERSION") and f[2] == os.environ.get("PGPORT"):
            return f[1]
    return "regress"


AUDIT = """
CREATE TABLE public.eo_fired(practice text, episode text, after_seq bigint, at date, app text, xid bigint,
                             ts timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.eo_log_fired() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
BEGIN
  INSERT INTO public.eo_fired(practice, episode, after_seq, at, app, xid)
  VALUES (NEW.practice, NEW.episode, NEW.after_seq, NEW.at, current_setting('application_name'), txid_current());
  RETURN NULL;
END $$;
CREATE TRIGGER eo_log_fired AFTER INSERT OR UPDATE ON zorgpad.ticks FOR EACH ROW EXECUTE FUNCTION public.eo_log_fired();
"""


class Session:
    """One psql process kept open (as the superuser): a query costs a round trip, not a process."""

    def __init__(self):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", "zorgpad"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)

    def query(self, sql):
        """Rows of '|'-separated fields; None when the connection is gone (then a new psql is started)."""
        try:
            self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __end__\n")
            self.p.stdin.flush()
            rows = []
            for line in self.p.stdout:
                line = line.rstrip("\n")
                if line == "__end__":
                    break
                rows.append(line.split("|"))
            else:
                raise BrokenPipeError
        except (BrokenPipeError, OSError):
            self.close()
            self.__init__()
            return None
        if any(r and r[0].startswith(("ERROR:", "FATAL:", "psql:", "server closed", "connection to server")) for r in rows):
            self.close()
            self.__init__()
            return None
        return rows

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.kill()
        self.p.wait()


def kill_mid_batch(session, proc, app, deadline):
    """Stops the worker and, if its backend is then idle in a transaction that
    holds an xid (a claimed, uncommitted batch), kills it with SIGKILL at once;
    else lets it run a moment and tries again. Returns the transaction's xid
    and the number of tries, or (None, tries)."""
    tries = 0
    while time.monotonic() < deadline and proc.poll() is None:
        tries += 1
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.005)  # what it sent reaches the server
        row = session.query(f"SELECT state, backend_xid FROM pg_stat_activity WHERE application_name = '{app}'")
        if row and row[0][0] == "idle in transaction" and row[0][1]:
            os.kill(proc.pid, signal.SIGKILL)
            os.kill(proc.pid, signal.SIGCONT)
            return int(row[0][1]), tries
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(random.uniform(0.002, 0.03))
    return None, tries


def main():
    note(f"{PRACTICES} practices x {PER_PRACTICE} episodes, {SHAPES} shapes, {WORKERS} workers, --batch {BATCH}, --now {NOW}")
    with tempfile.TemporaryDirectory(prefix="zorgpad-eo-") as tmp:
        files, refs = {}, {}
        for s in range(SHAPES):
            files[s] = os.path.join(tmp, f"shape-{s}.ndjson")
            n = make_shape(s, files[s])
            refs[s] = build_reference(s, files[s], tmp)
            note(f"shape {s}: {n} events; reference tick fires {refs[s]['tick'][0]} timers in {refs[s]['tick'][1]} episodes, "
                 f"{sum(1 for e in refs[s]['eps'].values() if e[3])} timers left")
        codes = [practice_code(k) for k in range(PRACTICES)]
        ref_of = {practice_code(k): refs[shape_of(k)] for k in range(PRACTICES)}
        expected_timers = sum(r["tick"][0] for r in ref_of.values())
        expected_episodes = sum(r["tick"][1] for r in ref_of.values())

        # ---- import into PostgreSQL, several practices at once
        t = time.monotonic()
        first = {}  # shape -> the practice that imports it
        for k, c in enumerate(codes):
            first.setdefault(shape_of(k), c)
        res = run_parallel([(c, [ZORGPAD, "--db", URL, "--practice", c, "import", files[s], "--batch", "2000"])
                            for s, c in first.items()], PARALLEL_IMPORTS)
        for c in first.values():
            rc, out, err = res[c]
            check(rc == 0 and re.match(r"imported \d+ events \(\d+ episodes opened, 0 already recorded\)", out),
                  f"{c}: import: exit {rc}: {out.strip()} {err.strip()[-300:]}")
        copy_practices([(first[shape_of(k)], c) for k, c in enumerate(codes) if c != first[shape_of(k)]])
        import_s = time.monotonic() - t
        note(f"imported {len(first)} practices and copied them to {PRACTICES - len(first)} more in {import_s:.1f}s")
        psql_exec("VACUUM ANALYZE")

        # ---- before the workers: the live projections are the reference's before its tick
        eps = pg_episodes()
        bad = sum(compare_practice(c, eps.get(c, {}), ref_of[c]["before"], "before the workers") for c in codes)
        check(bad == 0, f"before the workers: {bad} episode(s) differ from the SQLite import")
        due_rows = int(psql_value(f"SELECT count(*) FROM zorgpad.timers WHERE due <= '{NOW}'") or -1)
        check(due_rows == expected_episodes, f"before the workers: {due_rows} timers rows due, expected {expected_episodes}")
        ticks_before = int(psql_value("SELECT count(*) FROM zorgpad.ticks") or -1)
        check(ticks_before == 0, f"before the workers: the ticks table has {ticks_before} rows")
        psql_exec(AUDIT)
        note(f"{expected_timers} timers due in {expected_episodes} episodes")

        # ---- the workers
        start_time = psql_value("SELECT pg_postmaster_start_time()")
        logs = {}
        procs = {}
        t_workers = time.monotonic()
        for w in range(1, WORKERS + 1):
            app = f"w{w}"
            fo, fe = open(os.path.join(tmp, app + ".out"), "w+"), open(os.path.join(tmp, app + ".err"), "w+")
            logs[app] = (fo, fe)
            procs[app] = subprocess.Popen([ZORGPAD, "--db", with_app_name(URL, app), "worker", "--once", "--now", NOW,
                                           "--batch", str(BATCH)], stdout=fo, stderr=fe)
        victim, killed_xid, killed_at, restarted_at, restart_s = "w1", None, None, None, None
        restart_ok, alive_at_restart = False, []
        deadline = time.monotonic() + 900
        session = Session()
        while time.monotonic() < deadline and any(p.poll() is None for p in procs.values()):
            left = session.query(f"SELECT count(*) FROM zorgpad.timers WHERE due <= '{NOW}'")
            if not left:
                time.sleep(0.1)
                continue
            done = expected_episodes - int(left[0][0])
            if killed_at is None and done >= expected_episodes // 5:
                killed_xid, tries = kill_mid_batch(session, procs[victim], victim, deadline)
                killed_at = (time.monotonic() - t_workers, done)
                if killed_xid is None:
                    check(False, f"{victim} could not be caught mid-batch (exit {procs[victim].poll()})")
                    if procs[victim].poll() is None:
                        procs[victim].kill()
                note(f"{victim} killed with SIGKILL mid-batch (xid {killed_xid}, stopped {tries} time(s)) after {done} of "
                     f"{expected_episodes} episodes")
            elif killed_at is not None and restarted_at is None and done >= expected_episodes * 2 // 5:
                alive_at_restart = [a for a, p in procs.items() if p.poll() is None]
                t = time.monotonic()
                r = subprocess.run(["pg_ctlcluster", os.environ.get("PGVERSION", "15"), cluster_name(), "restart", "-m", "fast"],
                                   capture_output=True, text=True, timeout=120)
                restart_s = time.monotonic() - t
                restart_ok = check(r.returncode == 0, f"pg_ctlcluster restart: {r.returncode} {r.stdout} {r.stderr}")
                restarted_at = (t - t_workers, done)
                note(f"PostgreSQL restarted in {restart_s:.1f}s after {done} of {expected_episodes} episodes; "
                     f"running: {', '.join(alive_at_restart)}")
            time.sleep(0.02)
        session.close()
        for p in procs.values():
            try:
                p.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        workers_s = time.monotonic() - t_workers
        note(f"workers done in {workers_s:.1f}s")
        check(killed_at is not None, "the workers finished before one could be killed")
        check(restarted_at is not None, "the workers finished before PostgreSQL could be restarted")
        check(restarted_at is None or len(alive_at_restart) == WORKERS - 1,
              f"workers running at the restart: {alive_at_restart}")
        check(not restart_ok or psql_value("SELECT pg_postmaster_start_time()") != start_time,
              "the postmaster start time did not change: no restart happened")

        reports = {}
        for app, p in procs.items():
            fo, fe = logs[app]
            fo.seek(0)
            fe.seek(0)
            out, err = fo.read(), fe.read()
            fo.close()
            fe.close()
            if app == victim:
                check(p.returncode == -signal.SIGKILL, f"{victim}: exit {p.returncode}, not killed by SIGKILL")
                continue
            m = re.fullmatch(r"worker: (\d+) timer\(s\) fired in (\d+) episode\(s\)\n", out)
            lost = len(re.findall(r"connection to PostgreSQL was lost|database error|internal error", err))
            if check(p.returncode == 0 and m is not None, f"{app}: exit {p.returncode}: {out.strip()!r} {err.strip()[-500:]!r}"):
                reports[app] = (int(m.group(1)), int(m.group(2)))
            note(f"{app}: {out.strip()} ({lost} failed pass(es))")
            for line in err.splitlines()[:3]:
                note(f"  {app} stderr: {line}")

        # ---- the outcome
        if killed_xid is not None:
            st = psql_value(f"SELECT txid_status({killed_xid})")
            check(st == "aborted", f"{victim}'s batch in transaction {killed_xid}: {st}, not rolled back")
        left_due = int(psql_value(f"SELECT count(*) FROM zorgpad.timers WHERE due <= '{NOW}'") or -1)
        if not check(left_due == 0, f"{left_due} timers rows still due on or before {NOW} after every worker exited"):
            # Left behind or lost? One more worker tells (its firings count as
            # "cleanup" below), and the checks that follow still say whether
            # anything fired twice.
            where = psql(f"SELECT practice, count(*) FROM zorgpad.timers WHERE due <= '{NOW}' GROUP BY 1 ORDER BY 1")
            p = zp("worker", "--once", "--now", NOW, "--batch", str(BATCH), db=with_app_name(URL, "cleanup"))
            note(f"left due: {where}; one more worker --once: exit {p.returncode}: {p.stdout.strip()} {p.stderr.strip()[-300:]}")
            procs["cleanup"] = None
        timer_rows = collections.Counter(r[0] for r in psql("SELECT practice FROM zorgpad.timers"))
        for c in codes:
            want = sum(1 for e in ref_of[c]["eps"].values() if e[3])
            check(timer_rows.get(c, 0) == want, f"{c}: {timer_rows.get(c, 0)} timers rows left, reference {want}")
        stale = psql("SELECT t.practice, t.episode, t.due, e.next_due FROM zorgpad.timers t LEFT JOIN zorgpad.episodes e "
                     "ON e.practice = t.practice AND e.id = t.episode WHERE e.next_due IS DISTINCT FROM t.due LIMIT 5")
        check(not stale, f"timers rows not matching their episode's next_due: {stale}")

        eps = pg_episodes()
        tasks = pg_tasks()
        bad_eps = sum(compare_practice(c, eps.get(c, {}), ref_of[c]["eps"], "episode") for c in codes)
        bad_tasks = sum(compare_practice(c, tasks.get(c, {}), ref_of[c]["tasks"], "tasks") for c in codes)
        check(bad_eps == 0, f"{bad_eps} episode(s) differ from the reference (state, phase, profile, next_due, last_seq, body)")
        check(bad_tasks == 0, f"{bad_tasks} episode(s) whose task rows differ from the reference")
        for c in codes:
            got_t = collections.Counter((t[1], t[2], t[4]) for ts in tasks.get(c, {}).values() for t in ts)
            want_t = collections.Counter((t[1], t[2], t[4]) for ts in ref_of[c]["tasks"].values() for t in ts)
            check(got_t == want_t, f"{c}: tasks by (kind, checkpoint, status) {dict(got_t - want_t)} more, "
                                   f"{dict(want_t - got_t)} fewer than the reference")
            got_e = collections.Counter(e[:2] for e in eps.get(c, {}).values())
            want_e = collections.Counter(e[:2] for e in ref_of[c]["eps"].values())
            check(got_e == want_e, f"{c}: episodes by (state, phase) {dict(got_e - want_e)} more, {dict(want_e - got_e)} fewer")
        dup = psql("SELECT practice, episode, seq, count(*) FROM zorgpad.tasks GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 5")
        check(not dup, f"task rows twice: {dup}")
        counts = psql("(SELECT practice, state, phase, COALESCE(profile, 0), count(*) FROM zorgpad.episodes GROUP BY 1, 2, 3, 4 "
                      "EXCEPT SELECT practice, state, phase, profile, n FROM zorgpad.episode_counts WHERE n <> 0) UNION ALL "
                      "(SELECT practice, state, phase, profile, n FROM zorgpad.episode_counts WHERE n <> 0 EXCEPT "
                      "SELECT practice, state, phase, COALESCE(profile, 0), count(*) FROM zorgpad.episodes GROUP BY 1, 2, 3, 4)")
        check(not counts, f"episode_counts differ from the episode rows: {counts[:6]}")

        # The audit: exactly one committed firing per due episode.
        fired = psql("SELECT practice, episode, after_seq, at, app FROM public.eo_fired")
        per_ep = collections.Counter((r[0], r[1]) for r in fired)
        twice = [k for k, n in per_ep.items() if n > 1]
        check(not twice, f"{len(twice)} episode(s) fired more than once, e.g. {twice[:5]}")
        due_eps = {(c, ep) for c in codes for ep, n in ref_of[c]["due"].items() if n}
        check(set(per_ep) == due_eps, f"fired episodes: {len(set(per_ep) - due_eps)} not due, "
                                      f"{len(due_eps - set(per_ep))} due but never fired, e.g. {sorted(due_eps - set(per_ep))[:5]}")
        wrong = [r for r in fired if r[3] != NOW or r[2] != ref_of[r[0]]["eps"].get(r[1], ("",) * 5)[4]]
        check(not wrong, f"firings not at {NOW} after the episode's last entry: {wrong[:5]}")
        ticks = psql("SELECT practice, episode, after_seq, at FROM zorgpad.ticks")
        check(sorted((r[0], r[1]) for r in ticks) == sorted(due_eps),
              f"ticks table: {len(ticks)} rows for {len(due_eps)} fired episodes")
        by_app = collections.defaultdict(lambda: [0, 0])
        for pr, ep, _, _, app in fired:
            by_app[app][0] += ref_of[pr]["due"].get(ep, 0)
            by_app[app][1] += 1
        check(set(by_app) <= set(procs), f"firings by unknown writers: {sorted(set(by_app) - set(procs))}")
        for app, rep in sorted(reports.items()):
            check(tuple(by_app.get(app, (0, 0))) == rep,
                  f"{app} reports {rep[0]} timer(s) in {rep[1]} episode(s), its committed firings are "
                  f"{by_app.get(app, [0, 0])[0]} timer(s) in {by_app.get(app, [0, 0])[1]} episode(s)")
        total = sum(v[0] for v in by_app.values())
        check(total == expected_timers, f"{total} timers fired in all, the reference fires {expected_timers}")
        note("committed firings: " + ", ".join(f"{a}: {v[0]} timers in {v[1]} episodes" for a, v in sorted(by_app.items())))

        # ---- rebuild agrees with the live projections
        t = time.monotonic()
        res = run_parallel([(c, [ZORGPAD, "--db", URL, "--practice", c, "rebuild"]) for c in codes], 2)
        for c in codes:
            rc, out, err = res[c]
            check(rc == 0 and re.search(r": 0 difference\(s\)$", out.strip()) is not None,
                  f"{c}: rebuild: exit {rc}: {out.strip()[-400:]!r} {err.strip()[-300:]!r}")
        rebuild_s = time.monotonic() - t
        note(f"rebuilt {PRACTICES} practices in {rebuild_s:.1f}s")

    total_s = time.monotonic() - T0
    if failures:
        print(f"{len(failures)} failure(s) in {total_s:.0f}s")
        return 1
    print(f"ok: {expected_timers} timers in {expected_episodes} episodes of {PRACTICES} practices fired exactly once by "
          f"{WORKERS} workers ({victim} killed mid-batch at {killed_at[1]}, PostgreSQL restarted at {restarted_at[1]}); "
          f"rebuild agrees; import {import_s:.0f}s, workers {workers_s:.0f}s, rebuild {rebuild_s:.0f}s, total {total_s:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
