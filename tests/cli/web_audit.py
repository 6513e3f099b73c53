#!/usr/bin/python3
"""`zorgpad serve` on SQLite: the audit log (NEN 7513) of every access to a patient's data.

Run as `python3 web_audit.py ZORGPAD_BINARY` (ctest does). Seeds a SQLite file
through the CLI (events copied from tests/scenarios), adds a therapist and a
practice_admin, starts `zorgpad --db DB serve --port 0` (with ZORGPAD_LOG=debug,
its most talkative log) and checks, reading `zorgpad --db DB audit --json`
before and after each request:

- every read of a patient's data through the API (an episode, its events, a
  letter in html and text, the tasks of an episode, the letters, the overview,
  the calendar) leaves exactly one new audit row: the action, the user
  ("user:NAME#ID", or "local:LOGIN" for a GET without a token), the role, the
  address 127.0.0.1, the episodes, outcome "ok";
- a list (GET /api/episodes) leaves one row naming exactly the listed episodes
  (a page names its page, a search its matches);
- every write (open, event, the same event again, import, task done) leaves
  one row: episode.open, event.record, event.record.repeat, import, task.done;
- a refused write (422 for an event the pathway refuses or a bad open or a bad
  import line, 412 for a stale If-Match, 409 for a task done twice) writes
  nothing of it (the events are unchanged) and one row "rejected NNN";
- `audit --episode EP` answers who saw EP, `--user` and `--since` filter (the
  same rows as the whole log filtered here);
- the audit log cannot be changed: DELETE and UPDATE of the audit table
  (its rows and the episodes they name) fail in the sqlite3 shell;
- CLI access is audited as "cli:LOGIN" (show, letter, fhir, record);
- the user tokens (made by the CLI and by POST /api/users) never appear in the
  database file, its -wal or -shm, nor in serve's output; nor do their random
  part or its bytes; patient references never appear in serve's output (also
  when a request carries them in its query or body).
"""
import base64
import datetime
import json
import sqlite3
import os
import pwd
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LOGIN = pwd.getpwuid(os.geteuid()).pw_name
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


# ---- the CLI ------------------------------------------------------------------------------

def run(db, *args, stdin=None):
    return subprocess.run([ZORGPAD, "--db", db] + list(args), input=stdin, capture_output=True, text=True, timeout=120)


