#!/usr/bin/python3
"""The store's CLI commands behave as documented (issue 3).

Run as `python3 cli_commands.py ZORGPAD_BINARY` (ctest does).

- database location: --db, else $ZORGPAD_DB, else ./zorgpad.db in the
  working directory; the file (and its WAL files) are private (mode 0600);
  `init` on an existing store changes nothing;
- `tasks --json` is {"tasks": [...]}, each with id, episode, kind, due, status
  and `checkpoint` on reevaluation tasks only, in due order, the same tasks
  `show --json` lists; `--due-before`, `--kind`, `--status` filter (and
  combine); bad filter values exit 2;
- `task done ID` marks the task done (in `tasks` and `show`), a second time or
  an unknown id exits 2 without writing, and `rebuild` reports 0 differences
  afterwards, also when a tick fired the task's checkpoint before it was done;
- `show` (text) has state, phase, profile, the tasks and the dated history;
- idempotency: the same event id recorded twice changes nothing and reports
  the first result (open, record and import); `--expect-seq` accepts the
  right N and rejects a stale one.
"""
import json
import os
import re
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


def run(db, *args, stdin=None, today=None, cwd=None, env=None):
    cmd = [ZORGPAD] + (["--db", db] if db else []) + (["--today", today] if today else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def must(db, *args, **kw):
    p = run(db, *args, **kw)
    if p.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


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


def open_ep(db, ep, complaint="lbp", at="2026-01-05", onset="2026-01-01", **kw):
    ev = dict({"type": "open", "at": at, "onset": onset, "complaint": complaint, "age": 50}, **kw)
    return must(db, "open", "--id", ep, "--patient", "P-" + ep, "-", stdin=json.dumps(ev))


def rec(db, ep, *args, **ev):
    return must(db, "record", ep, *args, "-", stdin=json.dumps(ev))


def screen(db, ep, at="2026-01-05", **kw):
    rec(db, ep, type="screening", at=at, red_flags=kw.pop("red_flags", []), exclusions=[], **kw)


def private(path):
    return stat.S_IMODE(os.stat(path).st_mode) == 0o600


def locations(tmp):
    env = {k: v for k, v in os.environ.items() if k != "ZORGPAD_DB"}
    work = os.path.join(tmp, "cwd")
    os.mkdir(work)
    p = run(None, "init", cwd=work, env=env)
    default = os.path.join(work, "zorgpad.db")
    check(p.returncode == 0 and os.path.exists(default), f"init without --db did not create ./zorgpad.db: {p.stderr}")
    check(p.stdout.strip() == "database ready: zorgpad.db", f"init output {p.stdout!r}")
    if os.path.exists(default):
        check(private(default), f"./zorgpad.db has mode {oct(os.stat(default).st_mode)}, expected 0600")

    envdb = os.path.join(tmp, "from-env.db")
    env2 = dict(env, ZORGPAD_DB=envdb)
    p = run(None, "init", cwd=work, env=env2)
    check(p.returncode == 0 and os.path.exists(envdb), f"init did not use $ZORGPAD_DB: {p.stderr}")
    ev = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 50}
    p = run(None, "open", "--id", "ep-env", "-", stdin=json.dumps(ev), cwd=work, env=env2)
    check(p.returncode == 0, f"open via $ZORGPAD_DB: {p.stderr}")
    p = run(None, "show", "ep-env", cwd=work, env=env2)
    check(p.returncode == 0 and "ep-env" in p.stdout, "show via $ZORGPAD_DB does not find the episode")
    p = run(None, "show", "ep-env", cwd=work, env=env)
    check(p.returncode == 2, "the episode opened via $ZORGPAD_DB is found in ./zorgpad.db")
    other = os.path.join(tmp, "explicit.db")
    p = run(other, "init", cwd=work, env=env2)
    check(p.returncode == 0 and os.path.exists(other), "--db does not win over $ZORGPAD_DB")
    p = run(other, "show", "ep-env", cwd=work, env=env2)
    check(p.returncode == 2, "--db ignored: the episode of $ZORGPAD_DB is visible")
    for f in (envdb, envdb + "-wal", envdb + "-shm"):
        if os.path.exists(f):
            check(private(f), f"{os.path.basename(f)} has mode {oct(os.stat(f).st_mode)}, expected 0600")

    before = dump(envdb)
    p = run(envdb, "init")
    check(p.returncode == 0 and dump(envdb) == before, "init on an existing store changed it")


