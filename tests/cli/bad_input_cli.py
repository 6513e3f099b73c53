#!/usr/bin/python3
"""Bad input through the CLI is rejected cleanly and writes nothing (issue 3).

Run as `python3 bad_input_cli.py ZORGPAD_BINARY` (ctest does).

Every event field is given a bad value through `record` and `open`: an unknown
field, a wrong type, out of range (age, mrc, nprs, qbpds, psk items and length,
sbst items and length, orebro items and length, profile, new_profile), unknown
codes (complaint, red flag, exclusion, factor, factor level, judgement,
outcome, stop reason), malformed dates, onset after at, missing required
fields, events not allowed in the state, time going backwards, a profile below
the suggestion without override reason, a reevaluation without judgement or
comparable measures, an unknown episode, input that is not JSON, and a stale
`--expect-seq`. Each must exit 2, print exactly one line on stderr naming the
episode and the event (and the field or rule at fault), print nothing on
stdout, and leave the database content identical (SQL dump before == after).

A file of random bytes, a file with a SQLite header and garbage after it, a
zorgpad database with damaged pages and a foreign SQLite database given as
--db make every command exit non-zero (never by a signal) with one line on
stderr; the foreign database and the garbage files are left byte-for-byte
unchanged.
"""
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
failures = []
checked = 0


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(db, *args, stdin=None):
    return subprocess.run([ZORGPAD, "--db", db, *args], input=stdin, capture_output=True, text=True, timeout=60)


