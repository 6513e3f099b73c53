#!/usr/bin/python3
"""One PostgreSQL database, many practices: a practice sees and changes its
own rows only (issue 13: row-level security).

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3 pg_isolation.py
ZORGPAD_BINARY` (ctest does). Practice A is written by the login role
zorgpad_a, practice B by zorgpad_b and by zorgpad_a under --practice B: what
separates the practices is the practice setting, not the role. Both
practices hold an episode `ep-same` (same id, other patient and log), and B
holds an event id that A then uses too.

Through the CLI, under --practice A:
- `show`, `show --json`, `record` (with and without --expect-seq), `fhir` of
  B's episodes, `task done` and `letter` of B's task ids and an import line
  for B's episode fail as unknown (exit 2, one line) and change nothing of A
  or B; `open --id` of B's id and an event id B already used open A's own;
- `tasks`, `overview`, `fhir --all` and `calendar` show nothing of B;
  `show ep-same` is A's and under B it is B's;
- `tick`, `worker --once` and `rebuild` of A leave B's rows (its due timers
  among them) as they were, and `rebuild` counts A's episodes only.

Through psql as the application login zorgpad_a, in one session (a pooled
connection): without a setting every practice table reads empty; in a
transaction with `set_config('zorgpad.practice', 'A', true)` each table shows
exactly A's rows, an INSERT of a row of B into each table fails the policy's
WITH CHECK, moving a row of A to B fails, UPDATE and DELETE of B's rows touch
nothing; after COMMIT (and after ROLLBACK) the same session reads empty
tables again: the setting was transaction-local; the next transaction, for
B, sees B's rows only. As the contrast, a session-level `SET
zorgpad.practice` (which zorgpad never uses) leaks A's rows into whatever the
connection runs next. The server log of zorgpad's own commands (log_statement
= all for zorgpad_b) shows every transaction that reads or writes a practice
table set the practice with set_config(…, true) first, and no session-level
setting of zorgpad.practice, also in a `worker` pass over both practices on
one connection.

Roles and tables: no application role (zorgpad_app, zorgpad_a, zorgpad_b)
owns a table or is a member of the owner, is a superuser or has BYPASSRLS;
they have no TRUNCATE (which skips row-level security) and no CREATE on the
schema; they cannot turn row-level security off, drop the policy or change
meta. Each practice table has relrowsecurity and relforcerowsecurity and the
one policy `practice = current_setting('zorgpad.practice', true)` for USING
and WITH CHECK.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ZORGPAD = os.path.abspath(sys.argv[1])
URL_A = os.environ.get("ZORGPAD_PG_URL")
URL_B = os.environ.get("ZORGPAD_PG_URL_B")
failures = []

PRACTICE_TABLES = ["episodes", "events", "tasks", "timers", "ticks", "episode_counts"]
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


def run(practice, *args, stdin=None, url=None, timeout=60):
    return subprocess.run([ZORGPAD, "--db", url or URL_A, "--practice", practice, *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def must(practice, *args, **kw):
    p = run(practice, *args, **kw)
    if p.returncode != 0:
        raise SystemExit(f"setup: zorgpad --practice {practice} {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class Session:
    """One psql session kept open (default: the superuser, past row-level security).

    run() returns the output rows ('|' between fields) and raises on an error;
    attempt() returns (rows, SQLSTATE, error line) for a statement that may fail."""

    def __init__(self, url=None):
        args = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=0"] + ([url] if url else ["-d", "zorgpad"])
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)

    def _send(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __sqlstate__ :SQLSTATE\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError(f"psql ended: {''.join(out)[-300:]}")
            if line.startswith("__sqlstate__ "):
                return out, line.split()[1]
            out.append(line.rstrip("\n"))

    def attempt(self, sql):
        out, state = self._send(sql)
        if state == "00000":
            return out, state, None
        errors = [x for x in out if "ERROR:" in x]
        return [], state, (errors[0] if errors else "\n".join(out) or f"SQLSTATE {state}")

    def run(self, sql):
        rows, _, error = self.attempt(sql)
        if error:
            raise RuntimeError(f"psql {sql[:100]!r}: {error}")
        return rows

    def value(self, sql):
        rows = self.run(sql)
        return rows[0] if rows else None

    def close(self):
        self.p.stdin.close()
        self.p.wait()


SQL = None  # the superuser's session


def dump(practice):
    parts = []
    for table, order in PG_TABLES.items():
        col = "code" if table == "practices" else "practice"
        parts.append(f"SELECT '{table}', t::text FROM zorgpad.{table} t WHERE {col} = '{practice}' ORDER BY {order};")
    return "\n".join(SQL.run("\n".join(parts)))


def counts(practice):
    """{table: rows of the practice}, read by the superuser."""
    q = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM zorgpad.{t} WHERE practice = '{practice}'"
                           for t in PRACTICE_TABLES)
    return {r.split("|")[0]: int(r.split("|")[1]) for r in SQL.run(q)}


def one_line(p, where, code=2, mentions=()):
    check(p.returncode == code, f"{where}: exit {p.returncode}, expected {code}; stderr {p.stderr.strip()[:300]!r}")
    check(p.stdout == "", f"{where}: printed on stdout: {p.stdout[:200]!r}")
    lines = p.stderr.splitlines()
    if check(len(lines) == 1, f"{where}: stderr is not exactly one line: {p.stderr[:400]!r}"):
        check(lines[0].startswith("zorgpad: "), f"{where}: {lines[0]!r}")
        for m in mentions:
            check(m in lines[0], f"{where}: stderr does not mention {m!r}: {lines[0]!r}")


# --- the two practices --------------------------------------------------------------------------

def open_ep(practice, ep, patient, url=None, **kw):
    must(practice, "open", "--id", ep, "--patient", patient, "-", stdin=json.dumps(dict(OPEN, **kw)), url=url)


def rec(practice, ep, url=None, **ev):
    must(practice, "record", ep, "-", stdin=json.dumps(ev), url=url)


def setup():
    # A, by zorgpad_a: a treatment episode with tasks, one in intake, and ep-same
    open_ep("A", "ep-a1", "PA-1", gp="huisarts-a")
    rec("A", "ep-a1", **SCREEN)
    rec("A", "ep-a1", type="measurement", at="2026-01-05", nprs=6, qbpds=40)
    rec("A", "ep-a1", type="stratification", at="2026-01-05", factors={"leg_pain": "present"})
    open_ep("A", "ep-a2", "PA-2")
    open_ep("A", "ep-same", "PA-same", at="2026-01-06")
    # B, by zorgpad_b: the same shapes, ep-same with another patient and log, an event id A will reuse
    open_ep("B", "ep-b1", "PB-1", url=URL_B, gp="huisarts-b")
    rec("B", "ep-b1", url=URL_B, **SCREEN)
    rec("B", "ep-b1", url=URL_B, type="measurement", at="2026-01-05", nprs=7, qbpds=50)
    rec("B", "ep-b1", url=URL_B, type="stratification", at="2026-01-05", factors={"fear_of_movement": "dominant"})
    open_ep("B", "ep-b2", "PB-2", url=URL_B, complaint="lrs", id="evt-shared-open")
    rec("B", "ep-b2", url=URL_B, **dict(SCREEN, mrc=5, nprs=5, id="evt-shared"))
    open_ep("B", "ep-same", "PB-same", url=URL_B, at="2026-01-07")
    rec("B", "ep-same", url=URL_B, **dict(SCREEN, at="2026-01-07"))
    # and by zorgpad_a under practice B: the role does not decide, the practice does
    open_ep("B", "ep-b3", "PB-3")
    rec("B", "ep-b3", **SCREEN)


def b_task_ids():
    return [int(x) for x in SQL.run("SELECT id FROM zorgpad.tasks WHERE practice = 'B' ORDER BY id")]


# --- the CLI under practice A -------------------------------------------------------------------

def cli_isolation(tmp):
    b_tasks = b_task_ids()
    check(len(b_tasks) >= 3, f"B has only {len(b_tasks)} tasks")
    b_before = dump("B")
    a_before = dump("A")

    session = json.dumps({"type": "session", "at": "2026-01-20"})
    for ep in ("ep-b1", "ep-b2", "ep-b3"):
        one_line(run("A", "show", ep), f"show {ep} under A", mentions=[ep])
        one_line(run("A", "show", ep, "--json"), f"show {ep} --json under A", mentions=[ep])
        one_line(run("A", "record", ep, "-", stdin=session), f"record {ep} under A", mentions=[ep])
        one_line(run("A", "fhir", ep), f"fhir {ep} under A", mentions=[ep])
    one_line(run("A", "record", "ep-b1", "--expect-seq", "4", "-", stdin=session),
             "record ep-b1 --expect-seq 4 under A", mentions=["ep-b1"])
    one_line(run("A", "record", "ep-b1", "-", stdin=session, url=URL_B), "record ep-b1 under A by zorgpad_b",
             mentions=["ep-b1"])
    for tid in b_tasks[:3]:
        one_line(run("A", "task", "done", str(tid)), f"task done {tid} (B's) under A", mentions=[str(tid)])
        one_line(run("A", "letter", str(tid), "--format", "text"), f"letter {tid} (B's) under A", mentions=[str(tid)])
    one_line(run("A", "import", "-", stdin=json.dumps({"episode": "ep-b1", "event": json.loads(session)}) + "\n"),
             "import of a line for ep-b1 under A", mentions=["ep-b1"])
    check(dump("A") == a_before, "commands refused under A changed A's rows")
    check(dump("B") == b_before, "commands under A for B's episodes and tasks changed B's rows")

    # listings under A show nothing of B
    tasks = json.loads(must("A", "tasks", "--json"))["tasks"]
    a_tasks = [int(x) for x in SQL.run("SELECT id FROM zorgpad.tasks WHERE practice = 'A' ORDER BY id")]
    check(sorted(t["id"] for t in tasks) == a_tasks, f"tasks under A lists {sorted(t['id'] for t in tasks)}, "
                                                     f"A's tasks are {a_tasks}")
    check({t["episode"] for t in tasks} <= {"ep-a1", "ep-a2", "ep-same"}, f"tasks under A: {tasks}")
    outputs = {
        "tasks": must("A", "tasks"),
        "overview --json": must("A", "--today", "2026-01-20", "overview", "--json"),
        "fhir --all": must("A", "fhir", "--all"),
        "calendar": must("A", "calendar"),
    }
    for name, text in outputs.items():
        check(text.strip() != "", f"{name} under A printed nothing")
        for leak in ("PB-", "ep-b1", "ep-b2", "ep-b3", "huisarts-b"):
            check(leak not in text, f"{name} under A shows {leak!r}, of practice B")
    check("ep-a1" in outputs["overview --json"], "the overview under A does not show A's episodes")
    same_a = json.loads(must("A", "show", "ep-same", "--json"))
    same_b = json.loads(must("B", "show", "ep-same", "--json", url=URL_B))
    check(same_a["patient"] == "PA-same" and same_a["state"] == "intake", f"ep-same under A: {same_a['patient']}, "
                                                                          f"{same_a['state']}")
    check(same_b["patient"] == "PB-same" and same_b["state"] == "screened", f"ep-same under B: {same_b['patient']}, "
                                                                            f"{same_b['state']}")
    b1 = json.loads(must("B", "show", "ep-b1", "--json"))  # zorgpad_a under practice B
    check(b1["patient"] == "PB-1", "zorgpad_a under practice B does not see B's episode")
    check(dump("B") == b_before, "listings under A changed B's rows")

    # ids are per practice: A opens its own ep-b1, and uses an event id B used
    out = must("A", "open", "--id", "ep-b1", "--patient", "PA-b1", "-", stdin=json.dumps(dict(OPEN, at="2026-01-08")))
    check(out.strip() == "ep-b1", f"open --id ep-b1 under A: {out!r}")
    out = must("A", "open", "--id", "ep-a3", "--patient", "PA-3", "-",
               stdin=json.dumps(dict(OPEN, complaint="lrs", id="evt-shared-open")))
    check(out.strip() == "ep-a3", f"open with B's open event id under A: {out!r} (B's episode reported?)")
    out = must("A", "record", "ep-a3", "-", stdin=json.dumps(dict(SCREEN, mrc=5, nprs=5, id="evt-shared")))
    check(out.strip().startswith("ep-a3 event 1:") and "already" not in out,
          f"record with B's event id under A: {out!r}")
    b1 = json.loads(must("B", "show", "ep-b1", "--json", url=URL_B))
    check(b1["patient"] == "PB-1" and b1["state"] == "treatment", f"B's ep-b1 after A opened its own: {b1['patient']}")
    check(dump("B") == b_before, "A's episodes with B's ids changed B's rows")

    # timers: B has timers due by the date; A's tick, worker and rebuild leave them
    now = "2026-03-01"
    b_due = int(SQL.value(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'B' AND due <= '{now}'"))
    a_due = int(SQL.value(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'A' AND due <= '{now}'"))
    check(b_due > 0 and a_due > 0, f"timers due by {now}: A {a_due}, B {b_due}; the tick checks test nothing")
    p = run("A", "tick", "--now", now)
    check(p.returncode == 0 and f"fired in {a_due} episode(s)" in p.stdout,
          f"tick --now {now} under A: {p.stdout.strip()!r} {p.stderr.strip()!r} ({a_due} of A's episodes due)")
    check(dump("B") == b_before, "tick under A changed B's rows")
    p = run("A", "worker", "--once", "--now", "2026-05-01")
    check(p.returncode == 0, f"worker --once under --practice A: {p.returncode} {p.stderr.strip()!r}")
    check(dump("B") == b_before, "worker --once --practice A changed B's rows")
    n_a = counts("A")
    p = run("A", "rebuild")
    check(p.returncode == 0 and p.stdout.strip() ==
          f"rebuilt {n_a['episodes']} episodes from {n_a['events']} events: 0 difference(s)",
          f"rebuild under A: {p.stdout.strip()!r} {p.stderr.strip()!r}; A has {n_a['episodes']} episodes, "
          f"{n_a['events']} events")
    check(dump("B") == b_before, "rebuild under A changed B's rows")
    b_left = int(SQL.value(f"SELECT count(*) FROM zorgpad.timers WHERE practice = 'B' AND due <= '{now}'"))
    check(b_left == b_due, f"B's due timers: {b_due} before A's tick and worker, {b_left} after")


# --- psql as the application role ---------------------------------------------------------------

def insert_sql(table, practice):
    """An INSERT of one row of `practice` into `table` (the values fit the columns)."""
    values = {
        "episodes": "(practice, id, patient, state, phase, last_seq, body, last_event, terminal) VALUES "
                    f"('{practice}', 'ep-forged', 'P', 'intake', 'acute', 1, '{{}}', '2026-01-05', false)",
        "events": "(practice, episode, seq, type, at, body, recorded_at) VALUES "
                  f"('{practice}', 'ep-b1', 99, 'session', '2026-01-20', '{{}}', 0)",
        "tasks": "(practice, episode, seq, kind, due, status) VALUES "
                 f"('{practice}', 'ep-b1', 99, 'reevaluation', '2026-01-20', 'open')",
        "timers": f"(practice, episode, due) VALUES ('{practice}', 'ep-forged', '2026-01-20')",
        "ticks": f"(practice, episode, after_seq, at, recorded_at) VALUES ('{practice}', 'ep-forged', 1, '2026-01-20', 0)",
        "episode_counts": f"(practice, state, phase, profile, n) VALUES ('{practice}', 'forged', 'acute', 0, 1)",
    }
    return f"INSERT INTO zorgpad.{table}{values[table]}"


def app_counts(s):
    q = " UNION ALL ".join(f"SELECT '{t}', count(*), count(*) FILTER (WHERE practice <> "
                           f"coalesce(current_setting('zorgpad.practice', true), '')) FROM zorgpad.{t}"
                           for t in PRACTICE_TABLES)
    rows = [r.split("|") for r in s.run(q)]
    return {r[0]: int(r[1]) for r in rows}, sum(int(r[2]) for r in rows)


def psql_isolation():
    a_before, b_before = dump("A"), dump("B")
    n_a, n_b = counts("A"), counts("B")
    empty = {t: 0 for t in PRACTICE_TABLES}
    check(all(n_a[t] > 0 for t in ("episodes", "events", "tasks", "timers", "episode_counts")) and n_b["tasks"] > 0,
          f"the practices are too empty for the checks: A {n_a}, B {n_b}")
    s = Session(URL_A)
    try:
        check(s.value("SELECT current_user") == "zorgpad_a", "the psql session is not zorgpad_a")
        got, _ = app_counts(s)
        check(got == empty, f"zorgpad_a without a practice setting reads rows: {got}")

        # a transaction of practice A, as zorgpad sets it
        s.run("BEGIN")
        s.run("SELECT set_config('zorgpad.practice', 'A', true)")
        got, foreign = app_counts(s)
        check(got == n_a, f"in a transaction of A, zorgpad_a reads {got}; A's rows are {n_a}")
        check(foreign == 0, f"in a transaction of A, {foreign} rows of another practice are visible")
        check(s.value("SELECT count(*) FROM zorgpad.episodes WHERE practice = 'B' OR id IN ('ep-b2', 'ep-b3')") == "0",
              "a transaction of A reads B's episodes by name")
        for table in PRACTICE_TABLES:
            s.run("SAVEPOINT probe")
            _, state, err = s.attempt(insert_sql(table, "B"))
            check(state == "42501" and err and "row-level security" in err,
                  f"INSERT of a row of B into {table} under A: SQLSTATE {state}, {err!r} (expected the WITH CHECK "
                  "violation 42501)")
            s.run("ROLLBACK TO SAVEPOINT probe")
            _, state, err = s.attempt(insert_sql(table, "A"))
            check(state == "00000", f"INSERT of a row of A into {table} under A fails ({err}): the policy is not "
                                    "what separates the practices")
            s.run("ROLLBACK TO SAVEPOINT probe")
        _, state, err = s.attempt("UPDATE zorgpad.episodes SET practice = 'B' WHERE id = 'ep-a1'")
        check(state == "42501", f"moving A's episode to B under A: SQLSTATE {state} {err!r}")
        s.run("ROLLBACK TO SAVEPOINT probe")
        for sql in ("UPDATE zorgpad.episodes SET state = 'closed' WHERE practice = 'B'",
                    "UPDATE zorgpad.tasks SET status = 'done' WHERE id IN (SELECT id FROM zorgpad.tasks) OR practice = 'B'"
                    " RETURNING practice",
                    "DELETE FROM zorgpad.events WHERE practice = 'B' RETURNING practice",
                    "DELETE FROM zorgpad.timers WHERE practice <> 'A' RETURNING practice"):
            rows, state, err = s.attempt(sql)
            check(state == "00000" and "B" not in rows, f"{sql!r} under A: SQLSTATE {state}, rows {rows} {err or ''}")
        s.run("ROLLBACK TO SAVEPOINT probe")
        s.run("COMMIT")

        # the same connection after the transaction: the setting went with it
        setting = s.value("SELECT coalesce(current_setting('zorgpad.practice', true), '<null>')")
        check(setting in ("", "<null>"), f"after COMMIT the session's zorgpad.practice is {setting!r}")
        got, _ = app_counts(s)
        check(got == empty, f"after a transaction of A the same session reads {got} without a setting")
        # reused for B next, as a pool does
        s.run("BEGIN")
        s.run("SELECT set_config('zorgpad.practice', 'B', true)")
        got, foreign = app_counts(s)
        check(got == n_b and foreign == 0, f"the next transaction, of B, reads {got} ({foreign} foreign); B's are {n_b}")
        s.run("COMMIT")
        got, _ = app_counts(s)
        check(got == empty, f"after a transaction of B the session reads {got}")
        # a rolled back transaction leaves nothing either
        s.run("BEGIN")
        s.run("SELECT set_config('zorgpad.practice', 'A', true)")
        s.run("ROLLBACK")
        got, _ = app_counts(s)
        check(got == empty, f"after a rolled back transaction of A the session reads {got}")

        # the contrast: a session-level SET (never zorgpad's way) outlives the transaction
        s.run("SET zorgpad.practice = 'A'")
        s.run("BEGIN")
        s.run("SELECT set_config('zorgpad.practice', 'B', true)")
        got, _ = app_counts(s)
        check(got == n_b, f"set_config(…, true) inside a transaction does not override the session's value: {got}")
        s.run("COMMIT")
        got, _ = app_counts(s)
        check(got == n_a, f"the contrast did not show: after a session-level SET and a transaction of B, a query "
                          f"outside any transaction reads {got} (A's rows are {n_a})")
        s.run("RESET zorgpad.practice")
        got, _ = app_counts(s)
        check(got == empty, f"after RESET the session reads {got}")

        # what the application role may not do
        for sql in ("ALTER TABLE zorgpad.episodes NO FORCE ROW LEVEL SECURITY",
                    "ALTER TABLE zorgpad.events DISABLE ROW LEVEL SECURITY",
                    "DROP POLICY practice_only ON zorgpad.tasks",
                    "CREATE POLICY everything ON zorgpad.episodes USING (true)",
                    "TRUNCATE zorgpad.events",
                    "UPDATE zorgpad.meta SET value = '1' WHERE key = 'schema_version'",
                    "SET ROLE zorgpad_owner",
                    "CREATE TABLE zorgpad.mine(x int)"):
            _, state, err = s.attempt(sql)
            check(state != "00000", f"zorgpad_a may run {sql!r}")
            s.attempt("RESET ROLE")
    finally:
        s.close()
    check(dump("A") == a_before and dump("B") == b_before, "the psql probes as zorgpad_a changed A's or B's rows")


def ownership():
    tables = SQL.run("SELECT tablename || '|' || tableowner FROM pg_tables WHERE schemaname = 'zorgpad' ORDER BY 1")
    owners = dict(r.split("|") for r in tables)
    check(set(PRACTICE_TABLES) | {"meta", "practices"} <= set(owners), f"tables of schema zorgpad: {sorted(owners)}")
    app_roles = ("zorgpad_app", "zorgpad_a", "zorgpad_b")
    for table, owner in owners.items():
        check(owner not in app_roles, f"zorgpad.{table} is owned by the application role {owner}")
        for role in app_roles:
            member = SQL.value(f"SELECT pg_has_role('{role}', '{owner}', 'MEMBER')")
            check(member == "f", f"{role} is a member of {owner}, the owner of zorgpad.{table}")
            trunc = SQL.value(f"SELECT has_table_privilege('{role}', 'zorgpad.{table}', 'TRUNCATE')")
            check(trunc == "f", f"{role} has TRUNCATE on zorgpad.{table} (TRUNCATE skips row-level security)")
    for role in app_roles:
        r = SQL.value(f"SELECT rolsuper::text || '|' || rolbypassrls::text FROM pg_roles WHERE rolname = '{role}'")
        check(r == "false|false", f"{role}: rolsuper|rolbypassrls = {r}")
        c = SQL.value(f"SELECT has_schema_privilege('{role}', 'zorgpad', 'CREATE')")
        check(c == "f", f"{role} may create objects in schema zorgpad")
    for table in PRACTICE_TABLES:
        flags = SQL.value("SELECT relrowsecurity::text || '|' || relforcerowsecurity::text FROM pg_class "
                          f"WHERE oid = 'zorgpad.{table}'::regclass")
        check(flags == "true|true", f"zorgpad.{table}: relrowsecurity|relforcerowsecurity = {flags}")
        pols = SQL.run("SELECT polcmd::text || '|' || polpermissive::text || '|' || pg_get_expr(polqual, polrelid) || '|' || "
                       "pg_get_expr(polwithcheck, polrelid) FROM pg_policy "
                       f"WHERE polrelid = 'zorgpad.{table}'::regclass")
        expr = "(practice = current_setting('zorgpad.practice'::text, true))"
        check(pols == [f"*|true|{expr}|{expr}"], f"zorgpad.{table}: policies {pols}")


# --- what zorgpad itself sends ------------------------------------------------------------------

LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (\S*)@(\S*) (LOG|DETAIL|ERROR|STATEMENT|FATAL|WARNING):\s+(.*)$")
TOUCHES = re.compile(r"\bzorgpad\.(episodes|events|tasks|timers|ticks|episode_counts)\b")


def server_log():
    port = os.environ.get("PGPORT", "")
    p = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[2] == port:
            return f[6]
    return None


def statements_of(log, role, start):
    """[(pid, text)] of role's statements logged after byte offset `start`."""
    with open(log, errors="replace") as f:
        f.seek(start)
        lines = f.read().splitlines()
    out = []
    for line in lines:
        m = LOG_LINE.match(line)
        if m:
            pid, user, _, level, text = m.groups()
            if user == role and level == "LOG":
                mm = re.match(r"(statement|execute [^:]*): (.*)$", text)
                if mm:
                    out.append([pid, mm.group(2)])
                    continue
            out.append(None)
        elif out and out[-1] is not None and line.startswith("\t"):
            out[-1][1] += " " + line.strip()  # a statement's continuation line
    return [tuple(x) for x in out if x is not None]