def build(db):
    """Episodes with tasks of several kinds. Returns nothing; dates are fixed."""
    must(db, "init")
    open_ep(db, "ep-a")  # profile 2: gp_report_start, reevaluation week3 + week6
    screen(db, "ep-a")
    rec(db, "ep-a", type="measurement", at="2026-01-05", nprs=6, qbpds=40)
    rec(db, "ep-a", type="stratification", at="2026-01-05", factors={"leg_pain": "present"})
    open_ep(db, "ep-b", complaint="lrs", at="2026-01-07", onset="2026-01-03")  # lrs_check
    screen(db, "ep-b", at="2026-01-07", mrc=5, nprs=5)
    open_ep(db, "ep-c", at="2026-01-08")  # red_flag_review, continue (notice), treatment, then stop: gp_report_close
    screen(db, "ep-c", at="2026-01-08", red_flags=["night_sweats", "fever_chills"])
    rec(db, "ep-c", type="red_flag_review", at="2026-01-08", decision="continue", note="sweats explained by a cold")
    rec(db, "ep-c", type="stratification", at="2026-01-08", profile=1, factors={})
    rec(db, "ep-c", type="stop", at="2026-01-09", reason="patient_request")
    open_ep(db, "ep-d")  # profile 1: week3 reevaluation on 2026-01-26
    screen(db, "ep-d")
    rec(db, "ep-d", type="stratification", at="2026-01-05", sbst=[0] * 9, factors={})


def tasks_json(db, *args):
    out = json.loads(must(db, "tasks", "--json", *args))
    check(isinstance(out, dict) and list(out) == ["tasks"] and isinstance(out["tasks"], list),
          f"tasks --json {' '.join(args)}: not {{\"tasks\": [...]}}: {str(out)[:200]}")
    return out["tasks"]


def tasks_listing(db):
    rows = tasks_json(db)
    check(len(rows) >= 9, f"only {len(rows)} tasks")
    kinds = {t["kind"] for t in rows}
    check({"gp_report_start", "reevaluation", "lrs_check", "red_flag_review", "gp_report_close"} <= kinds,
          f"task kinds {kinds}")
    for t in rows:
        want = {"id", "episode", "kind", "due", "status"} | ({"checkpoint"} if t.get("kind") == "reevaluation" else set())
        check(set(t) == want, f"task {t}: keys {sorted(t)}, expected {sorted(want)}")
        check(isinstance(t["id"], int) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["due"]) is not None, f"task {t}")
        check(t["status"] in ("open", "done", "cancelled"), f"task {t}: status")
    check(len({t["id"] for t in rows}) == len(rows), "task ids are not unique")
    check([(t["due"], t["id"]) for t in rows] == sorted((t["due"], t["id"]) for t in rows), "tasks not in due order")
    # the same tasks as show --json, per episode in creation order
    for ep in ("ep-a", "ep-b", "ep-c", "ep-d"):
        shown = json.loads(must(db, "show", ep, "--json"))["tasks"]
        listed = sorted((t for t in rows if t["episode"] == ep), key=lambda t: t["id"])
        check([{k: v for k, v in t.items() if k not in ("id", "episode")} for t in listed] == shown,
              f"{ep}: tasks --json {listed} differ from show --json {shown}")
    a = [t for t in rows if t["episode"] == "ep-a"]
    check([(t["kind"], t.get("checkpoint"), t["due"]) for t in sorted(a, key=lambda t: t["id"])] ==
          [("gp_report_start", None, "2026-01-05"), ("reevaluation", "week3", "2026-01-26"),
           ("reevaluation", "week6", "2026-02-16")], f"ep-a tasks {a}")

    # filters, alone and combined, equal filtering the full list
    def same(args, pred):
        got = tasks_json(db, *args)
        check(got == [t for t in rows if pred(t)], f"tasks {' '.join(args)}: {got}")
        return got

    check(same(["--due-before", "2026-01-26"], lambda t: t["due"] < "2026-01-26"), "--due-before matched nothing")
    check(same(["--due-before", "2026-01-05"], lambda t: t["due"] < "2026-01-05") == [], "--due-before is not strict")
    check(same(["--kind", "reevaluation"], lambda t: t["kind"] == "reevaluation"), "--kind matched nothing")
    check(same(["--status", "cancelled"], lambda t: t["status"] == "cancelled"), "--status cancelled matched nothing")
    same(["--status", "open"], lambda t: t["status"] == "open")
    same(["--status", "done"], lambda t: t["status"] == "done")
    same(["--kind", "reevaluation", "--status", "open", "--due-before", "2026-02-01"],
         lambda t: t["kind"] == "reevaluation" and t["status"] == "open" and t["due"] < "2026-02-01")
    text = must(db, "tasks", "--kind", "lrs_check")
    check("lrs_check" in text and "ep-b" in text and "1 task(s)" in text, f"tasks text: {text!r}")
    for args in (["--kind", "massage"], ["--status", "finished"], ["--due-before", "2026-02-30"]):
        p = run(db, "tasks", *args)
        check(p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1,
              f"tasks {' '.join(args)}: exit {p.returncode}, {p.stderr!r}")
    return rows


