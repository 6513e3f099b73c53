#!/usr/bin/python3
"""The dashboard in real headless Chromium: tests/browser/dashboard.test.mjs.

Run as `python3 browser.py ZORGPAD_BINARY` (ctest does). Seeds a database
through the CLI with two overdue reevaluations (35 and 21 days late, both
inactive: no event for 56 and 42 days), one due today, one in GP
consultation, one referred this month, one whose patient reference is full of
markup, one whose patient reference starts like a spreadsheet formula, two
urgent tasks: a red-flag review 35 days old and an urgent GP call (cauda
equina) two days old, and three closed episodes treated long enough ago to
count for the practice's recovery after one and three months (KNGF A.2.3):
one recovered within a month, one within three, one stopped unrecovered;
starts `zorgpad serve` on a free loopback port; checks the read-only routes
the dashboard adds (GET /api/texts: the letters' words of each language;
/api/names: the therapists and GPs; /api/outcomes: the recovery figures
against the same definition computed here from the seed) and those exchanges
against docs/openapi.yaml (tests/openapi/check.mjs); runs the node test
(playwright-core driving Debian's /usr/bin/chromium) on the URL with the
token printed at start.

Prints SKIPPED and exits 0 only when /usr/bin/chromium is absent
(scripts/setup-browser.sh installs it). Runs `npm ci` in tests/browser when
its node_modules is missing. `--screenshot FILE` (after the binary) also
writes a PNG of the page.
"""
import datetime
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ZORGPAD = os.path.abspath(sys.argv[1])
SCREENSHOT = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else ""
HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
CHROMIUM = "/usr/bin/chromium"
TODAY = "2027-03-01"
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)><b>P&amp;</b>"
FORMULA = '=1+2,"x"'  # a CSV export must quote it and defuse the formula
SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Treated episodes: (episode, treatment start, stop date or None, stop reason, profile, therapist), for the
# recovery figures (the definition of docs/serve.md, computed here independently of the server).
TREATED = [
    ("ep-overdue-b", "2027-01-18", None, None, 1, "Fysio Anna"),
    ("ep-overdue-a", "2027-01-04", None, None, 1, "Fysio Anna"),
    ("ep-due", "2027-02-08", None, None, 1, "Fysio Bram"),
    ("ep-html", "2027-02-15", None, None, 1, "Fysio Bram"),
    ("ep-gp", "2027-01-04", None, None, 3, "Fysio Anna"),
    ("ep-rec-a", "2026-10-05", "2026-10-20", "goals_met", 1, "Fysio Anna"),
    ("ep-rec-b", "2026-11-02", "2026-12-21", "request_met", 2, "Fysio Bram"),
    ("ep-rec-c", "2026-11-09", "2026-11-20", "patient_request", 2, "Fysio Bram"),
    ("ep-formula", "2027-02-22", None, None, 1, "Fysio Bram"),
]


