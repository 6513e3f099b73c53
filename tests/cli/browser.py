#!/usr/bin/python3
"""The dashboard in real headless Chromium: tests/browser/dashboard.test.mjs.

Run as `python3 browser.py ZORGPAD_BINARY` (ctest does). Seeds a database
through the CLI with two overdue reevaluations (35 and 21 days late, both
inactive: no event for 56 and 42 days), one due today, one in GP
consultation, one referred this month, one whose patient reference is full of
markup, and two urgent tasks: a red-flag review 35 days old and an urgent GP
call (cauda equina) two days old; starts `zorgpad serve` on a free loopback port;
runs the node test (playwright-core driving Debian's /usr/bin/chromium) on the
URL with the token printed at start.

Prints SKIPPED and exits 0 only when /usr/bin/chromium is absent
(scripts/setup-browser.sh installs it). Runs `npm ci` in tests/browser when
its node_modules is missing. `--screenshot FILE` (after the binary) also
writes a PNG of the page.
"""
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

ZORGPAD = os.path.abspath(sys.argv[1])
SCREENSHOT = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else ""
HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.normpath(os.path.join(HERE, "..", "browser"))
CHROMIUM = "/usr/bin/chromium"
TODAY = "2027-03-01"
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(1)><b>P&amp;</b>"


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
    ok(db, "import", "-", stdin="".join(json.dumps(l) + "\n" for l in lines))
    ok(db, "tick", "--now", TODAY)


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
            env = dict(os.environ, ZORGPAD_URL=f"{base}?token={token}", ZORGPAD_OVERDUE="ep-overdue-a,ep-overdue-b",
                       ZORGPAD_URGENT="ep-rf-old,ep-cauda", ZORGPAD_INACTIVE="ep-overdue-a,ep-overdue-b",
                       ZORGPAD_HOSTILE=HOSTILE, ZORGPAD_SCREENSHOT=os.path.abspath(SCREENSHOT) if SCREENSHOT else "")
            r = subprocess.run([node, os.path.join(BROWSER_DIR, "dashboard.test.mjs")], env=env, timeout=240)
        finally:
            proc.terminate()
            code = proc.wait(timeout=15)
        if r.returncode != 0:
            sys.exit(1)
        if code != 0:
            raise SystemExit(f"browser: serve exited {code} on SIGTERM")
    print("browser: ok")


if __name__ == "__main__":
    main()