def rebuild_clean(db, when):
    p = run(db, "rebuild")
    check(p.returncode == 0 and re.search(r"rebuilt \d+ episodes from \d+ events: 0 difference\(s\)$", p.stdout.strip()),
          f"{when}: rebuild: {p.stdout.strip()[-400:]!r} {p.stderr.strip()!r}")


def task_done(db, rows):
    start = next(t for t in rows if t["episode"] == "ep-a" and t["kind"] == "gp_report_start")
    p = run(db, "task", "done", str(start["id"]), today="2026-01-06")
    check(p.returncode == 0 and p.stdout.strip() == f"task {start['id']} (gp_report_start, ep-a) done",
          f"task done: exit {p.returncode}, {p.stdout!r} {p.stderr!r}")
    check(any(t["id"] == start["id"] for t in tasks_json(db, "--status", "done")), "the done task is not listed as done")
    check(json.loads(must(db, "show", "ep-a", "--json"))["tasks"][0]["status"] == "done", "show does not say done")
    rebuild_clean(db, "after task done")

    before = dump(db)
    for tid, what in ((start["id"], "already done"), (999999, "no task")):
        p = run(db, "task", "done", str(tid))
        check(p.returncode == 2 and p.stdout == "" and len(p.stderr.splitlines()) == 1 and what in p.stderr,
              f"task done {tid}: exit {p.returncode}, {p.stderr!r}")
    check(dump(db) == before, "a rejected task done changed the database")

    # a task of a terminal episode can still be done
    close = next(t for t in rows if t["episode"] == "ep-c" and t["kind"] == "gp_report_close")
    p = run(db, "task", "done", str(close["id"]), today="2026-01-10")
    check(p.returncode == 0, f"task done on a closed episode: {p.stderr}")
    rebuild_clean(db, "after task done on a closed episode")

    # a reevaluation task done before its date: its checkpoint never fires
    week3 = next(t for t in rows if t["episode"] == "ep-a" and t.get("checkpoint") == "week3")
    must(db, "task", "done", str(week3["id"]), today="2026-01-20")
    must(db, "tick", "--now", "2026-01-27")
    a = json.loads(must(db, "show", "ep-a", "--json"))
    check(a["state"] == "treatment", f"ep-a: the checkpoint of a done task fired: {a['state']}")
    rebuild_clean(db, "after task done, then tick")

    # a reevaluation task done after a tick fired its checkpoint
    d3 = next(t for t in rows if t["episode"] == "ep-d" and t.get("checkpoint") == "week3")
    d = json.loads(must(db, "show", "ep-d", "--json"))
    check(d["state"] == "reevaluation_due", f"ep-d: the tick did not fire week3: {d['state']}")
    must(db, "task", "done", str(d3["id"]), today="2026-01-31")
    d2 = json.loads(must(db, "show", "ep-d", "--json"))
    check(d2["tasks"][1]["status"] == "done" and d2["state"] == d["state"], f"ep-d after task done: {d2['state']}")
    rebuild_clean(db, "after a tick fired a checkpoint and its task was then done")
    check(json.loads(must(db, "show", "ep-d", "--json")) == d2, "rebuild changed ep-d")


def show_text(db):
    out = must(db, "show", "ep-a")
    for pat in [r"^episode\s+ep-a\s+\(patient P-ep-a\)", r"^state\s+treatment", r"^phase\s+acute",
                r"^profile\s+2\s+\(suggested 2\)", r"^tasks$", r"gp_report_start .* due 2026-01-05\s+done",
                r"reevaluation\s+week6\s+due 2026-02-16\s+open", r"^history$", r"2026-01-05\s+open -> intake",
                r"2026-01-05\s+screening: intake -> screened", r"2026-01-05\s+stratification: screened -> treatment",
                r"NPRS 6 -> 6"]:
        check(re.search(pat, out, re.M), f"show ep-a text lacks /{pat}/:\n{out}")
    out = must(db, "show", "ep-c")
    check(re.search(r"^state\s+closed — patient_request", out, re.M), f"show ep-c: {out}")
    p = run(db, "show", "ep-nobody")
    check(p.returncode == 2 and "ep-nobody" in p.stderr and p.stdout == "", f"show unknown: {p.returncode} {p.stderr!r}")