def ok(db, *args, stdin=None):
    r = subprocess.run([ZORGPAD, "--db", db, "--today", TODAY, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"browser: zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def episode(eid, patient, at, profile=1, therapist="Fysio Anna", gp="Huisarts Jansen", extra=()):
    base = {"episode": eid, "patient": patient}
    events = [{"type": "open", "at": at, "onset": at, "complaint": "lbp", "age": 48, "therapist": therapist, "gp": gp},
              {"type": "screening", "at": at, "red_flags": [], "exclusions": []},
              {"type": "measurement", "at": at, "nprs": 7, "qbpds": 48},
              {"type": "stratification", "at": at, "profile": profile, "factors": {}}]
    return [dict(base, event=e) for e in events + list(extra)]


def seed(db):
    ok(db, "init")
    lines = []
    lines += episode("ep-overdue-b", "P-102", "2027-01-18")             # week 3 due 02-08: 21 days late
    lines += episode("ep-overdue-a", "P-101", "2027-01-04", gp="Huisarts de Vries")  # due 01-25: 35 days late
    lines += episode("ep-due", "P-103", "2027-02-08", therapist="Fysio Bram")  # due today
    lines += episode("ep-html", HOSTILE, "2027-02-15", therapist="Fysio Bram")
    lines += episode("ep-gp", "P-104", "2027-01-04", profile=3, extra=[
        {"type": "reevaluation", "at": "2027-02-15", "nprs": 7, "judgement": "insufficient"}])
    lines += [{"episode": "ep-ref", "patient": "P-105", "event": e} for e in (
        {"type": "open", "at": "2027-03-01", "onset": "2027-02-20", "complaint": "lbp", "age": 60, "gp": "Huisarts Jansen"},
        {"type": "screening", "at": "2027-03-01", "suspicion": True, "red_flags": [], "exclusions": []})]
    # urgent (spec §11): a red-flag review left open for 35 days, an urgent GP call of two days ago
    lines += [{"episode": "ep-rf-old", "patient": "P-106", "event": e} for e in (
        {"type": "open", "at": "2027-01-25", "onset": "2027-01-20", "complaint": "lbp", "age": 58, "therapist": "Fysio Anna"},
        {"type": "screening", "at": "2027-01-25", "red_flags": ["night_sweats", "fever_chills"], "exclusions": []})]
    lines += [{"episode": "ep-cauda", "patient": "P-107", "event": e} for e in (
        {"type": "open", "at": "2027-02-27", "onset": "2027-02-26", "complaint": "lrs", "age": 44, "therapist": "Fysio Bram"},
        {"type": "screening", "at": "2027-02-27", "red_flags": ["cauda_equina"], "exclusions": []})]
    lines += episode("ep-formula", FORMULA, "2027-02-22", therapist="Fysio Bram")
    # closed: recovered within a month, within three months, not recovered
    lines += episode("ep-rec-a", "P-110", "2026-10-05", extra=[
        {"type": "stop", "at": "2026-10-20", "reason": "goals_met", "nprs": 2, "qbpds": 14}])
    lines += episode("ep-rec-b", "P-111", "2026-11-02", profile=2, therapist="Fysio Bram", extra=[
        {"type": "reevaluation", "at": "2026-11-23", "nprs": 5, "qbpds": 35, "judgement": "sufficient"},
        {"type": "reevaluation", "at": "2026-12-14", "nprs": 3, "qbpds": 22, "judgement": "sufficient"},
        {"type": "stop", "at": "2026-12-21", "reason": "request_met", "nprs": 2, "qbpds": 15}])
    lines += episode("ep-rec-c", "P-112", "2026-11-09", profile=2, therapist="Fysio Bram", extra=[
        {"type": "stop", "at": "2026-11-20", "reason": "patient_request"}])
    ok(db, "import", "-", stdin="".join(json.dumps(l) + "\n" for l in lines))
    ok(db, "tick", "--now", TODAY)


def days(a, b):
    return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


def expected_outcomes():
    """The recovery figures of TREATED: followed D days when the treatment started D or more days before
    today; recovered within D days when stopped with goals_met, request_met or self_sufficient fewer than D
    days after the start (D = 30, 91)."""
    def group():
        return {"treated": 0, "one_month": {"followed": 0, "recovered": 0}, "three_months": {"followed": 0, "recovered": 0}}
    total, profiles, therapists = group(), {}, {}
    for _, start, stop, reason, profile, therapist in TREATED:
        recovered_after = days(start, stop) if stop and reason in ("goals_met", "request_met", "self_sufficient") else None
        for g in (total, profiles.setdefault(profile, group()), therapists.setdefault(therapist, group())):
            g["treated"] += 1
            for name, d in (("one_month", 30), ("three_months", 91)):
                if days(start, TODAY) >= d:
                    g[name]["followed"] += 1
                    g[name]["recovered"] += recovered_after is not None and recovered_after < d
    return total, profiles, therapists


def get(base, token, path, exchanges):
    """GET path with the token; the exchange goes to the exchanges file for the OpenAPI check."""
    req = urllib.request.Request(base.rstrip("/") + path, headers={"X-Zorgpad-Token": token, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
    data = json.loads(body) if ctype.startswith("application/json") else None
    split = urllib.parse.urlsplit(path)
    with open(exchanges, "a", encoding="utf-8") as f:
        f.write(json.dumps({"method": "GET", "path": split.path, "query": dict(urllib.parse.parse_qsl(split.query)),
                            "status": status, "request_content_type": None, "request_body": None,
                            "response_content_type": ctype, "response_body": data}) + "\n")
    return status, data


def check_routes(base, token, tmp):
    """The read-only routes the dashboard adds, and their exchanges against docs/openapi.yaml."""
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("browser: FAIL:", what, file=sys.stderr)

    exchanges = os.path.join(tmp, "exchanges.jsonl")
    for lang in ("nl", "en"):
        with open(os.path.join(SOURCE, "share", "letters", f"strings.{lang}.json"), encoding="utf-8") as f:
            words = json.load(f)["words"]
        status, t = get(base, token, f"/api/texts?lang={lang}", exchanges)
        check(status == 200 and t["lang"] == lang and t["words"] == words,
              f"/api/texts?lang={lang} is the words table of share/letters/strings.{lang}.json")
        check(status == 200 and len(t["task_kinds"]) == 11 and all(isinstance(v, str) and v for v in t["task_kinds"].values()),
              f"/api/texts?lang={lang}: a title for each of the 11 task kinds")
    status, t = get(base, token, "/api/texts", exchanges)
    check(status == 200 and t["lang"] == "nl" and t["task_kinds"]["reevaluation"] == "Herevaluatie", "/api/texts is Dutch by default")
    status, _ = get(base, token, "/api/texts?lang=de", exchanges)
    check(status == 400, f"/api/texts?lang=de is refused ({status})")
    status, n = get(base, token, "/api/names", exchanges)
    check(status == 200 and n == {"therapists": ["Fysio Anna", "Fysio Bram"], "gps": ["Huisarts Jansen", "Huisarts de Vries"]},
          f"/api/names: the seed's therapists and GPs ({n})")
    status, o = get(base, token, "/api/outcomes", exchanges)
    total, profiles, therapists = expected_outcomes()
    if check(status == 200, f"/api/outcomes: {status}"):
        check(o["all"] == total, f"/api/outcomes: the practice {o['all']} (want {total})")
        got_p = {p["profile"]: {k: v for k, v in p.items() if k != "profile"} for p in o["by_profile"]}
        check(got_p == profiles, f"/api/outcomes: by profile {got_p} (want {profiles})")
        got_t = {t["therapist"]: {k: v for k, v in t.items() if k != "therapist"} for t in o["by_therapist"]}
        check(got_t == therapists, f"/api/outcomes: by therapist {got_t} (want {therapists})")
        check(o["expected"] == {"one_month": 0.25, "three_months": 0.5}, "/api/outcomes: KNGF's 25 % and 50 %")
        check(total["one_month"]["recovered"] > 0 and total["three_months"]["recovered"] > total["one_month"]["recovered"],
              "the seed has recoveries after one and after three months")
    status, _ = get(base, token, "/api/outcomes?x=1", exchanges)
    check(status == 400, "/api/outcomes refuses an unknown parameter")
    checker = os.path.join(SOURCE, "tests", "openapi", "check.mjs")
    if not os.path.isdir(os.path.join(SOURCE, "tests", "openapi", "node_modules", "@apidevtools")):
        r = subprocess.run(["npm", "ci", "--prefix", os.path.dirname(checker), "--no-audit", "--no-fund"], capture_output=True, text=True)
        check(r.returncode == 0, f"npm ci in tests/openapi: {r.stderr[-2000:]}")
    r = subprocess.run(["node", checker, os.path.join(SOURCE, "docs", "openapi.yaml"), exchanges], capture_output=True, text=True,
                       cwd=os.path.dirname(checker), timeout=300)
    check(r.returncode == 0, f"the exchanges against docs/openapi.yaml: {(r.stdout + r.stderr)[-3000:]}")
    return failures


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db):
    proc = subprocess.Popen([ZORGPAD, "--db", db, "--today", TODAY, "serve", "--port", str(free_port())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.strip()) for l in proc.stdout] + [lines.put(None)], daemon=True).start()
    base = token = None
    deadline = time.time() + 30
    while base is None or token is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            line = None
        if line is None:
            proc.kill()
            raise SystemExit(f"browser: serve did not start: {proc.stderr.read()}")
        if line.startswith("zorgpad: serving "):
            base = line.split()[2]
        elif line.startswith("zorgpad: token "):
            token = line.split()[2]
    return proc, base, token


def main():
    if not os.path.exists(CHROMIUM):
        print(f"browser: SKIPPED: {CHROMIUM} is absent (scripts/setup-browser.sh installs Debian's chromium)")
        return
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise SystemExit("browser: node and npm are needed (scripts/setup-browser.sh installs them)")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        r = subprocess.run([npm, "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"browser: npm ci in tests/browser failed: {r.stderr[-2000:]}")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "browser.db")
        seed(db)
        proc, base, token = start_server(db)
        try:
            failures = check_routes(base, token, tmp)
            env = dict(os.environ, ZORGPAD_URL=f"{base}?token={token}", ZORGPAD_OVERDUE="ep-overdue-a,ep-overdue-b",
                       ZORGPAD_URGENT="ep-rf-old,ep-cauda", ZORGPAD_INACTIVE="ep-overdue-a,ep-overdue-b",
                       ZORGPAD_HOSTILE=HOSTILE, ZORGPAD_FORMULA=FORMULA,
                       ZORGPAD_THERAPISTS=json.dumps({t: sorted(e for e, *_, th in TREATED if th == t) +
                                                      (["ep-cauda"] if t == "Fysio Bram" else ["ep-rf-old"])
                                                      for t in ("Fysio Anna", "Fysio Bram")}),
                       ZORGPAD_CHART_EPISODE="ep-rec-b",
                       ZORGPAD_SCREENSHOT=os.path.abspath(SCREENSHOT) if SCREENSHOT else "",
                       ZORGPAD_SHOTS=tmp)
            r = subprocess.run([node, os.path.join(BROWSER_DIR, "dashboard.test.mjs")], env=env, timeout=240)
        finally:
            proc.terminate()
            code = proc.wait(timeout=15)
        if r.returncode != 0 or failures:
            sys.exit(1)
        if code != 0:
            raise SystemExit(f"browser: serve exited {code} on SIGTERM")
    print("browser: ok")


if __name__ == "__main__":
    main()
