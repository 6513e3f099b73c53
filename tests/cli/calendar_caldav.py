#!/usr/bin/python3
"""`zorgpad calendar push` and `pull` against a real CalDAV server: Debian's
Radicale, started here on 127.0.0.1 (a free port) with htpasswd (plain)
authentication and its storage in a temporary directory. Then a small stub
server of our own for what Radicale will not do on request: answer 412 and
hand out an object that does not parse.

Checked from outside zorgpad: the objects over HTTP (a calendar-query REPORT
from Python) parsed with python3-icalendar, their ETags and Radicale's files;
the tasks with `zorgpad tasks --json`; the audit log with `zorgpad audit`.

Run as `python3 calendar_caldav.py ZORGPAD_BINARY` (ctest does). Skipped
(exit 0, with a note) when Radicale is not installed.
"""
import base64
import datetime
import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import icalendar  # Debian's python3-icalendar

ZORGPAD = os.path.abspath(sys.argv[1])
KINDS = {"reevaluation", "lrs_check", "gp_consultation", "gp_urgent_contact"}
USER, PASSWORD = "praktijk", "geheim:met:dubbelepunt"
DASHBOARD = "https://zorgpad.example/"
THERAPISTS = {"ep-a": "Fysio de Vries", "ep-b": "T2/x", "ep-c": ""}
PATIENTS = {"ep-a": "PSEUDO-A1", "ep-b": "PSEUDO-B2", "ep-c": "PSEUDO-C3", "ep-d": "PSEUDO-D4"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(db, *args, stdin=None, today="2026-03-10", env=None):
    cmd = [ZORGPAD, "--db", db, "--today", today] + list(args)
    e = dict(os.environ)
    e.pop("ZORGPAD_CALDAV_USER", None)
    e.pop("ZORGPAD_CALDAV_PASSWORD", None)
    e.update(env or {})
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=e, timeout=120)


def ok(db, *args, **kw):
    r = run(db, *args, **kw)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def segment(name):
    """zorgpad's path segment: A-Z a-z 0-9 - . kept, other bytes _XX."""
    return "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-.") else "_%02X" % b
                   for b in name.encode()) if name else "zorgpad-no-therapist"


def build_store(db):
    ok(db, "init")
    for ep in ("ep-a", "ep-b", "ep-c", "ep-d"):
        ev = {"type": "open", "at": "2026-03-02", "onset": "2026-02-23", "complaint": "lrs" if ep != "ep-c" else "lbp",
              "age": 40, "gp": "Dokter Jansen"}
        if THERAPISTS.get(ep, "Fysio de Vries"):
            ev["therapist"] = THERAPISTS.get(ep, "Fysio de Vries")
        ok(db, "open", "--id", ep, "--patient", PATIENTS[ep], "-", stdin=json.dumps(ev))
    for ep in ("ep-a", "ep-b", "ep-d"):  # LRS: an lrs_check task each
        ok(db, "record", ep, "-", stdin=json.dumps({"type": "screening", "at": "2026-03-02", "red_flags": [],
                                                    "exclusions": [], "mrc": 5, "nprs": 5}))
    ok(db, "record", "ep-c", "-", stdin=json.dumps({"type": "screening", "at": "2026-03-02",
                                                    "red_flags": ["cauda_equina"], "exclusions": []}))
    # ep-b: a reevaluation task as well (profile 2 after stratification)
    ok(db, "record", "ep-b", "-", stdin=json.dumps({"type": "stratification", "at": "2026-03-02",
                                                    "sbst": [1, 0, 1, 1, 1, 0, 0, 0, 2], "factors": {}}))
    # ep-d: its task done before any push: never created on the server
    ok(db, "task", "done", str(task_of(db, "ep-d")["id"]))


def tasks(db):
    return [t for t in json.loads(ok(db, "tasks", "--json"))["tasks"] if t["kind"] in KINDS]


def task_of(db, ep, kind=None):
    return next(t for t in tasks(db) if t["episode"] == ep and (kind is None or t["kind"] == kind))


# ---- the server, seen from Python ---------------------------------------------------------

NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}
QUERY = ('<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
         'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>'
         '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')