def idempotency(db):
    open_ev = {"type": "open", "at": "2026-02-02", "onset": "2026-02-01", "complaint": "lbp", "age": 30, "id": "open-1"}
    out = must(db, "open", "--id", "ep-i", "--patient", "P-i", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i", f"open: {out!r}")
    before = dump(db)
    out = must(db, "open", "--id", "ep-i2", "--patient", "P-i", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i (already opened by this event id)", f"open again: {out!r}")
    out = must(db, "open", "-", stdin=json.dumps(open_ev))
    check(out.strip() == "ep-i (already opened by this event id)", f"open again, no id: {out!r}")
    check(dump(db) == before, "a repeated open changed the database")

    scr = {"type": "screening", "at": "2026-02-02", "red_flags": [], "exclusions": [], "id": "scr-1"}
    out = rec(db, "ep-i", **scr)
    check(out.strip() == "ep-i event 1: screened, acute", f"record: {out!r}")
    before = dump(db)
    out = rec(db, "ep-i", **scr)
    check(out.strip() == "ep-i event 1 (already recorded): screened, acute", f"record again: {out!r}")
    # the same id with another body, or for another episode: still the first result
    out = rec(db, "ep-i", **dict(scr, suspicion=True))
    check(out.strip().startswith("ep-i event 1 (already recorded)"), f"record again, other body: {out!r}")
    out = rec(db, "ep-a", **dict(scr, at="2026-03-01"))
    check(out.strip().startswith("ep-i event 1 (already recorded)"), f"record again, other episode: {out!r}")
    check(dump(db) == before, "a repeated event id changed the database")

    # --expect-seq: the log of ep-i ends at 2
    strat = {"type": "stratification", "at": "2026-02-03", "profile": 1, "factors": {}, "id": "strat-1"}
    p = run(db, "record", "ep-i", "--expect-seq", "1", "-", stdin=json.dumps(strat))
    check(p.returncode == 2 and "ep-i event 2" in p.stderr, f"stale --expect-seq 1: {p.returncode} {p.stderr!r}")
    out = rec(db, "ep-i", "--expect-seq", "2", **strat)
    check(out.strip() == "ep-i event 2: treatment, acute", f"--expect-seq 2: {out!r}")
    # a retry of the same command: the event id wins over the now stale --expect-seq
    out = rec(db, "ep-i", "--expect-seq", "2", **strat)
    check(out.strip() == "ep-i event 2 (already recorded): treatment, acute", f"retry with --expect-seq: {out!r}")
    p = run(db, "record", "ep-i", "--expect-seq", "2", "-", stdin=json.dumps({"type": "session", "at": "2026-02-04"}))
    check(p.returncode == 2 and p.stdout == "", f"stale --expect-seq 2 after the log moved on: {p.returncode}")
    out = rec(db, "ep-i", "--expect-seq", "3", type="session", at="2026-02-04")
    check(out.strip() == "ep-i event 3: treatment, acute", f"--expect-seq 3: {out!r}")

    # import: the lines already recorded are skipped, the rest recorded once
    lines = [{"episode": "ep-i", "event": {"type": "session", "at": "2026-02-05", "id": "imp-1"}},
             {"episode": "ep-i", "event": scr},
             {"episode": "ep-j", "patient": "P-j", "event": dict(open_ev, id="open-j")},
             {"episode": "ep-j", "event": dict(scr, id="scr-j")}]
    text = "".join(json.dumps(x) + "\n" for x in lines)
    out = must(db, "import", "-", stdin=text)
    check(out.strip() == "imported 3 events (1 episodes opened, 1 already recorded) from 4 lines", f"import: {out!r}")
    before = dump(db)
    out = must(db, "import", "-", stdin=text)
    check(out.strip() == "imported 0 events (0 episodes opened, 4 already recorded) from 4 lines", f"import again: {out!r}")
    check(dump(db) == before, "a repeated import changed the database")
    i = json.loads(must(db, "show", "ep-i", "--json"))
    check(i["sessions"] == 2 and i["state"] == "treatment", f"ep-i: {i['sessions']} sessions, {i['state']}")
    rebuild_clean(db, "after the idempotency checks")


def main():
    with tempfile.TemporaryDirectory(prefix="zorgpad-cli-") as tmp:
        locations(tmp)
        db = os.path.join(tmp, "store.db")
        build(db)
        check(private(db), f"the store has mode {oct(os.stat(db).st_mode)}, expected 0600")
        rows = tasks_listing(db)
        task_done(db, rows)
        show_text(db)
        idempotency(db)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
