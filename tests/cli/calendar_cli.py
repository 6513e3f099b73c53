#!/usr/bin/python3
"""`zorgpad calendar`: the exported file parses with an independent parser
(python3-icalendar) and UIDs stay stable across exports.

Run as `python3 calendar_cli.py ZORGPAD_BINARY` (ctest does). Builds a store
through the CLI (init, open, record, task done, tick) with tasks of every
exported kind and status.
"""
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

import icalendar  # Debian's python3-icalendar

ZORGPAD = os.path.abspath(sys.argv[1])
KINDS = {"reevaluation", "lrs_check", "gp_consultation", "gp_urgent_contact"}
ICAL_STATUS = {"open": "NEEDS-ACTION", "done": "COMPLETED", "cancelled": "CANCELLED"}
SECRETS = ["PSEUDO-SECRET-1", "PSEUDO-SECRET-2", "Dokter Jansen", "Fysio de Vries"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(db, *args, stdin=None, today=None):
    """Runs zorgpad; stdout and stderr decoded as UTF-8 without newline
    translation (the calendar's CRLF line ends must survive)."""
    cmd = [ZORGPAD, "--db", db] + (["--today", today] if today else []) + list(args)
    r = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None, capture_output=True)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8"))


def ok(db, *args, stdin=None, today=None):
    r = run(db, *args, stdin=stdin, today=today)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def open_ep(db, ep, patient, complaint="lbp", at="2026-03-02"):
    ev = {"type": "open", "at": at, "onset": "2026-02-23", "complaint": complaint, "age": 40,
          "gp": "Dokter Jansen", "therapist": "Fysio de Vries"}
    ok(db, "open", "--id", ep, "--patient", patient, "-", stdin=json.dumps(ev))


def record(db, ep, **ev):
    ok(db, "record", ep, "-", stdin=json.dumps(ev))


def screen(db, ep, at="2026-03-02", **extra):
    record(db, ep, type="screening", at=at, red_flags=extra.pop("red_flags", []),
           exclusions=extra.pop("exclusions", []), **extra)


def tasks(db):
    return json.loads(ok(db, "tasks", "--json"))["tasks"]


def task_id(db, ep, kind):
    return next(t["id"] for t in tasks(db) if t["episode"] == ep and t["kind"] == kind)


def build_store(db):
    ok(db, "init")
    # profile 2: week 3 done by a reevaluation, week 6 open
    open_ep(db, "ep-p2", SECRETS[0])
    screen(db, "ep-p2")
    record(db, "ep-p2", type="measurement", at="2026-03-02", nprs=7, qbpds=52)
    record(db, "ep-p2", type="stratification", at="2026-03-02", sbst=[1, 0, 1, 1, 1, 0, 0, 0, 2], factors={})
    record(db, "ep-p2", type="reevaluation", at="2026-03-23", nprs=4, qbpds=30, judgement="sufficient")
    # profile 1, stopped: week 3 cancelled
    open_ep(db, "ep-stop", SECRETS[1])
    screen(db, "ep-stop")
    record(db, "ep-stop", type="stratification", at="2026-03-02", sbst=[0] * 9, factors={})
    record(db, "ep-stop", type="stop", at="2026-03-10", reason="goals_met")
    # LRS checks: open, done, cancelled
    for ep in ("ep-lrs", "ep-lrs-done", "ep-lrs-stop"):
        open_ep(db, ep, SECRETS[0], complaint="lrs")
        screen(db, ep, mrc=5, nprs=5)
    ok(db, "task", "done", str(task_id(db, "ep-lrs-done", "lrs_check")), today="2026-03-03")
    record(db, "ep-lrs-stop", type="stop", at="2026-03-03", reason="patient_request")
    # profile 3, insufficient at week 6: GP consultation open, and done after the consult
    for ep in ("ep-p3", "ep-p3-gp"):
        open_ep(db, ep, SECRETS[1])
        screen(db, ep)
        record(db, ep, type="measurement", at="2026-03-02", nprs=8)
        record(db, ep, type="stratification", at="2026-03-02", sbst=[1, 1, 1, 1, 1, 1, 1, 1, 4], factors={})
        record(db, ep, type="reevaluation", at="2026-04-13", nprs=8, judgement="insufficient")
    record(db, "ep-p3-gp", type="gp_consult", at="2026-04-20", outcome="continue")
    # neuro emergency: phone the GP, open and done
    for ep in ("ep-urgent", "ep-urgent-done"):
        open_ep(db, ep, SECRETS[0])
        screen(db, ep, red_flags=["cauda_equina"])
    ok(db, "task", "done", str(task_id(db, "ep-urgent-done", "gp_urgent_contact")), today="2026-03-02")
    ok(db, "tick", "--now", "2026-04-21")


