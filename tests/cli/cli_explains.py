#!/usr/bin/python3
"""The CLI explains itself (issue 15, point 3).

Run as `python3 cli_explains.py ZORGPAD_BINARY` (ctest does).

- `--version` prints `zorgpad 0.1.0` (the CMake project version) and exits 0;
- a mistyped subcommand or option exits 2 with one line naming the nearest
  known one (`shwo` -> `show`, `tasks --statu` -> `--status`, `task dnoe` ->
  `done`, a mistyped global option after the subcommand -> `--today`), and a
  word near nothing is named without a guess;
- --help shows defaults and allowed values (`import --batch` 5000, `tasks
  --status` {open,done,cancelled}, `diagram --format` {mermaid,dot}), no
  `letters` option is marked REQUIRED and `letters --pending` still runs;
  `record --help` lists the event types and points to docs/events.md;
- a SQLite database that does not exist is an error (exit 2, one line, the
  file is not created) for every command that reads or writes one, except
  `init` (and `demo`) which create it; `replay`, `diagram` and `--help` need
  none;
- $ZORGPAD_TODAY is the default of --today;
- import and rebuild draw a progress line (count, rate, \\r) on standard
  error when it is a terminal, and print nothing there otherwise.
"""
import json
import os
import pty
import select
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS = os.environ.get("ZORGPAD_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*args, stdin=None, env=None, cwd=None):
    return subprocess.run([ZORGPAD, *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def one_line_error(p, exit_code=2):
    return p.returncode == exit_code and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1


def run_on_pty(args, stdin_path):
    """Runs zorgpad with standard error on a pseudo-terminal; returns (exit
    status, standard output, what the terminal received)."""
    master, slave = pty.openpty()
    with open(stdin_path, "rb") as stdin:
        proc = subprocess.Popen([ZORGPAD, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out, seen.decode(errors="replace")


with tempfile.TemporaryDirectory() as tmp:
    # --version
    p = run("--version")
    check(p.returncode == 0 and p.stdout.strip() == "zorgpad 0.1.0", f"--version: {p.returncode} {p.stdout!r} {p.stderr!r}")

    # A mistyped subcommand or option: the nearest match, one line, exit 2.
    for args, expected in [
        (["shwo"], "zorgpad: unknown command 'shwo'; did you mean 'show'?"),
        (["--db", "x.db", "taks"], "zorgpad: unknown command 'taks'; did you mean 'tasks'?"),
        (["tasks", "--statu", "open"], "zorgpad: unknown option '--statu' of 'tasks'; did you mean '--status'?"),
        (["task", "dnoe", "1"], "zorgpad: unknown command 'dnoe' of 'task'; did you mean 'done'?"),
        (["show", "ep-1", "--tody", "2026-01-01"], "zorgpad: unknown option '--tody' of 'show'; did you mean '--today'?"),
        (["--dbb", "x.db", "tasks"], "zorgpad: unknown option '--dbb'; did you mean '--db'?"),
        (["import", "--bach=10", "x"], "zorgpad: unknown option '--bach' of 'import'; did you mean '--batch'?"),
        (["frobnicate"], "zorgpad: unknown command 'frobnicate' (see zorgpad --help)"),
    ]:
        p = run(*args, cwd=tmp)
        check(one_line_error(p) and p.stderr.strip() == expected, f"{' '.join(args)}: {p.returncode} {p.stderr!r}, expected {expected!r}")
    check(not os.path.exists(os.path.join(tmp, "x.db")), "a refused command line created its database")
    # A bad value of a known option keeps CLI11's own message.
    p = run("import", "--batch", "0", "x")
    check(one_line_error(p) and "--batch" in p.stderr and "did you mean" not in p.stderr, f"import --batch 0: {p.stderr!r}")

    # --help: defaults and allowed values.
    helps = {cmd: run(cmd, "--help").stdout for cmd in ("import", "tasks", "diagram", "letters", "record", "overview", "serve")}
    check("5000" in helps["import"], "import --help does not show --batch's default 5000")
    check("{open,done,cancelled}" in helps["tasks"], "tasks --help does not list the statuses")
    check("{mermaid,dot}" in helps["diagram"] and "mermaid" in helps["diagram"].split("{mermaid,dot}")[1].split("\n")[0]
          or "=mermaid" in helps["diagram"], "diagram --help lacks the formats or the default")
    check("{acute,subacute,chronic}" in helps["overview"] and "=50" in helps["overview"], "overview --help lacks the phases or --limit's default")
    check("=8080" in helps["serve"] and "=127.0.0.1" in helps["serve"], "serve --help lacks --port's or --bind's default")
    check("REQUIRED" not in helps["letters"] and "--pending" in helps["letters"], f"letters --help: {helps['letters']!r}")
    for t in ("screening", "red_flag_review", "stratification", "measurement", "session", "reevaluation", "gp_consult",
              "gp_request", "stop", "docs/events.md"):
        check(t in helps["record"], f"record --help does not name {t}")
    top = run("--help").stdout
    check("--version" in top and "ZORGPAD_TODAY" in top, "--help lacks --version or $ZORGPAD_TODAY")

    # A database that does not exist.
    missing = os.path.join(tmp, "empty2.db")
    for args in (["tasks"], ["show", "ep-1"], ["overview"], ["rebuild"], ["tick"], ["task", "done", "1"], ["import", "-"],
                 ["record", "ep-1", "-"], ["open", "-"], ["letters", "--pending"], ["calendar"], ["fhir", "--all"],
                 ["audit"], ["user", "list"], ["serve", "--port", "0"]):
        p = run("--db", missing, *args, stdin=json.dumps({"type": "session", "at": "2026-01-05"}))
        check(one_line_error(p) and p.stderr.strip() == f"zorgpad: no database '{missing}' (create one with `zorgpad init`)",
              f"{' '.join(args)} on a missing database: {p.returncode} {p.stderr!r}")
        check(not os.path.exists(missing), f"{' '.join(args)} created the missing database")
    p = run("--db", "sqlite:" + missing, "tasks")
    check(one_line_error(p) and "no database" in p.stderr and not os.path.exists(missing), f"sqlite: URL: {p.stderr!r}")
    # Relative, in the working directory, as the issue shows it.
    p = run("--db", "empty2.db", "tasks", cwd=tmp)
    check(one_line_error(p) and p.stderr.strip() == "zorgpad: no database 'empty2.db' (create one with `zorgpad init`)",
          f"tasks on empty2.db: {p.stderr!r}")
    p = run("replay", os.path.join(TESTS, "scenarios", "profile2-escalates.json"), cwd=tmp)
    check(p.returncode == 0 and not os.path.exists(os.path.join(tmp, "zorgpad.db")), "replay needed or created a database")
    p = run("diagram", cwd=tmp)
    check(p.returncode == 0 and not os.listdir(tmp), "diagram needed or created a database")
    db = os.path.join(tmp, "practice.db")
    p = run("--db", db, "init")
    check(p.returncode == 0 and os.path.exists(db), f"init did not create the database: {p.stderr!r}")
    p = run("--db", db, "tasks")
    check(p.returncode == 0 and "0 task(s)" in p.stdout, f"tasks after init: {p.returncode} {p.stderr!r}")
    p = run("--db", db, "letters", "--pending", "--out", os.path.join(tmp, "letters"))
    check(p.returncode == 0 and "0 letter(s) written" in p.stdout, f"letters --pending: {p.returncode} {p.stderr!r}")

    # $ZORGPAD_TODAY: the default of --today.
    env = dict(os.environ, ZORGPAD_TODAY="2026-01-05", ZORGPAD_DB=db)
    opened = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50}
    p = run("open", "--id", "ep-t", "-", stdin=json.dumps(opened), env=env)
    check(p.returncode == 0, f"open with ZORGPAD_TODAY: {p.stderr!r}")
    p = run("overview", "--json", env=env)
    check(p.returncode == 0 and json.loads(p.stdout)["today"] == "2026-01-05", "ZORGPAD_TODAY is not the overview's today")
    p = run("--today", "2026-02-01", "overview", "--json", env=env)
    check(p.returncode == 0 and json.loads(p.stdout)["today"] == "2026-02-01", "--today does not win over ZORGPAD_TODAY")
    p = run("tasks", env=dict(env, ZORGPAD_TODAY="2026-13-01"))
    check(one_line_error(p) and "ZORGPAD_TODAY" in p.stderr, f"a bad ZORGPAD_TODAY: {p.stderr!r}")

    # Progress on a terminal: import (lines) and rebuild (episodes).
    n = 600
    ndjson = os.path.join(tmp, "events.ndjson")
    with open(ndjson, "w") as f:
        for i in range(n):
            f.write(json.dumps({"episode": f"ep-p{i}", "patient": f"P{i}",
                                "event": dict(opened, id=f"open-{i}")}) + "\n")
    big = os.path.join(tmp, "big.db")
    check(run("--db", big, "init").returncode == 0, "init big.db")
    code, out, term = run_on_pty(["--db", big, "--today", "2026-01-05", "import", ndjson], os.devnull)
    check(code == 0 and f"imported {n} events" in out, f"import on a terminal: {code} {out!r}")
    check("\r" in term and "import: " in term and f"of {n} lines" in term, f"import drew no progress with a total: {term!r}")
    code, out, term = run_on_pty(["--db", big, "--today", "2026-01-05", "rebuild"], os.devnull)
    check(code == 0 and f"rebuilt {n} episodes" in out, f"rebuild on a terminal: {code} {out!r}")
    check("\r" in term and f"rebuild: " in term and "episodes" in term, f"rebuild drew no progress: {term!r}")
    # From a pipe the total is not known: a count without one.
    code, out, term = run_on_pty(["--db", big, "--today", "2026-01-05", "import", "-"], ndjson)
    check(code == 0 and f"{n} already recorded" in out and "import: " in term and " of " not in term,
          f"import from standard input on a terminal: {code} {out!r} {term!r}")
    # Without a terminal: nothing on standard error.
    p = run("--db", big, "--today", "2026-01-05", "import", ndjson)
    check(p.returncode == 0 and p.stderr == "", f"import without a terminal wrote on stderr: {p.stderr!r}")
    p = run("--db", big, "rebuild")
    check(p.returncode == 0 and p.stderr == "", f"rebuild without a terminal wrote on stderr: {p.stderr!r}")

for f in failures:
    print("FAIL:", f)
print("cli_explains:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