def zorgpad_statements():
    log = server_log()
    if log is None or not os.path.exists(log):
        print(f"note: the server log of port {os.environ.get('PGPORT')} is not found ({log}): zorgpad's own "
              "statements are not checked", file=sys.stderr)
        return
    SQL.run("ALTER ROLE zorgpad_b SET log_statement = 'all'")
    start = os.path.getsize(log)
    try:
        must("B", "show", "ep-b1", "--json", url=URL_B)
        must("B", "record", "ep-b1", "-", url=URL_B, stdin=json.dumps({"type": "session", "at": "2026-03-10"}))
        must("B", "tasks", url=URL_B)
        must("B", "rebuild", url=URL_B)
        must("B", "tick", "--now", "2026-03-15", url=URL_B)
        # a worker over every practice, on one connection: each transaction sets its own practice
        p = subprocess.run([ZORGPAD, "--db", URL_B, "worker", "--once", "--now", "2026-06-01", "--batch", "1"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"worker --once over every practice: {p.returncode} {p.stderr.strip()!r}")
        run("B", "record", "ep-nobody", "-", url=URL_B, stdin=json.dumps({"type": "session", "at": "2026-03-10"}))
    finally:
        SQL.run("ALTER ROLE zorgpad_b RESET log_statement")
    time.sleep(0.3)  # the logger writes asynchronously
    stmts = statements_of(log, "zorgpad_b", start)
    check(len(stmts) > 20, f"only {len(stmts)} statements of zorgpad_b in {log}")
    session_level = [t for _, t in stmts if re.search(r"zorgpad\.practice\b", t)
                     and not re.search(r"set_config\('zorgpad\.practice',\s*\$1,\s*true\)", t)]
    check(not session_level, f"zorgpad sets zorgpad.practice other than transaction-locally: {session_level[:3]}")
    state = {}  # pid -> practice set in the current transaction
    unset, transactions, practices_set = [], 0, 0
    for pid, text in stmts:
        head = text.lstrip().upper()
        if head.startswith("BEGIN") or head.startswith("START TRANSACTION"):
            state[pid] = False
            transactions += 1
        if re.search(r"set_config\('zorgpad\.practice',\s*\$1,\s*true\)", text):
            state[pid] = True
            practices_set += 1
        elif TOUCHES.search(re.sub(r"'[^']*'", "''", text)) and not state.get(pid):
            unset.append(text[:160])
        if re.match(r"(COMMIT|ROLLBACK|END)\b", head) or head.endswith("; COMMIT") or head.endswith("; ROLLBACK"):
            state[pid] = False
    check(not unset, f"{len(unset)} statement(s) of zorgpad read or write a practice table without the practice set "
                     f"in their transaction, e.g. {unset[:3]}")
    check(practices_set >= 7, f"only {practices_set} set_config of the practice in {transactions} transactions")
    print(f"zorgpad_b's statements: {len(stmts)} in {transactions} transactions, the practice set {practices_set} times")


def main():
    global SQL
    if not URL_A or not URL_B:
        print("ZORGPAD_PG_URL / ZORGPAD_PG_URL_B not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    SQL = Session()
    try:
        with tempfile.TemporaryDirectory(prefix="zorgpad-pg-iso-") as tmp:
            setup()
            for name, section in (("psql", psql_isolation), ("ownership", ownership),
                                  ("cli", lambda: cli_isolation(tmp)), ("statements", zorgpad_statements)):
                t = time.monotonic()
                section()
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