def parse(text):
    cal = icalendar.Calendar.from_ical(text)
    return cal, {str(t["UID"]): t for t in cal.walk("VTODO")}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "z.db")
        build_store(db)
        all_tasks = tasks(db)
        exported = [t for t in all_tasks if t["kind"] in KINDS]
        by_id = {t["id"]: t for t in exported}
        seen = {(t["kind"], t["status"]) for t in exported}
        for want in [("reevaluation", s) for s in ICAL_STATUS] + [("lrs_check", s) for s in ICAL_STATUS] + \
                    [("gp_consultation", "open"), ("gp_consultation", "done"),
                     ("gp_urgent_contact", "open"), ("gp_urgent_contact", "done")]:
            check(want in seen, f"fixture has a {want[0]} task with status {want[1]}")

        text = ok(db, "calendar", today="2026-04-21")
        raw = text.encode("utf-8")

        # RFC 5545 3.1: CRLF line ends, lines of at most 75 octets
        lines = raw.split(b"\r\n")
        check(raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), "every line ends in CRLF")
        check(max(len(l) for l in lines) <= 75, "no line longer than 75 octets")

        cal, todos = parse(raw)
        check(str(cal["VERSION"]) == "2.0" and "PRODID" in cal, "VCALENDAR has VERSION 2.0 and PRODID")
        check(len(todos) == len(exported), f"one VTODO per exported task ({len(todos)} vs {len(exported)})")
        check(len(list(cal.walk("VTODO"))) == len(todos), "UIDs are unique")
        for secret in SECRETS:
            check(secret not in text, f"no patient reference, GP or therapist in the calendar ({secret})")

        for uid, todo in todos.items():
            check(re.fullmatch(r"zorgpad-task-ep-[a-z0-9-]+-\d+@zorgpad", uid) is not None, f"UID format: {uid}")
            m = re.search(r"zorgpad-taak (\d+) ", str(todo["DESCRIPTION"]))
            t = by_id.get(int(m.group(1))) if m else None
            check(t is not None, f"{uid}: names the task id of an exported task")
            if t is None:
                continue
            due = todo["DUE"].dt
            check(isinstance(due, datetime.date) and not isinstance(due, datetime.datetime), f"{uid}: DUE is a date")
            check(due.isoformat() == t["due"], f"{uid}: DUE {due} is the task's due date {t['due']}")
            check(str(todo["STATUS"]) == ICAL_STATUS[t["status"]], f"{uid}: STATUS for {t['status']}")
            check("DTSTAMP" in todo, f"{uid}: has DTSTAMP")
            summary = str(todo["SUMMARY"])
            check(summary.endswith(" — " + t["episode"]), f"{uid}: SUMMARY names the episode: {summary}")
            alarms = list(todo.walk("VALARM"))
            if t["status"] == "open":
                check(len(alarms) == 1, f"{uid}: an open task has one alarm")
                for a in alarms:
                    trig = a["TRIGGER"]
                    check(trig.dt == datetime.timedelta(days=-1), f"{uid}: alarm one day before")
                    check(trig.params.get("RELATED") == "END", f"{uid}: alarm related to END (DUE), no DTSTART needed")
                    check(str(a["ACTION"]) == "DISPLAY" and "DESCRIPTION" in a, f"{uid}: DISPLAY alarm with text")
            else:
                check(not alarms, f"{uid}: no alarm for a {t['status']} task")

        summaries = {str(t["SUMMARY"]) for t in todos.values()}
        for s in ["Herevaluatie week 3 — ep-p2", "Herevaluatie week 6 — ep-p2", "Controle LRS — ep-lrs",
                  "Overleg huisarts — ep-p3", "Huisarts bellen (spoed) — ep-urgent", "Herevaluatie week 12 — ep-p3"]:
            check(s in summaries, f"Dutch summary {s!r}")
        check(not any(str(t["SUMMARY"]).startswith(("Startbericht", "gp_report")) for t in todos.values()),
              "letters are not in the calendar")

        # Stable UIDs: another day's export differs in DTSTAMP only
        text2 = ok(db, "calendar", today="2026-04-22")
        _, todos2 = parse(text2.encode())
        check(set(todos2) == set(todos), "UIDs stay the same across exports")
        strip = lambda s: [l for l in s.split("\r\n") if not l.startswith("DTSTAMP")]
        check(strip(text) == strip(text2), "two exports of an unchanged store differ in DTSTAMP only")

        # Completing a task updates its VTODO under the same UID
        wk6 = next(t for t in exported if t["episode"] == "ep-p2" and t.get("checkpoint") == "week6")
        uid_wk6 = next(u for u, t in todos.items() if f"zorgpad-taak {wk6['id']} " in str(t["DESCRIPTION"]))
        check(str(todos[uid_wk6]["STATUS"]) == "NEEDS-ACTION", "week 6 of ep-p2 is open before")
        ok(db, "task", "done", str(wk6["id"]), today="2026-04-22")
        open_ep(db, "ep-new", "PSEUDO-NEW", complaint="lrs", at="2026-04-22")
        screen(db, "ep-new", at="2026-04-22", mrc=5, nprs=4)
        _, todos3 = parse(ok(db, "calendar", today="2026-04-23").encode())
        check(set(todos) <= set(todos3) and len(todos3) == len(todos) + 1,
              "after a change the old UIDs remain and one new to-do is added")
        check(str(todos3[uid_wk6]["STATUS"]) == "COMPLETED", "the completed task keeps its UID, now COMPLETED")
        check(int(todos3[uid_wk6]["SEQUENCE"]) > int(todos[uid_wk6]["SEQUENCE"]), "SEQUENCE grows when a task closes")

        # --from / --to are inclusive bounds on DUE; --out writes the same calendar
        out = os.path.join(tmp, "practice.ics")
        r = run(db, "calendar", "--from", "2026-04-13", "--to", "2026-04-13", "--out", out, today="2026-04-23")
        check(r.returncode == 0 and r.stdout == "", "--out writes the file, nothing on stdout")
        with open(out, "rb") as f:
            _, ranged = parse(f.read())
        want = {u for u, t in todos3.items() if t["DUE"].dt.isoformat() == "2026-04-13"}
        check(set(ranged) == want and len(want) >= 3, f"--from/--to select due dates in range ({len(ranged)})")
        check(not os.path.exists(out + ".tmp"), "no temporary file left behind")

        # English summaries on request
        en = ok(db, "calendar", "--lang", "en", today="2026-04-23")
        _, todos_en = parse(en.encode())
        check(set(todos_en) == set(todos3), "the language does not change UIDs")
        check("Reevaluation week 6 — ep-p2" in {str(t["SUMMARY"]) for t in todos_en.values()}, "English summary")

        # Bad input: exit 2, nothing written
        for args in (["--from", "2026-02-30"], ["--to", "yesterday"], ["--from", "2026-05-01", "--to", "2026-04-01"],
                     ["--lang", "de"]):
            bad = os.path.join(tmp, "bad.ics")
            r = run(db, "calendar", *args, "--out", bad)
            check(r.returncode == 2 and r.stderr.startswith("zorgpad: "), f"calendar {' '.join(args)} exits 2")
            check(not os.path.exists(bad), f"calendar {' '.join(args)} writes nothing")

        # An empty store gives a calendar without to-dos
        empty = os.path.join(tmp, "empty.db")
        ok(empty, "init")
        cal_empty, todos_empty = parse(ok(empty, "calendar", today="2026-04-23").encode())
        check(not todos_empty and str(cal_empty["VERSION"]) == "2.0", "empty store: a valid, empty calendar")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("calendar_cli: ok")


if __name__ == "__main__":
    main()