def ok(db, *args, stdin=None):
    p = run(db, *args, stdin=stdin)
    if p.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def audit_rows(db, *args):
    limit = [] if "--limit" in args else ["--limit", "1000000"]
    out = ok(db, "audit", "--json", *limit, *args)
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def last_id(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COALESCE(max(id), 0) FROM audit").fetchone()[0]
    finally:
        con.close()


def rows_after(db, before):
    """The rows after id `before`, newest first, as `zorgpad audit --json` shows them: read with sqlite3
    (a process per check would make the test slow under the sanitizers); the filters of `zorgpad audit`
    itself are checked below against these same rows."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT id, at, user, role, action, episodes, address, outcome FROM audit WHERE id > ? "
                           "ORDER BY id DESC", (before,)).fetchall()
    finally:
        con.close()
    return [{"id": i, "at": datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "user": u, "role": ro, "action": a, "episodes": json.loads(e), "address": ad, "outcome": o}
            for i, at, u, ro, a, e, ad, o in rows]


def utc_seconds(at):
    return int(datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


# ---- the seed: events copied from tests/scenarios ---------------------------------------------

def scenario_events(name):
    with open(os.path.join(TESTS, "scenarios", name + ".json")) as f:
        return json.load(f)["episodes"][0]["events"]


FULL = scenario_events("profile1-recovers")        # closed; gp_report_start and gp_report_close letters
TREATED = FULL[:4]                                  # in treatment; an open gp_report_start letter
SESSION = {"type": "session", "at": "2026-01-12"}  # its next event
STRAT_AGAIN = scenario_events("invalid-stratification-in-treatment")[3]   # refused in treatment (422)
OPEN_NO_AGE = scenario_events("invalid-open-missing-age")[0]               # refused open (422)

PATIENTS = {"ep-1": "PAT-AUD-1-k9", "ep-2": "PAT-AUD-2-k9", "ep-3": "PAT-AUD-3-k9"}
NEW_PATIENTS = {"ep-4": "PAT-AUD-4-k9", "ep-5": "PAT-AUD-5-k9", "ep-bad": "PAT-AUD-BAD-k9",
                "ep-imp-bad": "PAT-AUD-IMPBAD-k9", "ep-6": "PAT-AUD-6-k9", "ep-7": "PAT-AUD-7-k9"}
ALL_PATIENTS = set(PATIENTS.values()) | set(NEW_PATIENTS.values())


def lines_of(eid, events):
    out = []
    for ev in events:
        ev = dict(ev)
        if ev["type"] == "open":
            ev["gp"] = "GP-1"
            ev["therapist"] = "Fysio Audit"
        out.append({"episode": eid, "patient": PATIENTS.get(eid) or NEW_PATIENTS[eid], "event": ev})
    return out


def ndjson(lines):
    return "".join(json.dumps(l) + "\n" for l in lines)


def add_user(db, name, role):
    out = ok(db, "user", "add", "--name", name, "--role", role, "--practice", "P1").splitlines()
    uid = int(out[0].split()[1])
    return {"id": uid, "name": name, "role": role, "token": out[-1].strip(), "audit": f"user:{name}#{uid}"}


# ---- the server ---------------------------------------------------------------------------

class Server:
    def __init__(self, db):
        cmd = [ZORGPAD, "--db", db, "serve", "--port", "0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=dict(os.environ, ZORGPAD_LOG="debug"))
        self.lines = queue.Queue()
        self.out, self.err = [], []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.out, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False), daemon=True).start()
        self.base = self.token = None
        deadline = time.time() + 30
        while self.base is None or self.token is None:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                raise SystemExit("serve did not start: " + self.log())
            if line is None:
                raise SystemExit(f"serve exited ({self.proc.wait()}): {self.log()}")
            if line.startswith("zorgpad: serving "):
                self.base = line.split()[2].rstrip("/")
            elif line.startswith("zorgpad: token "):
                self.token = line.split()[2]

    def _read(self, stream, store, signal_lines):
        for line in stream:
            store.append(line)
            if signal_lines:
                self.lines.put(line.decode("utf-8", "replace").strip())
        if signal_lines:
            self.lines.put(None)

    def log(self):
        return b"".join(self.out + self.err).decode("utf-8", "replace")

    def stop(self):
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        check(code == 0, f"serve stops cleanly on SIGTERM (exit {code})")
        time.sleep(0.2)  # the readers see the end of the output


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def record_exchange(method, path, status, req_type, req_body, reply):
    """One line per request for the OpenAPI check (tests/openapi/check.mjs), when $ZORGPAD_EXCHANGES names a file."""
    dest = os.environ.get("ZORGPAD_EXCHANGES")
    if not dest:
        return
    u = urllib.parse.urlsplit(path)
    query = {k: v for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True) if k != "token"}
    if req_body is None:
        rb = None
    elif req_type and req_type.startswith("application/json"):
        try:
            rb = json.loads(req_body)
        except ValueError:
            rb = req_body.decode("utf-8", "replace")
    else:
        rb = req_body.decode("utf-8", "replace")
    ctype = reply.headers.get("Content-Type") if reply.headers else None
    body = reply.json() if ctype and ctype.startswith("application/json") else None
    with open(dest, "a") as f:
        f.write(json.dumps({"method": method, "path": u.path, "query": query, "status": status,
                            "request_content_type": req_type, "request_body": rb,
                            "response_content_type": ctype, "response_body": body}) + "\n")


def http(base, method, path, token=None, body=None, ctype=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            ctype = ctype or "application/json"
        else:
            data = body.encode() if isinstance(body, str) else body
    if ctype:
        h["Content-Type"] = ctype
    if method == "POST" and data is None:
        data = b""
    req = urllib.request.Request(base + path, method=method, headers=h, data=data)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            reply = Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        reply = Reply(e.code, e.headers, e.read())
    record_exchange(method, path, reply.status, ctype, data if body is not None else None, reply)
    return reply


def q(path, **params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


# ---- the checks ----------------------------------------------------------------------------

class Ctx:
    pass


def one_row(c, what, do, action, episodes, outcome="ok", who=None, status=None, address="127.0.0.1", role=None):
    """Runs `do`; exactly one new audit row, naming the caller, the action, the episodes, the outcome."""
    who = who or c.ta
    before = last_id(c.db)
    t = time.time()
    reply = do()
    t_end = time.time()
    if status is not None:
        check(reply.status == status if isinstance(reply, Reply) else reply.returncode == status,
              f"{what}: status {getattr(reply, 'status', getattr(reply, 'returncode', None))}, expected {status} "
              f"({(reply.text if isinstance(reply, Reply) else reply.stderr)[:200]})")
    new = rows_after(c.db, before)
    if not check(len(new) == 1, f"{what}: {len(new)} new audit row(s), expected exactly one: {new}"):
        return reply, (new[0] if new else None)
    r = new[0]
    check(int(t) <= utc_seconds(r["at"]) <= t_end + 1, f"{what}: the audit row is dated {r['at']}, not the time of the access")
    want = {"action": action, "user": who["audit"], "role": role or who["role"], "outcome": outcome}
    if address is not None:
        want["address"] = address
    if episodes is not None:
        want["episodes"] = sorted(episodes)
    got = {k: (sorted(r.get(k) or []) if k == "episodes" else r.get(k)) for k in want}
    check(got == want, f"{what}: audit row {got}, expected {want}")
    return reply, r


def no_row(c, what, do):
    before = last_id(c.db)
    reply = do()
    new = rows_after(c.db, before)
    check(not new, f"{what}: wrote audit rows {new}")
    return reply


def events_of(c, eid):
    """The stored log through the API (an audited read itself)."""
    r, _ = one_row(c, f"GET /api/episodes/{eid}/events", lambda: http(c.base, "GET", f"/api/episodes/{eid}/events", c.ta["token"]),
                   "events.read", [eid], status=200)
    return (r.json() or {}).get("events"), r.headers.get("ETag")


def task_ids(c, eid, kind=None, status=None):
    tasks = json.loads(ok(c.db, "tasks", "--json"))["tasks"]   # the CLI's tasks list is not a patient read
    return [t["id"] for t in tasks if t["episode"] == eid and (kind is None or t["kind"] == kind)
            and (status is None or t["status"] == status)]


def reads(c):
    T = c.ta["token"]
    get = lambda path, tok=T: (lambda: http(c.base, "GET", path, tok))
    one_row(c, "GET /api/episodes/ep-1", get("/api/episodes/ep-1"), "episode.read", ["ep-1"], status=200)
    one_row(c, "GET /api/episodes/ep-1/events", get("/api/episodes/ep-1/events"), "events.read", ["ep-1"], status=200)
    letter = task_ids(c, "ep-1", "gp_report_start")[0]
    one_row(c, "GET a letter (html)", get(f"/api/tasks/{letter}/letter"), "letter.read", ["ep-1"], status=200)
    one_row(c, "GET a letter (text, en)", get(f"/api/tasks/{letter}/letter?format=text&lang=en"), "letter.read", ["ep-1"],
            status=200)
    one_row(c, "GET /api/tasks?episode=ep-2", get("/api/tasks?episode=ep-2"), "tasks.list", ["ep-2"], status=200)
    r, _ = one_row(c, "GET /api/tasks", get("/api/tasks"), "tasks.list", ["ep-1", "ep-2", "ep-3"], status=200)
    # the lists name exactly what they list
    r, _ = one_row(c, "GET /api/episodes", get("/api/episodes"), "episodes.list", ["ep-1", "ep-2", "ep-3"], status=200)
    check([e["id"] for e in (r.json() or {}).get("episodes", [])] == ["ep-1", "ep-2", "ep-3"], "GET /api/episodes lists the seed")
    one_row(c, "GET /api/episodes?limit=2", get("/api/episodes?limit=2"), "episodes.list", ["ep-1", "ep-2"], status=200)
    one_row(c, "GET /api/episodes?offset=2", get("/api/episodes?offset=2"), "episodes.list", ["ep-3"], status=200)
    one_row(c, "GET /api/episodes?search=<patient of ep-2>", get(q("/api/episodes", search=PATIENTS["ep-2"])),
            "episodes.list", ["ep-2"], status=200)
    one_row(c, "GET /api/episodes?state=closed", get("/api/episodes?state=closed"), "episodes.list", ["ep-1"], status=200)
    r, _ = one_row(c, "GET /api/letters", get("/api/letters"), "letters.list", ["ep-1", "ep-2", "ep-3"], status=200)
    _, row = one_row(c, "GET /api/overview", get("/api/overview"), "overview.read", None, status=200)
    check(row is not None and set(row["episodes"]) <= {"ep-1", "ep-2", "ep-3"},
          f"the overview's row names episodes of the store: {row and row['episodes']}")
    _, row = one_row(c, "GET /calendar.ics", get("/calendar.ics"), "calendar.read", None, status=200)
    check(row is not None and set(row["episodes"]) <= {"ep-1", "ep-2", "ep-3"} and row["episodes"],
          f"the calendar's row names the episodes of its appointments: {row and row['episodes']}")
    # the local user: a GET without a token on loopback
    one_row(c, "GET /api/episodes/ep-3 without a token (local)", lambda: http(c.base, "GET", "/api/episodes/ep-3"),
            "episode.read", ["ep-3"], status=200, who=c.local)
    # the practice admin
    one_row(c, "practice_admin GET /api/episodes/ep-1", get("/api/episodes/ep-1", c.pa["token"]), "episode.read",
            ["ep-1"], status=200, who=c.pa)
    # the token in the query (GET): the same user
    one_row(c, "GET /api/episodes/ep-2?token=", get("/api/episodes/ep-2?token=" + urllib.parse.quote(T), None),
            "episode.read", ["ep-2"], status=200)


def writes(c):
    T = c.ta["token"]
    post = lambda path, body=None, ctype=None, headers=None: (
        lambda: http(c.base, "POST", path, T, body=body, ctype=ctype, headers=headers))
    # open, and the same open again
    body = {"episode": "ep-4", "patient": NEW_PATIENTS["ep-4"], "event": dict(FULL[0], gp="GP-1")}
    one_row(c, "POST /api/episodes", post("/api/episodes", body, headers={"Idempotency-Key": "open-ep-4"}),
            "episode.open", ["ep-4"], status=201)
    one_row(c, "POST /api/episodes again (same Idempotency-Key)",
            post("/api/episodes", body, headers={"Idempotency-Key": "open-ep-4"}), "episode.open.repeat", ["ep-4"], status=200)
    # an event, and the same event again
    events, etag = events_of(c, "ep-2")
    one_row(c, "POST an event", post("/api/episodes/ep-2/events", SESSION, headers={"Idempotency-Key": "s-1", "If-Match": etag}),
            "event.record", ["ep-2"], status=201)
    one_row(c, "POST the event again (same Idempotency-Key)",
            post("/api/episodes/ep-2/events", SESSION, headers={"Idempotency-Key": "s-1"}),
            "event.record.repeat", ["ep-2"], status=200)
    events, etag = events_of(c, "ep-2")
    check(len(events or []) == len(TREATED) + 1, f"ep-2 holds its events and one session ({len(events or [])})")

    # refused writes: nothing written, one row "rejected NNN"
    r, _ = one_row(c, "POST an event the pathway refuses", post("/api/episodes/ep-2/events", STRAT_AGAIN),
                   "event.record", ["ep-2"], outcome="rejected 422", status=422)
    check(all(p not in r.text for p in ALL_PATIENTS), f"the 422 names no patient: {r.text[:200]}")
    check(events_of(c, "ep-2")[0] == events, "a refused event (422) changed the events")
    r, _ = one_row(c, "POST an event with a stale If-Match", post("/api/episodes/ep-2/events", SESSION,
                                                                  headers={"If-Match": str(len(events) - 1)}),
                   "event.record", ["ep-2"], outcome="rejected 412", status=412)
    check(events_of(c, "ep-2")[0] == events, "a stale write (412) changed the events")
    r, _ = one_row(c, "POST an event with a stale If-Match (quoted, in the future)",
                   post("/api/episodes/ep-2/events", SESSION, headers={"If-Match": f'"{len(events) + 3}"'}),
                   "event.record", ["ep-2"], outcome="rejected 412", status=412)
    check(events_of(c, "ep-2")[0] == events, "a stale write (412) changed the events")
    r, _ = one_row(c, "POST an event that is not an event (unknown field)",
                   post("/api/episodes/ep-2/events", dict(SESSION, judgment="sufficient")),
                   "event.record", ["ep-2"], outcome="rejected 422", status=422)
    check(events_of(c, "ep-2")[0] == events, "a refused event (422) changed the events")
    bad_open = {"episode": "ep-bad", "patient": NEW_PATIENTS["ep-bad"], "event": OPEN_NO_AGE}
    one_row(c, "POST /api/episodes with an open the pathway refuses", post("/api/episodes", bad_open),
            "episode.open", ["ep-bad"], outcome="rejected 422", status=422)
    r = http(c.base, "GET", "/api/episodes/ep-bad", T)
    check(r.status == 404, f"a refused open opened ep-bad ({r.status})")
    one_row(c, "POST /api/episodes for an existing episode", post("/api/episodes", dict(body, event=dict(FULL[0], gp="GP-1"))),
            "episode.open", ["ep-4"], outcome="rejected 422", status=422)

    # import: one row naming the episodes it wrote
    one_row(c, "POST /api/import", post("/api/import", ndjson(lines_of("ep-5", TREATED)), "application/x-ndjson"),
            "import", ["ep-5"], status=200)
    lines = lines_of("ep-imp-bad", TREATED) + [{"episode": "ep-imp-bad", "patient": NEW_PATIENTS["ep-imp-bad"],
                                                  "event": STRAT_AGAIN}]   # line 5: a second stratification
    one_row(c, "POST /api/import with a refused line", post("/api/import", ndjson(lines), "application/x-ndjson"),
            "import", None, outcome="rejected 422", status=422)
    r = http(c.base, "GET", "/api/episodes/ep-imp-bad", T)
    check(r.status == 404, f"a refused import (one batch) wrote ep-imp-bad ({r.status})")
    # an import committed in batches of one line: each batch is a write of its
    # own (its own transaction), and each carries its own audit row
    before = last_id(c.db)
    reply = post("/api/import?batch=1", ndjson(lines_of("ep-6", TREATED[:3])), "application/x-ndjson")()
    new = rows_after(c.db, before)
    check(reply.status == 200 and len(new) == 3 and all(r["action"] == "import" and r["episodes"] == ["ep-6"] and
                                                        r["user"] == c.ta["audit"] for r in new),
          f"POST /api/import?batch=1 (three lines of one episode): one audit row per batch transaction: {new}")

    # task done, and done again (409)
    tid = task_ids(c, "ep-3", "gp_report_start", "open")[0]
    one_row(c, "POST /api/tasks/ID/done", post(f"/api/tasks/{tid}/done"), "task.done", ["ep-3"], status=200)
    one_row(c, "POST /api/tasks/ID/done again", post(f"/api/tasks/{tid}/done"), "task.done", ["ep-3"],
            outcome="rejected 409", status=409)
    # the practice admin writes under their own name; the local user with serve's token
    one_row(c, "practice_admin POST an event", lambda: http(c.base, "POST", "/api/episodes/ep-5/events", c.pa["token"],
                                                            body=SESSION), "event.record", ["ep-5"], status=201, who=c.pa)
    one_row(c, "local POST an event (serve's token)", lambda: http(c.base, "POST", "/api/episodes/ep-5/events", c.token,
                                                                   body=SESSION), "event.record", ["ep-5"], status=201,
            who=c.local)
    # a user added through the API (the token comes back once)
    r = http(c.base, "POST", "/api/users", c.pa["token"], body={"name": "Web Therapist", "role": "therapist"})
    j = r.json() or {}
    check(r.status == 201 and isinstance(j.get("token"), str), f"practice_admin POST /api/users: {r.status} {r.text[:160]}")
    c.web = {"id": j.get("user", {}).get("id"), "name": "Web Therapist", "role": "therapist", "token": j.get("token", ""),
             "audit": f"user:Web Therapist#{j.get('user', {}).get('id')}"}
    one_row(c, "the API-made therapist GET /api/episodes/ep-4", lambda: http(c.base, "GET", "/api/episodes/ep-4", c.web["token"]),
            "episode.read", ["ep-4"], status=200, who=c.web)
    # a request carrying patient references in its query and body (for the log check)
    one_row(c, "POST /api/episodes ep-7", post("/api/episodes", {"episode": "ep-7", "patient": NEW_PATIENTS["ep-7"],
                                                                 "event": dict(FULL[0], gp="GP-1")}),
            "episode.open", ["ep-7"], status=201)
    # not patient data, or refused before any: no row
    for path in ("/api/me", "/api/diagram", "/healthz"):
        no_row(c, f"GET {path}", lambda path=path: http(c.base, "GET", path, T))
    no_row(c, "a bad token", lambda: http(c.base, "GET", "/api/episodes/ep-1", "zp_999_" + "A" * 43))
    r = http(c.base, "GET", "/api/me", T)   # clears the address's bad-token count


def cli_access(c):
    cli = {"audit": f"cli:{LOGIN}", "role": "cli"}
    one_row(c, "zorgpad show ep-1", lambda: run(c.db, "show", "ep-1"), "episode.read", ["ep-1"], who=cli, address=None,
            status=0)
    one_row(c, "zorgpad show ep-1 --json", lambda: run(c.db, "show", "ep-1", "--json"), "episode.read", ["ep-1"],
            who=cli, address=None, status=0)
    tid = task_ids(c, "ep-1", "gp_report_close")[0]
    one_row(c, "zorgpad letter TASK", lambda: run(c.db, "letter", str(tid)), "letter.read", ["ep-1"], who=cli,
            address=None, status=0)
    before = last_id(c.db)
    p = run(c.db, "fhir", "ep-1")
    new = rows_after(c.db, before)
    check(p.returncode == 0 and len(new) == 1 and new[0]["user"] == cli["audit"] and new[0]["role"] == "cli"
          and new[0]["episodes"] == ["ep-1"] and new[0]["action"].startswith("fhir") and new[0]["outcome"] == "ok",
          f"zorgpad fhir ep-1: one audit row as {cli['audit']}: {new} ({p.stderr.strip()})")
    one_row(c, "zorgpad record ep-2", lambda: run(c.db, "record", "ep-2", "-", stdin=json.dumps(dict(SESSION, at="2026-01-19"))),
            "event.record", ["ep-2"], who=cli, address=None, status=0)
    p = run(c.db, "record", "ep-2", "-", stdin=json.dumps(STRAT_AGAIN))
    check(p.returncode == 2, f"zorgpad record of a refused event: exit {p.returncode}")
    # The audit row records when the access happened: --today (the pathway's clock, for what-if and tests)
    # must not date it, or an access could be logged on any day at all (and hide from `audit --since`).
    one_row(c, "zorgpad --today 2026-03-01 show ep-1", lambda: run(c.db, "--today", "2026-03-01", "show", "ep-1"),
            "episode.read", ["ep-1"], who=cli, address=None, status=0)


def filters(c):
    full = audit_rows(c.db)
    check(full == sorted(full, key=lambda r: -r["id"]), "audit lists newest first")
    check(len({r["id"] for r in full}) == len(full), "audit row ids are unique")
    for eid in ("ep-1", "ep-2", "ep-4"):
        got = audit_rows(c.db, "--episode", eid)
        check(got == [r for r in full if eid in r["episodes"]], f"audit --episode {eid}: the rows naming {eid}")
    who_saw = {r["user"] for r in audit_rows(c.db, "--episode", "ep-1")}
    check({c.ta["audit"], c.pa["audit"], f"cli:{LOGIN}"} <= who_saw and c.web["audit"] not in who_saw,
          f"audit --episode ep-1 answers who saw ep-1: {sorted(who_saw)}")
    check(audit_rows(c.db, "--episode", "ep-none") == [], "audit --episode of an episode nobody saw: nothing")
    for u in (c.ta, c.pa, c.local, c.web):
        got = audit_rows(c.db, "--user", u["audit"])
        check(got and got == [r for r in full if r["user"] == u["audit"]], f"audit --user {u['audit']}: {len(got)} rows")
    got = audit_rows(c.db, "--user", c.ta["audit"], "--episode", "ep-3")
    check(got == [r for r in full if r["user"] == c.ta["audit"] and "ep-3" in r["episodes"]], "--user and --episode together")
    check(audit_rows(c.db, "--user", "user:Nobody#99") == [], "audit --user of an unknown user: nothing")
    # --since: an old row appended (the log accepts INSERT), then filtered by date
    today = datetime.datetime.now(datetime.timezone.utc).date()
    old = int(datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc).timestamp())
    p = subprocess.run(["sqlite3", c.db, f"INSERT INTO audit(at, practice, user, role, action, address, outcome) "
                                         f"SELECT {old}, practice, 'user:Old#0', role, action, address, outcome FROM audit "
                                         f"WHERE id = {full[0]['id']}"], capture_output=True, text=True)
    check(p.returncode == 0, f"an INSERT into the audit log: {p.stderr.strip()}")
    full = audit_rows(c.db)
    check(any(r["user"] == "user:Old#0" for r in full), "the old row is in the log")
    for since in ("2024-04-30", "2024-05-01", "2024-05-02", today.isoformat(),
                  (today + datetime.timedelta(days=1)).isoformat()):
        want = [r for r in full if r["at"][:10] >= since]
        got = audit_rows(c.db, "--since", since)
        check(got == want, f"audit --since {since}: {len(got)} rows, expected {len(want)}")
        check(since > "2024-05-01" or any(r["user"] == "user:Old#0" for r in got), f"audit --since {since}: the old row")
        check(since <= "2024-05-01" or all(r["user"] != "user:Old#0" for r in got), f"audit --since {since}: not the old row")
        check(since <= today.isoformat() or not got, f"audit --since tomorrow: {len(got)} rows")
    got = audit_rows(c.db, "--since", today.isoformat(), "--episode", "ep-1", "--user", c.ta["audit"])
    check(got and got == [r for r in full if r["user"] == c.ta["audit"] and "ep-1" in r["episodes"]],
          "--since, --episode and --user together")
    p = run(c.db, "audit", "--since", "2024-13-01")
    check(p.returncode == 2 and p.stdout == "", f"audit --since 2024-13-01: exit {p.returncode}")
    p = run(c.db, "audit", "--episode", "ep-1")
    check(p.returncode == 0 and len(p.stdout.splitlines()) == len(audit_rows(c.db, "--episode", "ep-1"))
          and all(PATIENTS["ep-1"] not in l for l in p.stdout.splitlines()), "audit (text) lists the same rows")


def append_only(c):
    count = lambda table: subprocess.run(["sqlite3", c.db, f"SELECT count(*) FROM {table}"], capture_output=True,
                                         text=True).stdout.strip()
    before = {t: count(t) for t in ("audit",)}
    check(all(int(v or 0) > 0 for v in before.values()), f"the audit table holds rows: {before}")
    for sql in ("DELETE FROM audit", "DELETE FROM audit WHERE id = 1", "UPDATE audit SET user = 'someone else'",
                "UPDATE audit SET outcome = 'ok' WHERE outcome LIKE 'rejected%'",
                "UPDATE audit SET episodes = '[]'"):
        p = subprocess.run(["sqlite3", c.db, sql], capture_output=True, text=True)
        check(p.returncode != 0 and "append-only" in p.stderr, f"sqlite3 {sql!r}: exit {p.returncode} {p.stderr.strip()}")
    check({t: count(t) for t in ("audit",)} == before, "the audit table changed")
    check(audit_rows(c.db) == c.final_rows, "the audit log changed")


def secrets_in_files(c, when):
    users = [c.ta, c.pa, c.web]
    blobs = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = c.db + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                blobs[os.path.basename(path)] = f.read()
    check(blobs.get(os.path.basename(c.db)), f"{when}: the database file exists")
    check(any(PATIENTS["ep-1"].encode() in data for data in blobs.values()),
          f"{when}: the files hold the patient references (else the search below sees nothing)")
    for u in users:
        tok = u["token"]
        rand = tok.split("_", 2)[2] if tok.count("_") >= 2 else tok
        raw = base64.urlsafe_b64decode(rand + "=" * (-len(rand) % 4))
        for name, data in blobs.items():
            check(tok.encode() not in data, f"{when}: {name} holds {u['name']}'s token")
            check(rand.encode() not in data, f"{when}: {name} holds the random part of {u['name']}'s token")
            check(raw not in data, f"{when}: {name} holds the random bytes of {u['name']}'s token")
    for name, data in blobs.items():
        check(c.token.encode() not in data, f"{when}: {name} holds serve's token")


def log_checks(c, log):
    check(" /api/episodes" in log, "serve logs its requests with ZORGPAD_LOG=debug (else the log checks test nothing)")
    for u in (c.ta, c.pa, c.web):
        tok = u["token"]
        check(tok not in log and tok.split("_", 2)[2] not in log, f"serve's log shows {u['name']}'s token")
    check("zp_999_" + "A" * 43 not in log and "A" * 43 not in log, "serve's log shows a bad token")
    for p in ALL_PATIENTS:
        check(p not in log, f"serve's log shows patient reference {p}")


def main():
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zorgpad-web-audit-") as tmp:
        c = Ctx()
        c.db = os.path.join(tmp, "audit.db")
        ok(c.db, "init")
        ok(c.db, "import", "-", stdin=ndjson(lines_of("ep-1", FULL) + lines_of("ep-2", TREATED) + lines_of("ep-3", TREATED)))
        c.ta = add_user(c.db, "Anna Audit", "therapist")
        c.pa = add_user(c.db, "Bert Admin", "practice_admin")
        c.local = {"audit": f"local:{LOGIN}", "role": "practice_admin", "name": "local"}
        srv = Server(c.db)
        c.base, c.token = srv.base, srv.token
        try:
            for name, section in (("reads", reads), ("writes", writes), ("cli", cli_access), ("filters", filters)):
                t = time.monotonic()
                section(c)
                print(f"{name}: {time.monotonic() - t:.1f} s")
            secrets_in_files(c, "while serve runs")
        finally:
            srv.stop()
        log_checks(c, srv.log())
        secrets_in_files(c, "after serve stopped")
        c.final_rows = audit_rows(c.db)
        append_only(c)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