def must(db, *args, stdin=None):
    p = run(db, *args, stdin=stdin)
    if p.returncode != 0:
        raise SystemExit(f"setup: zorgpad {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def dump(db):
    con = sqlite3.connect(db)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def last_seq(db, ep):
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT last_seq FROM episodes WHERE id = ?", (ep,)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def reject(db, name, args, stdin, ep=None, index=None, mentions=()):
    """Runs a command that must be rejected as bad input without writing anything."""
    global checked
    checked += 1
    before = dump(db)
    p = run(db, *args, stdin=stdin)
    after = dump(db)
    where = f"{name} ({' '.join(args)})"
    check(p.returncode == 2, f"{where}: exit {p.returncode}, expected 2; stderr {p.stderr.strip()[:200]!r}")
    check(p.stdout == "", f"{where}: printed on stdout: {p.stdout[:200]!r}")
    lines = p.stderr.splitlines()
    if check(len(lines) == 1, f"{where}: stderr is not exactly one line: {p.stderr[:400]!r}"):
        line = lines[0]
        check(line.startswith("zorgpad: "), f"{where}: stderr line lacks the 'zorgpad: ' prefix: {line!r}")
        if ep is not None:
            check(ep in line, f"{where}: stderr does not name the episode {ep!r}: {line!r}")
        if index is not None:
            check(f"{ep} event {index}" in line, f"{where}: stderr does not name '{ep} event {index}': {line!r}")
        for m in mentions:
            check(m in line, f"{where}: stderr does not mention {m!r}: {line!r}")
    check(after == before, f"{where}: the database content changed")


OPEN = {"type": "open", "at": "2026-01-05", "onset": "2026-01-01", "complaint": "lbp", "age": 45}


def with_(base, **kw):
    ev = dict(base)
    for k, v in kw.items():
        if v is DROP:
            ev.pop(k, None)
        else:
            ev[k] = v
    return ev


DROP = object()


def setup(db):
    must(db, "init")

    def open_ep(ep, **kw):
        must(db, "open", "--id", ep, "--patient", "P-" + ep, "-", stdin=json.dumps(with_(OPEN, **kw)))

    def rec(ep, **ev):
        must(db, "record", ep, "-", stdin=json.dumps(ev))

    open_ep("ep-intake")
    open_ep("ep-scr")
    rec("ep-scr", type="screening", at="2026-01-05", red_flags=[], exclusions=[])
    # treatment, profile 2, baseline NPRS 6 / QBPDS 40
    open_ep("ep-tx")
    rec("ep-tx", type="screening", at="2026-01-05", red_flags=[], exclusions=[])
    rec("ep-tx", type="measurement", at="2026-01-05", nprs=6, qbpds=40)
    rec("ep-tx", type="stratification", at="2026-01-05", factors={"leg_pain": "present"})
    # treatment without any measurement: a reevaluation needs a judgement
    open_ep("ep-tx0")
    rec("ep-tx0", type="screening", at="2026-01-05", red_flags=[], exclusions=[])
    rec("ep-tx0", type="stratification", at="2026-01-05", profile=2, factors={"leg_pain": "present"})
    # profile 3, insufficient at week 6 -> gp_consultation
    open_ep("ep-gpc")
    rec("ep-gpc", type="screening", at="2026-01-05", red_flags=[], exclusions=[])
    rec("ep-gpc", type="stratification", at="2026-01-05", factors={"fear_of_movement": "dominant"})
    rec("ep-gpc", type="reevaluation", at="2026-02-16", nprs=6, judgement="insufficient")
    # closed
    open_ep("ep-closed")
    rec("ep-closed", type="screening", at="2026-01-05", red_flags=[], exclusions=[])
    rec("ep-closed", type="stratification", at="2026-01-05", profile=1, factors={})
    rec("ep-closed", type="stop", at="2026-01-12", reason="goals_met")
    # a timer fired by tick: week-3 checkpoint of profile 1 on 2025-12-22 (the
    # only timer due by then)
    open_ep("ep-ticked", at="2025-12-01", onset="2025-11-28")
    rec("ep-ticked", type="screening", at="2025-12-01", red_flags=[], exclusions=[])
    rec("ep-ticked", type="stratification", at="2025-12-01", profile=1, factors={})
    must(db, "tick", "--now", "2025-12-23")
    # revision 2: two red-flag features of different clusters wait for the review
    open_ep("ep-review")
    rec("ep-review", type="screening", at="2026-01-05", red_flags=["history_of_cancer", "night_sweats"])
    # profile 3 in treatment (nothing higher to step up to)
    open_ep("ep-p3")
    rec("ep-p3", type="screening", at="2026-01-05")
    rec("ep-p3", type="stratification", at="2026-01-05", factors={"fear_of_movement": "dominant"})
    states = {ep: json.loads(must(db, "show", ep, "--json"))["state"]
              for ep in ("ep-intake", "ep-scr", "ep-tx", "ep-tx0", "ep-gpc", "ep-closed", "ep-ticked", "ep-review",
                         "ep-p3")}
    want = {"ep-intake": "intake", "ep-scr": "screened", "ep-tx": "treatment", "ep-tx0": "treatment",
            "ep-gpc": "gp_consultation", "ep-closed": "closed", "ep-ticked": "reevaluation_due",
            "ep-review": "red_flag_review", "ep-p3": "treatment"}
    if states != want:
        raise SystemExit(f"setup: states {states}, expected {want}")


def open_cases(db):
    """`open --id ep-new` with a bad open event: 'ep-new event 0'."""
    bad = [
        ("unknown field", with_(OPEN, colour="red"), ["unknown field 'colour'"]),
        ("unknown referred_by", with_(OPEN, referred_by="neighbour"), ["'referred_by'"]),
        ("revision 3", with_(OPEN, revision=3), ["'revision'"]),
        ("revision 0", with_(OPEN, revision=0), ["'revision'"]),
        ("type not a string", with_(OPEN, type=5), ["'type'"]),
        ("unknown type", with_(OPEN, type="opening"), ["unknown event type"]),
        ("timer type", with_(OPEN, type="checkpoint"), ["unknown event type"]),
        ("not an open event", {"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []}, ["'open'"]),
        ("at not a string", with_(OPEN, at=20260105), ["'at'"]),
        ("at malformed", with_(OPEN, at="05-01-2026"), ["'at'"]),
        ("at impossible day", with_(OPEN, at="2026-02-30"), ["'at'"]),
        ("at month 13", with_(OPEN, at="2026-13-01"), ["'at'"]),
        ("at with a time", with_(OPEN, at="2026-01-05T10:00:00"), ["'at'"]),
        ("onset not a date", with_(OPEN, onset="last week"), ["'onset'"]),
        ("onset not a string", with_(OPEN, onset=True), ["'onset'"]),
        ("onset after at", with_(OPEN, onset="2026-01-06"), ["'onset'"]),
        ("previous_episode_end malformed", with_(OPEN, previous_episode_end="2025-12"), ["'previous_episode_end'"]),
        ("previous_episode_end not a string", with_(OPEN, previous_episode_end=5), ["'previous_episode_end'"]),
        ("previous_episode_end after onset", with_(OPEN, previous_episode_end="2026-01-03"), ["'previous_episode_end'"]),
        ("unknown complaint", with_(OPEN, complaint="neck"), ["'complaint'"]),
        ("complaint not a string", with_(OPEN, complaint=1), ["'complaint'"]),
        ("age a string", with_(OPEN, age="45"), ["'age'"]),
        ("age a fraction", with_(OPEN, age=45.5), ["'age'"]),
        ("age negative", with_(OPEN, age=-1), ["'age'"]),
        ("age too high", with_(OPEN, age=131), ["'age'"]),
        ("age 2^64-1", with_(OPEN, age=2**64 - 1), ["'age'"]),
        ("age wraps 32 bit", with_(OPEN, age=2**32 + 45), ["'age'"]),
        ("gp not a string", with_(OPEN, gp=5), ["'gp'"]),
        ("gp too long", with_(OPEN, gp="x" * 201), ["'gp'"]),
        ("therapist not a string", with_(OPEN, therapist=["a"]), ["'therapist'"]),
        ("id not a string", with_(OPEN, id=7), ["'id'"]),
        ("missing type", with_(OPEN, type=DROP), ["'type'"]),
        ("missing at", with_(OPEN, at=DROP), ["'at'"]),
        ("missing onset", with_(OPEN, onset=DROP), ["'onset'"]),
        ("missing complaint", with_(OPEN, complaint=DROP), ["'complaint'"]),
        ("missing age", with_(OPEN, age=DROP), ["'age'"]),
        ("null age", with_(OPEN, age=None), ["'age'"]),
    ]
    for name, ev, mentions in bad:
        reject(db, "open: " + name, ["open", "--id", "ep-new", "--patient", "P9", "-"], json.dumps(ev),
               ep="ep-new", index=0, mentions=mentions)
    reject(db, "open: event not an object", ["open", "--id", "ep-new", "-"], "[1, 2]", ep="ep-new", index=0)
    reject(db, "open: not JSON", ["open", "--id", "ep-new", "-"], '{"type": "open", ', ep="ep-new")
    reject(db, "open: empty input", ["open", "--id", "ep-new", "-"], "", ep="ep-new")
    reject(db, "open: the episode exists", ["open", "--id", "ep-tx", "-"], json.dumps(OPEN), ep="ep-tx",
           mentions=["exists"])
    reject(db, "open: id too long", ["open", "--id", "e" * 101, "-"], json.dumps(OPEN))
    reject(db, "open: generated id, bad event", ["open", "-"], json.dumps(with_(OPEN, age=200)), mentions=["'age'"])


def record_cases(db):
    S = {"type": "screening", "at": "2026-01-06", "red_flags": [], "exclusions": []}
    T = {"type": "stratification", "at": "2026-01-06", "factors": {}}
    M = {"type": "measurement", "at": "2026-01-06", "nprs": 5}
    R = {"type": "reevaluation", "at": "2026-01-06", "judgement": "sufficient"}
    sbst_high = [1, 1, 1, 1, 1, 1, 1, 1, 4]
    cases = [
        # (episode, name, event, mentions)
        ("ep-tx", "unknown field", with_(S, notes="x"), ["unknown field 'notes'"]),
        ("ep-tx", "unknown field in a session", {"type": "session", "at": "2026-01-06", "minutes": 30}, ["'minutes'"]),
        ("ep-tx", "unknown event type", {"type": "massage", "at": "2026-01-06"}, ["unknown event type"]),
        ("ep-tx", "timer event type", {"type": "phase", "at": "2026-01-06"}, ["unknown event type"]),
        ("ep-tx", "missing type", {"at": "2026-01-06", "nprs": 5}, ["'type'"]),
        ("ep-tx", "type not a string", {"type": ["session"], "at": "2026-01-06"}, ["'type'"]),
        ("ep-tx", "event not an object", ["session"], []),
        ("ep-tx", "event a string", "session", []),
        ("ep-tx", "missing at", {"type": "session"}, ["'at'"]),
        ("ep-tx", "at malformed", {"type": "session", "at": "2026-1-6"}, ["'at'"]),
        ("ep-tx", "at impossible day", {"type": "session", "at": "2026-04-31"}, ["'at'"]),
        ("ep-tx", "at year out of range", {"type": "session", "at": "0026-01-06"}, ["'at'"]),
        ("ep-tx", "id not a string", {"type": "session", "at": "2026-01-06", "id": 1}, ["'id'"]),
        # screening
        ("ep-tx", "unknown red flag", with_(S, red_flags=["flying"]), ["'red_flags'"]),
        ("ep-tx", "red flag not a string", with_(S, red_flags=[1]), ["'red_flags'"]),
        ("ep-tx", "red_flags not a list", with_(S, red_flags="cauda_equina"), ["'red_flags'"]),
        ("ep-tx", "unknown exclusion", with_(S, exclusions=["tired"]), ["'exclusions'"]),
        ("ep-tx", "exclusions not a list", with_(S, exclusions={}), ["'exclusions'"]),
        ("ep-tx", "suspicion not a bool", with_(S, suspicion="yes"), ["'suspicion'"]),
        ("ep-tx", "mrc 6", with_(S, mrc=6), ["'mrc'"]),
        ("ep-tx", "mrc -1", with_(S, mrc=-1), ["'mrc'"]),
        ("ep-tx", "mrc a string", with_(S, mrc="3"), ["'mrc'"]),
        ("ep-tx", "screening nprs 11", with_(S, nprs=11), ["'nprs'"]),
        ("ep-tx", "screening nprs -1", with_(S, nprs=-1), ["'nprs'"]),
        # stratification (in screened)
        ("ep-scr", "sbst eight answers", with_(T, sbst=[0] * 8), ["'sbst'"]),
        ("ep-scr", "sbst ten answers", with_(T, sbst=[0] * 10), ["'sbst'"]),
        ("ep-scr", "sbst not a list", with_(T, sbst="low"), ["'sbst'"]),
        ("ep-scr", "sbst item 1 is 2", with_(T, sbst=[2] + [0] * 8), ["'sbst' item 1"]),
        ("ep-scr", "sbst item 5 is -1", with_(T, sbst=[0] * 4 + [-1] + [0] * 4), ["'sbst' item 5"]),
        ("ep-scr", "sbst item 9 is 5", with_(T, sbst=[0] * 8 + [5]), ["'sbst' item 9"]),
        ("ep-scr", "sbst item a string", with_(T, sbst=["1"] + [0] * 8), ["'sbst' item 1"]),
        ("ep-scr", "orebro nine answers", with_(T, orebro=[1] * 9), ["'orebro'"]),
        ("ep-scr", "orebro eleven answers", with_(T, orebro=[1] * 11), ["'orebro'"]),
        ("ep-scr", "orebro item 1 is 0", with_(T, orebro=[0] + [5] * 9), ["'orebro' item 1"]),
        ("ep-scr", "orebro item 1 is 11", with_(T, orebro=[11] + [5] * 9), ["'orebro' item 1"]),
        ("ep-scr", "orebro item 2 is 11", with_(T, orebro=[1, 11] + [5] * 8), ["'orebro' item 2"]),
        ("ep-scr", "orebro item 10 is -1", with_(T, orebro=[1] + [5] * 8 + [-1]), ["'orebro' item 10"]),
        ("ep-scr", "unknown factor", with_(T, factors={"stress": "present"}), ["'stress'"]),
        ("ep-scr", "unknown factor level", with_(T, factors={"leg_pain": "absent"}), ["'leg_pain'"]),
        ("ep-scr", "factor level not a string", with_(T, factors={"leg_pain": 1}), ["'leg_pain'"]),
        ("ep-scr", "factors not an object", with_(T, factors=["leg_pain"]), ["'factors'"]),
        ("ep-scr", "profile 0", with_(T, profile=0), ["'profile'"]),
        ("ep-scr", "profile 4", with_(T, profile=4), ["'profile'"]),
        ("ep-scr", "profile a string", with_(T, profile="2"), ["'profile'"]),
        ("ep-scr", "override_reason not a string", with_(T, profile=3, override_reason=5), ["'override_reason'"]),
        ("ep-scr", "override_reason blank", with_(T, sbst=[1, 1, 1, 1, 1, 1, 1, 1, 4], profile=1, override_reason="   "),
         ["'override_reason'"]),
        ("ep-scr", "nothing to stratify on", with_(T, factors=DROP), ["stratification needs"]),
        # revision 2 (§7): the therapist's evaluation of the factors is required
        ("ep-scr", "stratification without factors", with_(T, factors=DROP, sbst=sbst_high), ["'factors'", "§7"]),
        ("ep-scr", "stratification without factors, profile given", with_(T, factors=DROP, profile=1), ["'factors'"]),
        ("ep-scr", "profile below suggestion without reason", with_(T, sbst=sbst_high, profile=1), ["profile 1"]),
        ("ep-scr", "profile below dominant factor without reason",
         with_(T, factors={"fear_of_movement": "dominant"}, profile=2), ["profile 2"]),
        # measurement
        ("ep-tx", "nprs 11", with_(M, nprs=11), ["'nprs'"]),
        ("ep-tx", "nprs -1", with_(M, nprs=-1), ["'nprs'"]),
        ("ep-tx", "nprs a string", with_(M, nprs="5"), ["'nprs'"]),
        ("ep-tx", "nprs a fraction", with_(M, nprs=5.5), ["'nprs'"]),
        ("ep-tx", "nprs huge", with_(M, nprs=2**63), ["'nprs'"]),
        ("ep-tx", "qbpds 101", with_(M, qbpds=101), ["'qbpds'"]),
        ("ep-tx", "qbpds -1", with_(M, qbpds=-1), ["'qbpds'"]),
        ("ep-tx", "psk four items", with_(M, psk=[1, 2, 3, 4]), ["'psk'"]),
        ("ep-tx", "psk empty", with_(M, psk=[]), ["'psk'"]),
        ("ep-tx", "psk item 11", with_(M, psk=[2, 11]), ["'psk' item 2"]),
        ("ep-tx", "psk item -1", with_(M, psk=[-1]), ["'psk' item 1"]),
        ("ep-tx", "psk not a list", with_(M, psk=3), ["'psk'"]),
        ("ep-tx", "measurement of nothing", with_(M, nprs=DROP), ["measurement needs"]),
        ("ep-tx", "measurement with a judgement", with_(M, judgement="sufficient"), ["'judgement'"]),
        # reevaluation
        ("ep-tx", "unknown judgement", with_(R, judgement="great"), ["'judgement'"]),
        ("ep-tx", "judgement not a string", with_(R, judgement=True), ["'judgement'"]),
        ("ep-tx", "new_profile 0", with_(R, new_profile=0), ["'new_profile'"]),
        ("ep-tx", "new_profile 4", with_(R, new_profile=4), ["'new_profile'"]),
        ("ep-tx", "new_insights not a bool", with_(R, new_insights="yes"), ["'new_insights'"]),
        ("ep-tx", "reevaluation nprs 11", with_(R, nprs=11), ["'nprs'"]),
        ("ep-tx", "reevaluation qbpds 101", with_(R, qbpds=101), ["'qbpds'"]),
        ("ep-tx", "reevaluation psk item 11", with_(R, psk=[11]), ["'psk'"]),
        ("ep-tx0", "reevaluation without judgement or measures", with_(R, judgement=DROP, psk=[5]), ["judgement"]),
        ("ep-tx0", "reevaluation without judgement, no baseline", with_(R, judgement=DROP, nprs=3), ["judgement"]),
        # revision 2 (§8): the judgement is required even when the 30 % rule could be computed
        ("ep-tx", "reevaluation without judgement, 30 % better", with_(R, judgement=DROP, nprs=3), ["'judgement'", "§8"]),
        ("ep-tx", "new_profile equal to the current", with_(R, judgement="insufficient", new_profile=2),
         ["'new_profile'", "not higher"]),
        ("ep-tx", "new_profile lower than the current", with_(R, judgement="insufficient", new_profile=1),
         ["'new_profile'", "not higher"]),
        ("ep-p3", "new_profile in profile 3", with_(R, judgement="insufficient", new_profile=3), ["'new_profile'"]),
        # revision 2 (§4): LRS never turns back into LBP
        ("ep-tx", "screening complaint lbp", with_(S, complaint="lbp"), ["'complaint'", "§4"]),
        ("ep-tx", "screening complaint unknown", with_(S, complaint="neck"), ["'complaint'"]),
        # revision 2 (§4): the red-flag review
        ("ep-review", "continue without a note", {"type": "red_flag_review", "at": "2026-01-06", "decision": "continue"},
         ["'note'"]),
        ("ep-review", "continue with a blank note",
         {"type": "red_flag_review", "at": "2026-01-06", "decision": "continue", "note": "  "}, ["'note'"]),
        ("ep-review", "review without a decision", {"type": "red_flag_review", "at": "2026-01-06"}, ["'decision'"]),
        ("ep-review", "unknown review decision", {"type": "red_flag_review", "at": "2026-01-06", "decision": "wait"},
         ["'decision'"]),
        ("ep-review", "unknown field in a review",
         {"type": "red_flag_review", "at": "2026-01-06", "decision": "refer", "reason": "x"}, ["unknown field 'reason'"]),
        ("ep-tx", "red_flag_review outside its state", {"type": "red_flag_review", "at": "2026-01-06", "decision": "refer"},
         ["not allowed in state 'treatment'"]),
        ("ep-review", "stratification in the review", with_(T, profile=1), ["red_flag_review"]),
        # revision 2: gp_request and stop
        ("ep-intake", "gp_request in intake", {"type": "gp_request", "at": "2026-01-06"}, ["intake"]),
        ("ep-tx", "gp_request question not a string", {"type": "gp_request", "at": "2026-01-06", "question": 5},
         ["'question'"]),
        ("ep-tx", "red_flags on a stop for another reason",
         {"type": "stop", "at": "2026-01-06", "reason": "goals_met", "red_flags": ["night_sweats"]}, ["'red_flags'", "§10"]),
        ("ep-tx", "stop end measurement nprs 11", {"type": "stop", "at": "2026-01-06", "reason": "goals_met", "nprs": 11},
         ["'nprs'"]),
        ("ep-tx", "open field referred_by unknown on a record", with_(OPEN, at="2026-01-06", referred_by="neighbour"),
         ["referred_by"]),
        # gp_consult, stop
        ("ep-gpc", "unknown outcome", {"type": "gp_consult", "at": "2026-02-17", "outcome": "maybe"}, ["'outcome'"]),
        ("ep-gpc", "missing outcome", {"type": "gp_consult", "at": "2026-02-17"}, ["'outcome'"]),
        ("ep-tx", "unknown stop reason", {"type": "stop", "at": "2026-01-06", "reason": "bored"}, ["'reason'"]),
        ("ep-tx", "missing stop reason", {"type": "stop", "at": "2026-01-06"}, ["'reason'"]),
        # not allowed in the state
        ("ep-intake", "session in intake", {"type": "session", "at": "2026-01-06"}, ["intake"]),
        ("ep-intake", "stratification in intake", with_(T, profile=1), ["intake"]),
        ("ep-scr", "session in screened", {"type": "session", "at": "2026-01-06"}, ["screened"]),
        ("ep-scr", "reevaluation in screened", R, ["screened"]),
        ("ep-tx", "stratification in treatment", with_(T, profile=2), ["treatment"]),
        ("ep-tx", "gp_consult in treatment", {"type": "gp_consult", "at": "2026-01-06", "outcome": "continue"}, ["treatment"]),
        ("ep-gpc", "reevaluation in gp_consultation", with_(R, at="2026-02-17"), ["gp_consultation"]),
        ("ep-closed", "session after closed", {"type": "session", "at": "2026-01-13"}, ["closed"]),
        ("ep-closed", "screening after closed", with_(S, at="2026-01-13"), ["closed"]),
        ("ep-closed", "stop after closed", {"type": "stop", "at": "2026-01-13", "reason": "goals_met"}, ["closed"]),
        ("ep-tx", "a second open", with_(OPEN, at="2026-01-06"), ["open"]),
        # time
        ("ep-tx", "time going backwards", {"type": "session", "at": "2026-01-04"}, ["2026-01-04"]),
        ("ep-closed", "time going backwards after closed", {"type": "session", "at": "2026-01-06"}, []),
        ("ep-ticked", "before a timer that fired", {"type": "session", "at": "2025-12-20"}, ["2025-12-22"]),
    ]
    for ep, name, ev, mentions in cases:
        reject(db, "record: " + name, ["record", ep, "-"], json.dumps(ev), ep=ep, index=last_seq(db, ep),
               mentions=mentions)

    session = json.dumps({"type": "session", "at": "2026-01-06"})
    reject(db, "record: unknown episode", ["record", "ep-nobody", "-"], session, ep="ep-nobody", mentions=["no episode"])
    reject(db, "record: not JSON", ["record", "ep-tx", "-"], '{"type": "session", "at": ', ep="ep-tx")
    reject(db, "record: trailing garbage", ["record", "ep-tx", "-"], session + " x", ep="ep-tx")
    reject(db, "record: empty input", ["record", "ep-tx", "-"], "", ep="ep-tx")
    n = last_seq(db, "ep-tx")
    reject(db, "record: stale --expect-seq", ["record", "ep-tx", "--expect-seq", str(n - 1), "-"], session,
           ep="ep-tx", index=n, mentions=[str(n - 1)])
    reject(db, "record: future --expect-seq", ["record", "ep-tx", "--expect-seq", str(n + 5), "-"], session,
           ep="ep-tx", index=n, mentions=[str(n + 5)])
    reject(db, "record: negative --expect-seq", ["record", "ep-tx", "--expect-seq", "-1", "-"], session)
    reject(db, "record: unreadable file", ["record", "ep-tx", os.path.join(os.path.dirname(db), "missing.json")], None)
    reject(db, "tick: malformed --now", ["tick", "--now", "2026-02-30"], None, mentions=["--now"])

    # Nested a hundred thousand levels deep: printing such a value recurses
    # once per level, so it is refused before anything prints it.
    deep = "[" * 100000 + "]" * 100000
    reject(db, "record: nested too deep", ["record", "ep-tx", "-"],
           '{"type": "measurement", "at": "2026-01-06", "nprs": ' + deep + "}", ep="ep-tx", mentions=["16 levels"])
    reject(db, "open: nested too deep", ["open", "--id", "ep-deep", "-"],
           json.dumps(OPEN)[:-1] + ', "age": ' + deep + "}", ep="ep-deep", mentions=["16 levels"])
    reject(db, "import: nested too deep", ["import", "-"],
           '{"episode": "ep-tx", "event": {"type": "session", "at": "2026-01-06", "x": ' + deep + "}}\n",
           ep="ep-tx", mentions=["line 1", "16 levels"])


def file_bytes(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


COMMANDS = [
    ("init",), ("show", "ep-1"), ("tasks",), ("tick", "--now", "2026-03-01"), ("rebuild",),
    ("record", "ep-1", "-"), ("open", "--id", "ep-9", "-"), ("import", "-"), ("task", "done", "1"),
]


def not_a_store(path, name, unchanged=True, mentions=()):
    """Every command on `path` fails cleanly; the file stays as it was."""
    global checked
    h = file_bytes(path)
    stdin = {"record": json.dumps({"type": "session", "at": "2026-01-06"}), "open": json.dumps(OPEN),
             "import": json.dumps({"episode": "ep-9", "event": OPEN}) + "\n"}
    for cmd in COMMANDS:
        checked += 1
        p = run(path, *cmd, stdin=stdin.get(cmd[0]))
        where = f"{name}: {' '.join(cmd)}"
        check(p.returncode > 0, f"{where}: exit {p.returncode}, expected a non-zero exit (not a signal)")
        check(p.stdout == "", f"{where}: printed on stdout {p.stdout[:200]!r}")
        lines = p.stderr.splitlines()
        if check(len(lines) == 1, f"{where}: stderr is not one line: {p.stderr[:400]!r}"):
            check(lines[0].startswith("zorgpad: "), f"{where}: {lines[0]!r}")
            for m in mentions:
                check(m in lines[0], f"{where}: stderr does not mention {m!r}: {lines[0]!r}")
        if unchanged:
            check(file_bytes(path) == h, f"{where}: the file changed")


def bad_files(tmp):
    rng = random.Random(3)
    garbage = os.path.join(tmp, "garbage.db")
    with open(garbage, "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(8192)))
    not_a_store(garbage, "random bytes")

    header = os.path.join(tmp, "header.db")
    with open(header, "wb") as f:
        f.write(b"SQLite format 3\x00" + bytes(rng.randrange(256) for _ in range(8192 - 16)))
    not_a_store(header, "SQLite header and garbage")

    foreign = os.path.join(tmp, "foreign.db")
    con = sqlite3.connect(foreign)
    con.executescript("CREATE TABLE patients(id INTEGER PRIMARY KEY, name TEXT);"
                      "INSERT INTO patients(name) VALUES ('a'), ('b');")
    con.commit()
    con.close()
    before = dump(foreign)
    not_a_store(foreign, "foreign SQLite database", mentions=["not a zorgpad database"])
    check(dump(foreign) == before, "the foreign database's content changed")

    # A zorgpad database with damaged pages past the header: commands fail
    # cleanly (the first page, and so the schema check, may well be intact).
    damaged = os.path.join(tmp, "damaged.db")
    must(damaged, "init")
    for i in range(40):
        must(damaged, "open", "--id", f"ep-{i}", "--patient", "P" * 100, "-",
             stdin=json.dumps(with_(OPEN, gp="G" * 200, therapist="T" * 200)))
    con = sqlite3.connect(damaged)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = os.path.getsize(damaged)
    with open(damaged, "r+b") as f:
        f.seek(4096 * 2)
        f.write(bytes(rng.randrange(256) for _ in range(size - 4096 * 2)))
    for cmd in [("show", "ep-1"), ("tasks",), ("rebuild",), ("tick", "--now", "2026-03-01")]:
        p = run(damaged, *cmd)
        where = f"damaged pages: {' '.join(cmd)}"
        check(p.returncode > 0, f"{where}: exit {p.returncode}, expected a non-zero exit (not a signal)")
        lines = p.stderr.splitlines()
        check(len(lines) == 1 and lines[0].startswith("zorgpad: "), f"{where}: stderr is not one line: {p.stderr[:400]!r}")

    p = run(tmp, "show", "ep-1")  # a directory
    check(p.returncode > 0 and len(p.stderr.splitlines()) == 1, f"a directory as --db: exit {p.returncode}, {p.stderr!r}")
    p = run(os.path.join(tmp, "no", "such", "dir.db"), "init")
    check(p.returncode > 0 and len(p.stderr.splitlines()) == 1, f"a missing folder: exit {p.returncode}, {p.stderr!r}")


def main():
    with tempfile.TemporaryDirectory(prefix="zorgpad-bad-") as tmp:
        db = os.path.join(tmp, "store.db")
        setup(db)
        open_cases(db)
        record_cases(db)
        bad_files(tmp)
    if failures:
        print(f"{len(failures)} failure(s) in {checked} rejected commands")
        return 1
    print(f"ok: {checked} bad inputs rejected cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