def dav(method, url, body=None, headers=None, auth=(USER, PASSWORD)):
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    req = urllib.request.Request(url, data=body.encode() if isinstance(body, str) else body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace"), dict(e.headers)


def objects(base):
    """Every calendar under `base` (PROPFIND Depth 1), and in each the objects
    (REPORT): {calendar segment: {name: (etag, icalendar.Calendar, raw)}}."""
    status, body, _ = dav("PROPFIND", base, '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
                                            '<D:resourcetype/></D:prop></D:propfind>', {"Depth": "1"})
    assert status == 207, status
    out = {}
    for resp in ET.fromstring(body).findall("D:response", NS):
        href = resp.find("D:href", NS).text
        if resp.find(".//C:calendar", NS) is None:
            continue
        cal = urllib.parse.unquote(href.rstrip("/").rsplit("/", 1)[1])
        status, body2, _ = dav("REPORT", urllib.parse.urljoin(base, href), QUERY, {"Depth": "1"})
        assert status == 207, status
        objs = {}
        for r in ET.fromstring(body2).findall("D:response", NS):
            name = urllib.parse.unquote(r.find("D:href", NS).text.rsplit("/", 1)[1])
            etag = r.find(".//D:getetag", NS).text
            raw = r.find(".//C:calendar-data", NS).text
            objs[name] = (etag, icalendar.Calendar.from_ical(raw), raw)
        out[cal] = objs
    return out


def etags(objs):
    return {(c, n): o[0] for c, d in objs.items() for n, o in d.items()}


def component(cal):
    return next(iter(cal.walk("VTODO") or cal.walk("VEVENT")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("radicale exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("radicale did not start")


def start_radicale(tmp):
    port = free_port()
    with open(os.path.join(tmp, "users"), "w") as f:
        f.write(f"{USER}:{PASSWORD}\n")
    with open(os.path.join(tmp, "radicale.conf"), "w") as f:
        f.write(f"""[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {tmp}/users
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {tmp}/collections
[web]
type = none
[logging]
level = warning
""")
    log = open(os.path.join(tmp, "radicale.log"), "w")
    proc = subprocess.Popen(["/usr/bin/python3", "-m", "radicale", "--config", os.path.join(tmp, "radicale.conf")],
                            stdout=log, stderr=log)
    wait_for(port, proc)
    return proc, port


def item_mtimes(tmp):
    root = os.path.join(tmp, "collections", "collection-root", USER)
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".ics"):
                out[os.path.join(d, f)] = os.stat(os.path.join(d, f)).st_mtime_ns
    return out


def totals(stdout, command):
    line = [l for l in stdout.splitlines() if l.startswith(f"calendar {command}: ")]
    return line[-1] if line else ""


# ---- a stub server: 412 on every write, one unreadable object ------------------------------

class Stub(http.server.BaseHTTPRequestHandler):
    listing = {}  # calendar path -> [(name, etag, data)]
    puts = []

    def log_message(self, *a):
        pass

    def _send(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_REPORT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path not in Stub.listing:
            return self._send(404)
        parts = []
        for name, etag, data in Stub.listing[self.path]:
            esc = data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            parts.append(f"<D:response><D:href>{self.path}{name}</D:href><D:propstat><D:prop><D:getetag>{etag}"
                         f"</D:getetag><C:calendar-data>{esc}</C:calendar-data></D:prop>"
                         f"<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")
        body = ('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                + "".join(parts) + "</D:multistatus>").encode()
        self._send(207, body, "application/xml")

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Stub.puts.append((self.path, self.headers.get("If-Match"), self.headers.get("If-None-Match")))
        self._send(412)

    def do_MKCALENDAR(self):
        self._send(201)


def ical_js(pushed):
    """A second parser: ical.js (npm, tests/ical/parse.cjs) reads every pushed object, with the same UID and SUMMARY."""
    ical_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ical")
    if not os.path.isdir(os.path.join(ical_dir, "node_modules", "ical.js")):
        subprocess.run(["npm", "ci", "--prefix", ical_dir, "--no-audit", "--no-fund"], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as d:
        files = []
        for name, (_, cal, raw) in pushed.items():
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
            files.append((path, cal))
        r = subprocess.run(["node", os.path.join(ical_dir, "parse.cjs")] + [f for f, _ in files], capture_output=True, text=True)
        check(r.returncode == 0, f"ical.js parses every pushed object ({r.stderr[-300:]} {r.stdout[-300:]})")
        parsed = {json.loads(l)["file"]: json.loads(l) for l in r.stdout.splitlines() if l.strip()}
        for path, cal in files:
            todo = next(iter(cal.walk("VTODO")))
            got = parsed.get(path, {}).get("todos", [{}])[0]
            check(got.get("uid") == str(todo["UID"]) and got.get("summary") == str(todo["SUMMARY"]),
                  f"{os.path.basename(path)}: ical.js and icalendar read the same UID and SUMMARY")


def main():
    if importlib.util.find_spec("radicale") is None:
        print("calendar_caldav: skipped (Debian's radicale is not installed; scripts/setup.sh installs it)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "z.db")
        build_store(db)
        creds = os.path.join(tmp, "caldav.cred")
        with open(creds, "w") as f:
            f.write(f"{USER}:{PASSWORD}\n")
        env_creds = {"ZORGPAD_CALDAV_USER": USER, "ZORGPAD_CALDAV_PASSWORD": PASSWORD}
        proc, port = start_radicale(tmp)
        try:
            base = f"http://127.0.0.1:{port}/{USER}/"
            all_tasks = tasks(db)
            open_tasks = [t for t in all_tasks if t["status"] == "open"]
            check(len(open_tasks) >= 4 and any(t["status"] == "done" for t in all_tasks),
                  f"fixture: open tasks in three calendars and a done one ({len(open_tasks)} open)")

            # 1. push: one VTODO per open task, a calendar per therapist
            r = run(db, "calendar", "push", "--caldav", base, "--credentials", creds, "--dashboard-url", DASHBOARD)
            check(r.returncode == 0, f"push exits 0 ({r.returncode}: {r.stderr})")
            check(totals(r.stdout, "push") == f"calendar push: {len(open_tasks)} created, 0 updated, 0 unchanged, "
                                              "0 removed, 0 failed", f"push totals: {totals(r.stdout, 'push')!r}")
            for p in PATIENTS.values():
                check(p not in r.stdout + r.stderr, f"no patient reference in zorgpad's output ({p})")
            objs = objects(base)
            want_cals = {segment(THERAPISTS[t["episode"]]) for t in open_tasks}
            check(set(objs) == want_cals, f"a calendar per therapist: {sorted(objs)} vs {sorted(want_cals)}")
            check("zorgpad-no-therapist" in objs and "T2_2Fx" in objs and "Fysio_20de_20Vries" in objs,
                  "calendar names: escaped therapist codes, and one for episodes without a therapist")
            pushed = {n: o for d in objs.values() for n, o in d.items()}
            check(len(pushed) == len(open_tasks), f"{len(open_tasks)} objects on the server ({len(pushed)})")
            ical_js(pushed)
            by_uid = {}
            for name, (etag, cal, raw) in pushed.items():
                todos = list(cal.walk("VTODO"))
                check(len(todos) == 1 and not cal.walk("VEVENT"), f"{name}: one VTODO per object")
                by_uid[str(todos[0]["UID"])] = todos[0]
            for t in open_tasks:
                uid = f"zorgpad-task-{t['episode']}-{t['seq']}@zorgpad" if "seq" in t else None
                todo = by_uid.get(uid) if uid else next(
                    (v for v in by_uid.values() if f"zorgpad-taak {t['id']} " in str(v["DESCRIPTION"])), None)
                check(todo is not None, f"task {t['id']}: its VTODO is on the server")
                if todo is None:
                    continue
                summary = str(todo["SUMMARY"])
                check(summary.endswith(" — " + PATIENTS[t["episode"]]), f"task {t['id']}: SUMMARY names the patient: {summary}")
                if t["kind"] == "lrs_check":
                    check(summary.startswith("Controle LRS"), f"task {t['id']}: SUMMARY names the checkpoint: {summary}")
                if t["kind"] == "reevaluation":
                    check(summary.startswith("Herevaluatie ") and len(summary) > len("Herevaluatie — " + PATIENTS[t["episode"]]),
                          f"task {t['id']}: SUMMARY names the checkpoint: {summary}")
                check(str(todo["URL"]) == DASHBOARD + "#episode=" + t["episode"], f"task {t['id']}: URL to the episode")
                check(str(todo["STATUS"]) == "NEEDS-ACTION", f"task {t['id']}: NEEDS-ACTION")
                check(todo["DUE"].dt.isoformat() == t["due"], f"task {t['id']}: DUE")
                check(str(todo.get("X-ZORGPAD-DIGEST", "")).startswith("fnv1a64-"), f"task {t['id']}: digest")
                uids = {str(c["UID"]) for c in by_uid.values()}
                check(str(todo["UID"]) in uids and str(todo["UID"]).startswith(f"zorgpad-task-{t['episode']}-"),
                      f"task {t['id']}: UID from episode and task number")
            done_before = [t for t in all_tasks if t["status"] == "done"]
            check(not any(f"zorgpad-taak {t['id']} " in str(v["DESCRIPTION"]) for t in done_before for v in by_uid.values()),
                  "a task done before the first push is not created")

            # 2. push again: nothing changes (ETags and Radicale's files)
            tags1, mtimes1 = etags(objs), item_mtimes(tmp)
            r = run(db, "calendar", "push", "--caldav", base, "--dashboard-url", DASHBOARD, env=env_creds)
            check(r.returncode == 0, f"re-push exits 0 ({r.stderr})")
            check(totals(r.stdout, "push") == f"calendar push: 0 created, 0 updated, {len(open_tasks)} unchanged, "
                                              "0 removed, 0 failed", f"re-push writes nothing: {totals(r.stdout, 'push')!r}")
            objs2 = objects(base)
            check(etags(objs2) == tags1, "ETags identical after a re-push")
            check(item_mtimes(tmp) == mtimes1, "Radicale's files untouched by a re-push")

            # push with a wrong password: exit 2, a line per open task, nothing written
            r = run(db, "calendar", "push", "--caldav", base,
                    env={"ZORGPAD_CALDAV_USER": USER, "ZORGPAD_CALDAV_PASSWORD": "wrong"})
            fails = [l for l in r.stderr.splitlines() if "not pushed" in l and "(401)" in l]
            check(r.returncode == 2 and len(fails) == len(open_tasks),
                  f"push, wrong password: exit 2, a line per open task: {r.stderr}")
            check(item_mtimes(tmp) == mtimes1, "nothing written with a wrong password")

            # 3. --with-events: a VEVENT twin per open task, the VTODOs unchanged
            r = run(db, "calendar", "push", "--caldav", base, "--dashboard-url", DASHBOARD, "--with-events", env=env_creds)
            check(r.returncode == 0 and totals(r.stdout, "push").startswith(
                f"calendar push: {len(open_tasks)} created, 0 updated, {len(open_tasks)} unchanged"),
                f"--with-events adds the events only: {totals(r.stdout, 'push')!r} {r.stderr}")
            objs3 = objects(base)
            events = [component(o[1]) for d in objs3.values() for n, o in d.items() if n.startswith("zorgpad-event-")]
            check(len(events) == len(open_tasks), f"one VEVENT per open task ({len(events)})")
            for e in events:
                check(e.name == "VEVENT" and str(e["UID"]).startswith("zorgpad-event-"), "the twin is a VEVENT of its own UID")
                check(e["DTEND"].dt - e["DTSTART"].dt == datetime.timedelta(days=1), "an all-day event")

            # 4. the scheduler completes two VTODOs: x stays open in zorgpad, y is done there first
            x = task_of(db, "ep-a")
            y = task_of(db, "ep-c")
            ox = objs3[segment(THERAPISTS["ep-a"])]
            oy = objs3[segment(THERAPISTS["ep-c"])]
            for t, o in ((x, ox), (y, oy)):
                name = f"zorgpad-task-{t['episode']}-"
                (nm, (etag, cal, raw)), = [(n, v) for n, v in o.items() if n.startswith(name) and "-task-" in n]
                todo = component(cal)
                for prop in ("STATUS", "PERCENT-COMPLETE", "COMPLETED"):
                    todo.pop(prop, None)
                todo.add("STATUS", "COMPLETED")  # as a scheduler does it
                todo.add("PERCENT-COMPLETE", 100)
                todo.add("COMPLETED", datetime.datetime(2026, 3, 9, 10, 0, tzinfo=datetime.timezone.utc))
                url = base + segment(THERAPISTS[t["episode"]]) + "/" + nm
                status, _, _ = dav("PUT", url, cal.to_ical(), {"Content-Type": "text/calendar", "If-Match": etag})
                check(status in (201, 204), f"the scheduler's PUT of a completed VTODO ({status})")

            # a push now leaves the scheduler's COMPLETED alone (pull records it)
            before = etags(objects(base))
            r = run(db, "calendar", "push", "--caldav", base, "--dashboard-url", DASHBOARD, env=env_creds)
            for t in (x, y):
                check(f"task {t['id']} ({t['episode']}): completed in the scheduler" in r.stdout,
                      f"push names the task completed in the scheduler: {r.stdout}")
            changed = {k for k, v in etags(objects(base)).items() if before.get(k) != v}
            check(r.returncode == 0 and not changed, f"push does not overwrite the scheduler's COMPLETED: {changed}")
            ok(db, "task", "done", str(y["id"]))  # y: done in zorgpad as well, before the pull

            # 5. pull with a wrong password: exit 2, a line per open task, nothing recorded
            snapshot = tasks(db)
            r = run(db, "calendar", "pull", "--caldav", base,
                    env={"ZORGPAD_CALDAV_USER": USER, "ZORGPAD_CALDAV_PASSWORD": "wrong"})
            check(r.returncode == 2, f"pull with a wrong password exits 2 ({r.returncode})")
            check("401" in r.stderr and f"task {x['id']} (ep-a): not checked" in r.stderr,
                  f"pull names the refusal per task: {r.stderr}")
            check(tasks(db) == snapshot, "nothing recorded when the server refuses the credentials")

            # 6. pull: x done through the `task done` path (audited), y skipped with a note
            r = run(db, "calendar", "pull", "--caldav", base, "--credentials", creds)
            check(r.returncode == 0, f"pull exits 0 ({r.returncode}: {r.stderr})")
            check(f"task {x['id']} (ep-a): done (completed in the scheduler)" in r.stdout, f"pull records x: {r.stdout}")
            check(f"task {y['id']} (ep-c): skipped, already done in zorgpad" in r.stdout, f"pull skips y: {r.stdout}")
            check(totals(r.stdout, "pull") == "calendar pull: 1 recorded done, 1 skipped, 0 failed",
                  f"pull totals: {totals(r.stdout, 'pull')!r}")
            now = {t["id"]: t for t in tasks(db)}
            check(now[x["id"]]["status"] == "done", "x is done in zorgpad")
            check(sum(1 for t in now.values() if t["status"] == "done") ==
                  sum(1 for t in snapshot if t["status"] == "done") + 1, "only x was recorded done")
            audit = [json.loads(l) for l in ok(db, "audit", "--json").splitlines()]
            check(any(a["action"] == "task.done" and a["episodes"] == ["ep-a"] for a in audit),
                  "the pull is audited as `task done` is")
            check(any(a["action"] == "calendar.push" for a in audit), "a push is audited")

            # 7. pull again: nothing new
            r = run(db, "calendar", "pull", "--caldav", base, "--credentials", creds)
            check(r.returncode == 0 and totals(r.stdout, "pull") == "calendar pull: 0 recorded done, 2 skipped, 0 failed",
                  f"a second pull records nothing: {r.stdout}")

            # 8. push: x and y become COMPLETED from zorgpad, their events go
            r = run(db, "calendar", "push", "--caldav", base, "--dashboard-url", DASHBOARD, "--with-events", env=env_creds)
            check(r.returncode == 0, f"push after pull exits 0 ({r.stderr})")
            check(f"task {x['id']} (ep-a): updated (completed)" in r.stdout, f"x's VTODO updated: {r.stdout}")
            check(f"task {x['id']} (ep-a) event: removed (completed)" in r.stdout, f"x's event removed: {r.stdout}")
            check(f"task {y['id']} (ep-c): updated (completed)" in r.stdout, f"y's VTODO updated: {r.stdout}")
            objs4 = objects(base)
            names = {n for d in objs4.values() for n in d}
            check(not any(n.startswith("zorgpad-event-ep-a-") or n.startswith("zorgpad-event-ep-c-") for n in names),
                  "events of closed tasks are removed")
            # a pull now is silent about them: the COMPLETED is zorgpad's own
            r = run(db, "calendar", "pull", "--caldav", base, "--credentials", creds)
            check(r.returncode == 0 and totals(r.stdout, "pull") == "calendar pull: 0 recorded done, 0 skipped, 0 failed",
                  f"pull after push: nothing to say: {r.stdout}")
            # cancelled tasks: stop ep-b, push: its VTODOs become CANCELLED
            ok(db, "record", "ep-b", "-", stdin=json.dumps({"type": "stop", "at": "2026-03-10", "reason": "goals_met"}))
            r = run(db, "calendar", "push", "--caldav", base, "--credentials", creds, "--dashboard-url", DASHBOARD)
            b_tasks = [t for t in tasks(db) if t["episode"] == "ep-b"]
            check(r.returncode == 0 and all(t["status"] == "cancelled" for t in b_tasks) and
                  all(f"task {t['id']} (ep-b): updated (cancelled)" in r.stdout and
                      f"task {t['id']} (ep-b) event: removed (cancelled)" in r.stdout for t in b_tasks),
                  f"stopped episode: VTODOs cancelled, events removed (without --with-events): {r.stdout}")
            for n, (_, cal, _) in objects(base)[segment(THERAPISTS["ep-b"])].items():
                if n.startswith("zorgpad-task-"):
                    check(str(component(cal)["STATUS"]) == "CANCELLED", f"{n}: STATUS:CANCELLED")

        finally:
            proc.terminate()
            proc.wait(timeout=10)

        # 10. the server is down (a fresh store: every task open)
        db2 = os.path.join(tmp, "z2.db")
        build_store(db2)
        open2 = [t for t in tasks(db2) if t["status"] == "open"]
        r = run(db2, "calendar", "push", "--caldav", base, "--credentials", creds, "--timeout", "2")
        down = [l for l in r.stderr.splitlines() if "not pushed: cannot connect" in l]
        check(r.returncode == 2 and len(down) == len(open2), f"push, server down: exit 2, a line per task ({r.returncode}: {r.stderr})")
        snapshot = tasks(db2)
        r = run(db2, "calendar", "pull", "--caldav", base, "--credentials", creds, "--timeout", "2")
        down = [l for l in r.stderr.splitlines() if "not checked: cannot connect" in l]
        check(r.returncode == 2 and len(down) == len(open2), f"pull, server down: exit 2, a line per task ({r.returncode}: {r.stderr})")
        check(tasks(db2) == snapshot, "nothing recorded when the server is down")

        # 11. bad input: credentials in the URL, a missing credentials file
        r = run(db, "calendar", "push", "--caldav", f"http://{USER}:x@127.0.0.1:{port}/")
        check(r.returncode == 2 and "credentials do not belong in the URL" in r.stderr, f"URL with credentials: {r.stderr}")
        r = run(db, "calendar", "pull", "--caldav", base, "--credentials", os.path.join(tmp, "missing"))
        check(r.returncode == 2 and r.stderr.startswith("zorgpad: --credentials"), f"missing credentials file: {r.stderr}")

        # 12. a stub server: every write answered 412, one object unreadable
        stub_objs = objects_from(objs)  # what Radicale held after the first push
        Stub.listing = {}
        bad = None
        for cal, items in stub_objs.items():
            entries = []
            for name, (etag, raw) in items.items():
                if not name.startswith("zorgpad-task-"):
                    continue
                if bad is None and cal == segment(THERAPISTS["ep-a"]):
                    bad = name
                    raw = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
                else:  # another digest: zorgpad will want to write it
                    raw = raw.replace("X-ZORGPAD-DIGEST:fnv1a64-", "X-ZORGPAD-DIGEST:old-")
                entries.append((name, etag, raw))
            Stub.listing[f"/{USER}/{cal}/"] = entries
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            stub = f"http://127.0.0.1:{srv.server_address[1]}/{USER}/"
            r = run(db2, "calendar", "push", "--caldav", stub, "--credentials", creds)
            lines412 = [l for l in r.stderr.splitlines() if "(412)" in l]
            unreadable = [l for l in r.stderr.splitlines() if "unreadable" in l]
            check(r.returncode == 2, f"stub push exits 2 ({r.returncode})")
            check(len(lines412) == len(open2) - 1 and len(unreadable) == 1,
                  f"a 412 line per task written, one for the unreadable object: {r.stderr}")
            check(all(p[1] for p in Stub.puts) and len(Stub.puts) == len(open2) - 1,
                  f"every update is conditional (If-Match): {Stub.puts}")
            snapshot = tasks(db2)
            r = run(db2, "calendar", "pull", "--caldav", stub, "--credentials", creds)
            check(r.returncode == 2 and "unreadable" in r.stderr, f"stub pull: the unreadable object fails ({r.stderr})")
            check(tasks(db2) == snapshot, "nothing recorded from a stub that marked nothing COMPLETED")
        finally:
            srv.shutdown()

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("calendar_caldav: ok")


def objects_from(objs):
    return {cal: {n: (o[0], o[2]) for n, o in d.items()} for cal, d in objs.items()}


if __name__ == "__main__":
    main()
