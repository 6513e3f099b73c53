#!/usr/bin/python3
"""`zorgpad serve` on PostgreSQL: who may do what, and no practice sees another's data.

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3 pg_web_roles.py
ZORGPAD_BINARY` (ctest does): it needs ZORGPAD_PG_URL (an application role).

Two practices, A and B, are seeded through the CLI (`--practice P import`).
The users: a therapist and a practice_admin of A, a therapist of B, a
coordinator (every practice), a GP with GP code GP-X (episodes of A are
addressed to GP-X, GP-Y and GP-W), a therapist of A whose token was revoked,
and the local user of a loopback serve (GETs without a token, POSTs with the
token serve prints). One `zorgpad --db URL --practice A serve --port 0`.

- the matrix: every role x every route (GET and POST) answers the status the
  role rules give (docs/serve.md "Users and roles", written out in EXPECTED
  below from the rules, not from the server's answers): allowed 2xx, not
  allowed 403, the revoked token 401, a POST without a token 401; refused
  POSTs write nothing (no episode opened, no event, no task done, no user);
- the foreign practice: a therapist or practice_admin of A with ?practice=B
  (and B's therapist with ?practice=A) gets 403 on every route; an episode id
  or task id that exists only in B asked by A's therapist is 404 (GET and
  POST) with nothing of B in the answer; an id both practices use shows A's;
- nothing leaks: no refused answer names a patient or an episode the caller
  did not send; A's therapist's totals (/healthz, /api/episodes, /api/overview,
  /api/tasks, /api/letters) are A's own (`--practice A` on the CLI), not A+B;
- the coordinator reads A by default and B with ?practice=B, marks a task
  done, may not record an event;
- the GP lists only letters of episodes addressed to GP-X, reads those (200)
  and gets 403 for a letter of an episode addressed to GP-Y;
- a practice_admin adds a therapist through POST /api/users and its token
  works (on A only); it cannot add a coordinator or a user of B.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ZORGPAD = os.path.abspath(sys.argv[1])
URL = os.environ.get("ZORGPAD_PG_URL")
TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TODAY = "2026-03-01"
failures = []

LETTER_KINDS = {"gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim",
                "gp_red_flag_notice"}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


# ---- the CLI ------------------------------------------------------------------------------

def run(practice, *args, stdin=None):
    cmd = [ZORGPAD, "--db", URL, "--today", TODAY] + (["--practice", practice] if practice else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)


def ok(practice, *args, stdin=None):
    p = run(practice, *args, stdin=stdin)
    if p.returncode != 0:
        raise SystemExit(f"zorgpad --practice {practice} {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def add_user(practice, name, role, gp=None):
    args = ["user", "add", "--name", name, "--role", role] + (["--practice", practice] if practice else []) + \
           (["--gp", gp] if gp else [])
    out = ok(None, *args).splitlines()
    uid = int(out[0].split()[1])
    return uid, out[-1].strip()


def cli_tasks(practice):
    return json.loads(ok(practice, "tasks", "--json"))["tasks"]


def cli_overview(practice):
    return json.loads(ok(practice, "overview", "--json"))


def cli_users():
    return [json.loads(l) for l in ok(None, "user", "list", "--json").splitlines() if l.strip()]


def cli_show(practice, eid):
    p = run(practice, "show", eid, "--json")
    return json.loads(p.stdout) if p.returncode == 0 else None


# ---- the seed: events copied from tests/scenarios/profile1-recovers.json --------------------

def scenario_events(name):
    with open(os.path.join(TESTS, "scenarios", name + ".json")) as f:
        return json.load(f)["episodes"][0]["events"]


FULL = scenario_events("profile1-recovers")   # ends closed: gp_report_start and gp_report_close letters
TREATED = FULL[:4]                              # open, screening, measurement, stratification: in treatment,
                                                # an open gp_report_start letter and week-3 reevaluation
SESSION = {"type": "session", "at": "2026-01-12"}   # the next event of the scenario


def lines_of(eid, patient, events, gp, therapist="Fysio Roles"):
    out = []
    for ev in events:
        ev = dict(ev)
        if ev["type"] == "open":
            ev["gp"] = gp
            ev["therapist"] = therapist
        out.append({"episode": eid, "patient": patient, "event": ev})
    return out


def open_event(gp="GP-W"):
    return dict(FULL[0], gp=gp, therapist="Fysio Roles")


# episode id -> (practice, patient, events, gp)
SEED = {
    "epA-x1": ("A", "PAT-A-X1-q7", FULL, "GP-X"),
    "epA-x2": ("A", "PAT-A-X2-q7", TREATED, "GP-X"),
    "epA-y1": ("A", "PAT-A-Y1-q7", FULL, "GP-Y"),
    "ep-shared": ("A", "PAT-A-SH-q7", TREATED, "GP-Y"),
    "epB-only1": ("B", "PAT-B-1-q7", FULL, "GP-X"),
    "epB-only2": ("B", "PAT-B-2-q7", TREATED, "GP-Z"),
    "epB-only3": ("B", "PAT-B-3-q7", TREATED, "GP-Z"),
    "epB-only4": ("B", "PAT-B-4-q7", FULL, "GP-Z"),
}
SEED_B_SHARED = ("PAT-B-SH-q7", TREATED, "GP-Z")   # "ep-shared" in B: another patient under the same id

# The roles of the matrix. "local" reads without a token and writes with serve's token.
ROLES = ["ta", "pa", "tb", "co", "gp", "rv", "local", "anon"]
for r in ROLES:  # each role's own working episode (its events, its open task)
    prac = "B" if r == "tb" else "A"
    SEED[f"ep{prac}-w-{r}"] = (prac, f"PAT-{prac}-W-{r.upper()}-q7", TREATED, "GP-W")

ALL_PATIENTS = {v[1] for v in SEED.values()} | {SEED_B_SHARED[0]}


# ---- the server ---------------------------------------------------------------------------

class Server:
    def __init__(self, *args):
        cmd = [ZORGPAD, "--db", URL, "--today", TODAY, "--practice", "A", "serve", "--port", "0", *args]
        # the most talkative log: the checks that it holds no token and no patient mean something
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
                raise SystemExit("serve did not start: " + "".join(self.err))
            if line is None:
                raise SystemExit(f"serve exited ({self.proc.wait()}): {''.join(self.err)}")
            if line.startswith("zorgpad: serving "):
                self.base = line.split()[2].rstrip("/")
            elif line.startswith("zorgpad: token "):
                self.token = line.split()[2]

    def _read(self, stream, store, signal_lines):
        for line in stream:
            store.append(line)
            if signal_lines:
                self.lines.put(line.strip())
        if signal_lines:
            self.lines.put(None)

    def stop(self):
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        check(code == 0, f"serve stops cleanly on SIGTERM (exit {code})")


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


# ---- the rules, written out ------------------------------------------------------------------

GET_ROUTES = ["healthz", "me", "practices", "overview", "episodes", "episode", "events", "tasks", "letter", "letters",
              "users", "diagram", "calendar"]
POST_ROUTES = ["open", "event", "import", "done", "user_add", "user_revoke"]
PUBLIC = ["/", "/app.js", "/app.css", "/api/openapi.yaml"]

# allowed status of each route: GET 200; POST /api/episodes 201, an event 201, import 200, done 200,
# a user added 201, revoked 200
ALLOWED = dict({r: 200 for r in GET_ROUTES}, open=201, event=201, **{"import": 200}, done=200, user_add=201,
               user_revoke=200)


def expected(role, route):
    """The status the rules give (api notes "Access"/"Role rights"), never the server's answer."""
    if role == "rv":                       # a revoked token: 401 everywhere behind the token check
        return 401
    if role == "anon":                     # POST without a token: 401 (a GET without a token is the local user)
        return 401
    if role in ("ta", "tb"):               # read + write episodes of their practice, tasks done, letters; no users
        return 403 if route in ("users", "user_add", "user_revoke") else ALLOWED[route]
    if role in ("pa", "local"):            # therapist's rights and /api/users (local is a practice_admin)
        return ALLOWED[route]
    if role == "co":                       # read everything, mark tasks done, no event writes, no users
        if route in ("open", "event", "import", "users", "user_add", "user_revoke"):
            return 403
        return ALLOWED[route]
    if role == "gp":                       # only letters (of their GP code), me, practices, diagram
        return ALLOWED[route] if route in ("letters", "letter", "me", "practices", "diagram") else 403
    raise AssertionError(role)


# ---- the test ------------------------------------------------------------------------------

class World:
    pass


def seed(w):
    by_practice = {"A": [], "B": []}
    for eid, (prac, patient, events, gp) in SEED.items():
        by_practice[prac] += lines_of(eid, patient, events, gp)
    by_practice["B"] += lines_of("ep-shared", *SEED_B_SHARED)
    for prac, lines in by_practice.items():
        ok(prac, "import", "-", stdin="".join(json.dumps(l) + "\n" for l in lines))
    w.ids = {"A": {e for e, v in SEED.items() if v[0] == "A"}, "B": {e for e, v in SEED.items() if v[0] == "B"}}
    w.ids["B"].add("ep-shared")

    w.users = {}
    w.users["ta"] = add_user("A", "Therapist A", "therapist")
    w.users["pa"] = add_user("A", "Admin A", "practice_admin")
    w.users["tb"] = add_user("B", "Therapist B", "therapist")
    w.users["co"] = add_user(None, "Coordinator", "coordinator")
    w.users["gp"] = add_user(None, "Huisarts X", "gp", gp="GP-X")
    w.users["rv"] = add_user("A", "Revoked A", "therapist")
    ok(None, "user", "revoke", str(w.users["rv"][0]))
    # each role gets a user to try to revoke: of its own practice
    w.victims = {r: add_user("B" if r == "tb" else "A", f"Victim of {r}", "therapist")[0] for r in ROLES}

    w.tasks = {"A": cli_tasks("A"), "B": cli_tasks("B")}


def task_of(w, prac, eid, kind=None, status="open"):
    for t in w.tasks[prac]:
        if t["episode"] == eid and (kind is None or t["kind"] == kind) and (status is None or t["status"] == status):
            return t["id"]
    raise SystemExit(f"no {kind} task ({status}) of {eid} in {prac}")


def caller(w, role, srv):
    """(token for GET, token for POST) of a role."""
    if role == "local":
        return None, srv.token
    if role == "anon":
        return None, None
    tok = w.users[role][1]
    return tok, tok


def request_of(w, role, route):
    """(method, path, body, content type) of a route for a role: the resources of the role's own practice."""
    prac = "B" if role == "tb" else "A"
    own = f"ep{prac}-w-{role}"
    letter_ep = "epA-x1" if prac == "A" else "epB-only1"   # a GP-X episode: also the GP's
    if route == "healthz":
        return "GET", "/healthz", None, None
    if route == "me":
        return "GET", "/api/me", None, None
    if route == "practices":
        return "GET", "/api/practices", None, None
    if route == "overview":
        return "GET", "/api/overview", None, None
    if route == "episodes":
        return "GET", "/api/episodes", None, None
    if route == "episode":
        return "GET", "/api/episodes/" + own, None, None
    if route == "events":
        return "GET", f"/api/episodes/{own}/events", None, None
    if route == "tasks":
        return "GET", "/api/tasks", None, None
    if route == "letter":
        return "GET", f"/api/tasks/{task_of(w, prac, letter_ep, 'gp_report_start')}/letter", None, None
    if route == "letters":
        return "GET", "/api/letters", None, None
    if route == "users":
        return "GET", "/api/users", None, None
    if route == "diagram":
        return "GET", "/api/diagram", None, None
    if route == "calendar":
        return "GET", "/calendar.ics", None, None
    if route == "open":
        return "POST", "/api/episodes", {"episode": f"new-{role}", "patient": f"PAT-NEW-{role.upper()}-q7",
                                         "event": open_event()}, "application/json"
    if route == "event":
        return "POST", f"/api/episodes/{own}/events", SESSION, "application/json"
    if route == "import":
        line = {"episode": f"imp-{role}", "patient": f"PAT-IMP-{role.upper()}-q7", "event": open_event()}
        return "POST", "/api/import", json.dumps(line) + "\n", "application/x-ndjson"
    if route == "done":
        return "POST", f"/api/tasks/{task_of(w, prac, own, 'gp_report_start')}/done", None, None
    if route == "user_add":
        return "POST", "/api/users", {"name": f"Added by {role}", "role": "therapist"}, "application/json"
    if route == "user_revoke":
        return "POST", f"/api/users/{w.victims[role]}/revoke", None, None
    raise AssertionError(route)


def sent_text(path, body):
    return urllib.parse.unquote(path) + (json.dumps(body) if isinstance(body, (dict, list)) else (body or ""))


def no_leak(r, path, body, what, extra_ids=()):
    """A refused answer names no patient, and no episode beyond those in the request."""
    text = r.text
    for p in ALL_PATIENTS:
        check(p not in text, f"{what}: the answer ({r.status}) names patient {p}: {text[:200]}")
    sent = sent_text(path, body)
    for eid in set(SEED) | {"ep-shared"} | set(extra_ids):
        if eid in text and eid not in sent:
            check(False, f"{what}: the answer ({r.status}) names episode {eid}, which the caller did not send: {text[:200]}")


def reset_bad_tokens(w, srv):
    """A good token from the address clears its bad-token count (the revoked user's 401s would reach 429)."""
    http(srv.base, "GET", "/api/me", w.users["ta"][1])


def matrix(w, srv):
    results = {}
    for route in GET_ROUTES + POST_ROUTES:
        for role in ROLES:
            method, path, body, ctype = request_of(w, role, route)
            if role == "anon" and method == "GET":
                continue   # a GET without a token is the local user's
            get_tok, post_tok = caller(w, role, srv)
            r = http(srv.base, method, path, get_tok if method == "GET" else post_tok, body=body, ctype=ctype)
            want = expected(role, route)
            results[(role, route)] = r
            check(r.status == want, f"matrix: {role} {method} {path}: {r.status}, expected {want} ({r.text.strip()[:160]})")
            if r.status >= 400:
                j = r.json()
                check(isinstance(j, dict) and j.get("status") == r.status and isinstance(j.get("error"), str),
                      f"matrix: {role} {method} {path}: a refusal is a JSON error ({r.text[:160]})")
                no_leak(r, path, body, f"matrix: {role} {method} {path}")
            if role == "rv":
                reset_bad_tokens(w, srv)
        # the public files, for every role (they need no token; a token sent along changes nothing)
    for path in PUBLIC:
        for role in ROLES:
            tok = caller(w, role, srv)[0]
            r = http(srv.base, "GET", path, tok)
            check(r.status == 200, f"matrix: {role} GET {path} (public): {r.status}")
            if role == "rv":
                reset_bad_tokens(w, srv)
    for role in ROLES:
        print(f"  {role:5} " + " ".join(f"{route}={results[(role, route)].status}" for route in GET_ROUTES + POST_ROUTES
                                         if (role, route) in results))
    # the revoked token in every place a token may come from
    rv = w.users["rv"][1]
    for what, path, headers in (("X-Zorgpad-Token", "/api/episodes", {"X-Zorgpad-Token": rv}),
                                ("?token=", "/api/episodes?token=" + urllib.parse.quote(rv), {}),
                                ("cookie", "/api/episodes", {"Cookie": "zorgpad_token=" + rv})):
        r = http(srv.base, "GET", path, headers=headers)
        check(r.status == 401, f"the revoked token as {what}: {r.status}, expected 401")
        no_leak(r, path, None, f"the revoked token as {what}")
        reset_bad_tokens(w, srv)
    return results


def after_matrix(w, srv, results):
    """What the allowed POSTs did, and that the refused ones wrote nothing."""
    episodes_a = {e for e in all_ids(w, "A")}
    episodes_b = {e for e in all_ids(w, "B")}
    for role in ROLES:
        prac = "B" if role == "tb" else "A"
        mine, other = (episodes_b, episodes_a) if prac == "B" else (episodes_a, episodes_b)
        for route, eid in (("open", f"new-{role}"), ("import", f"imp-{role}")):
            if expected(role, route) < 300:
                check(eid in mine and eid not in other, f"{role} POST {route}: {eid} is an episode of {prac} only")
            else:
                check(eid not in mine and eid not in other, f"{role} POST {route} was refused, yet {eid} exists")
        own = f"ep{prac}-w-{role}"
        show = cli_show(prac, own)
        want_sessions = 1 if expected(role, "event") < 300 else 0
        check(show is not None and show["sessions"] == want_sessions,
              f"{role} POST event: {own} has {show and show['sessions']} session(s), expected {want_sessions}")
        tid = task_of(w, prac, own, "gp_report_start")
        status = next(t["status"] for t in cli_tasks(prac) if t["id"] == tid)
        want = "done" if expected(role, "done") < 300 else "open"
        check(status == want, f"{role} POST task done: task {tid} is {status}, expected {want}")
    users = {u["id"]: u for u in cli_users()}
    for role in ROLES:
        victim = users[w.victims[role]]
        revoked = victim["revoked_at"] is not None
        check(revoked == (expected(role, "user_revoke") < 300),
              f"{role} POST revoke: user {victim['id']} revoked_at {victim['revoked_at']}")
        added = [u for u in users.values() if u["name"] == f"Added by {role}"]
        if expected(role, "user_add") < 300:
            check(len(added) == 1 and added[0]["practice"] == "A" and added[0]["role"] == "therapist",
                  f"{role} POST /api/users added one therapist of A: {added}")
        else:
            check(not added, f"{role} POST /api/users was refused, yet it added {added}")


def all_ids(w, prac):
    """Every episode id of a practice, through the coordinator (who may read every practice)."""
    out, offset = [], 0
    while True:
        r = http(w.srv.base, "GET", q("/api/episodes", practice=prac, offset=offset, limit=100), w.users["co"][1])
        if not check(r.status == 200, f"coordinator lists {prac}: {r.status} {r.text[:200]}"):
            return set()
        j = r.json()
        out += [e["id"] for e in j["episodes"]]
        offset += 100
        if offset >= j["total"]:
            return set(out)


def foreign_practice(w, srv):
    """?practice=OTHER is 403 for a therapist and a practice_admin, on every route."""
    before_b = {e: cli_show("B", e) for e in sorted(w.ids["B"])}
    for role, other in (("ta", "B"), ("pa", "B"), ("tb", "A"), ("local", "B")):
        for route in GET_ROUTES + POST_ROUTES:
            method, path, body, ctype = request_of(w, role, route)
            sep = "&" if "?" in path else "?"
            get_tok, post_tok = caller(w, role, srv)
            r = http(srv.base, method, path + sep + "practice=" + other, get_tok if method == "GET" else post_tok,
                     body=body, ctype=ctype)
            if route in ("me", "practices"):  # about the caller, whatever practice is named
                check(r.status == 200 and other not in (r.json() or {}).get("practices", []),
                      f"{role} {method} {path}?practice={other}: {r.status}, expected 200 about the caller")
                continue
            check(r.status == 403, f"{role} {method} {path}?practice={other}: {r.status}, expected 403 ({r.text[:160]})")
            no_leak(r, path, body, f"{role} {method} {path}?practice={other}")
        # the own practice named: as without
        r = http(srv.base, "GET", q("/api/episodes", practice="B" if other == "A" else "A"), caller(w, role, srv)[0])
        check(r.status == 200, f"{role} GET /api/episodes?practice=<own>: {r.status}")
    check({e: cli_show("B", e) for e in sorted(w.ids["B"])} == before_b, "refused requests changed episodes of B")


def foreign_ids(w, srv):
    """B's episode and task ids asked by A's therapist: 404, nothing of B in the answer."""
    ta = w.users["ta"][1]
    b_letter = task_of(w, "B", "epB-only1", "gp_report_start")
    b_open = task_of(w, "B", "epB-only2", "gp_report_start")
    before = (cli_show("B", "epB-only1"), cli_show("B", "epB-only2"))
    for method, path, body in (
            ("GET", "/api/episodes/epB-only1", None),
            ("GET", "/api/episodes/epB-only2/events", None),
            ("POST", "/api/episodes/epB-only2/events", SESSION),
            ("GET", f"/api/tasks/{b_letter}/letter", None),
            ("GET", f"/api/tasks/{b_letter}/letter?format=text", None),
            ("POST", f"/api/tasks/{b_open}/done", None)):
        r = http(srv.base, method, path, ta, body=body)
        check(r.status == 404, f"ta {method} {path} (of B only): {r.status}, expected 404 ({r.text[:160]})")
        no_leak(r, path, body, f"ta {method} {path} (of B only)")
    check((cli_show("B", "epB-only1"), cli_show("B", "epB-only2")) == before, "A's therapist changed episodes of B")
    check(next(t["status"] for t in cli_tasks("B") if t["id"] == b_open) == "open",
          f"A's therapist marked B's task {b_open} done")
    for params in ({"episode": "epB-only1"}, {"search": "PAT-B"}, {"search": "epB"}, {"gp": "GP-Z"}):
        route = "/api/tasks" if "episode" in params else "/api/episodes"
        r = http(srv.base, "GET", q(route, **params), ta)
        j = r.json() or {}
        check(r.status == 200 and j.get("total") == 0,
              f"ta GET {route} {params}: {r.status} total {j.get('total')}, expected 0 (B's data)")
    r = http(srv.base, "GET", "/api/episodes/ep-shared", ta)
    check(r.status == 200 and (r.json() or {}).get("patient") == "PAT-A-SH-q7",
          f"ta GET ep-shared (an id of A and of B): A's episode ({r.status} {r.text[:120]})")
    r = http(srv.base, "GET", "/api/episodes/ep-shared", w.users["tb"][1])
    check(r.status == 200 and (r.json() or {}).get("patient") == "PAT-B-SH-q7",
          f"tb GET ep-shared: B's episode ({r.status} {r.text[:120]})")


def b_data_absent(text, what):
    for p in ALL_PATIENTS:
        if p.startswith("PAT-B-"):
            check(p not in text, f"{what}: A's therapist sees B's patient {p}")
    for e in ("epB-only1", "epB-only2", "epB-only3", "epB-only4", "epB-w-tb"):
        check(e not in text, f"{what}: A's therapist sees B's episode {e}")


def totals(w, srv):
    """A's therapist's totals are A's own (the CLI's --practice A), not A+B."""
    ta = w.users["ta"][1]
    ov_a, ov_b = cli_overview("A"), cli_overview("B")
    tasks_a, tasks_b = cli_tasks("A"), cli_tasks("B")
    check(ov_b["episodes"] > 0 and len(tasks_b) > 0, "B holds episodes and tasks (else A+B = A tests nothing)")
    r = http(srv.base, "GET", "/healthz", ta)
    check(r.status == 200 and (r.json() or {}).get("episodes") == ov_a["episodes"],
          f"ta /healthz episodes {r.text.strip()[:80]}, A has {ov_a['episodes']} (A+B {ov_a['episodes'] + ov_b['episodes']})")
    r = http(srv.base, "GET", q("/api/episodes", limit=1000), ta)
    j = r.json() or {}
    check(r.status == 200 and j.get("total") == ov_a["episodes"] and len(j.get("episodes", [])) == ov_a["episodes"],
          f"ta /api/episodes total {j.get('total')}, A has {ov_a['episodes']} (A+B {ov_a['episodes'] + ov_b['episodes']})")
    check({e["id"] for e in j.get("episodes", [])} == all_ids(w, "A"), "ta /api/episodes lists A's episodes")
    b_data_absent(r.text, "ta /api/episodes")
    r = http(srv.base, "GET", "/api/overview", ta)
    j = r.json() or {}
    check(r.status == 200 and j.get("counts") == ov_a["counts"] and j.get("episodes") == ov_a["episodes"],
          f"ta /api/overview counts {j.get('counts')} / {j.get('episodes')}, A's are {ov_a['counts']} / {ov_a['episodes']}")
    check(j == ov_a, "ta /api/overview is the CLI's `--practice A overview --json`")
    b_data_absent(r.text, "ta /api/overview")
    r = http(srv.base, "GET", q("/api/tasks", limit=1000), ta)
    j = r.json() or {}
    check(r.status == 200 and j.get("total") == len(tasks_a),
          f"ta /api/tasks total {j.get('total')}, A has {len(tasks_a)} (A+B {len(tasks_a) + len(tasks_b)})")
    check(sorted(t["id"] for t in j.get("tasks", [])) == sorted(t["id"] for t in tasks_a), "ta /api/tasks: A's task ids")
    b_data_absent(r.text, "ta /api/tasks")
    letters_a = [t for t in tasks_a if t["kind"] in LETTER_KINDS]
    r = http(srv.base, "GET", "/api/letters", ta)
    j = r.json() or {}
    check(r.status == 200 and j.get("total") == len(letters_a),
          f"ta /api/letters total {j.get('total')}, A has {len(letters_a)} letters")
    b_data_absent(r.text, "ta /api/letters")
    r = http(srv.base, "GET", "/calendar.ics", ta)
    check(r.status == 200, f"ta /calendar.ics: {r.status}")
    b_data_absent(r.text, "ta /calendar.ics")
    r = http(srv.base, "GET", "/api/practices", ta)
    check(r.status == 200 and (r.json() or {}).get("practices") == ["A"], f"ta /api/practices: {r.text[:100]}")
    r = http(srv.base, "GET", "/api/me", ta)
    j = r.json() or {}
    check(r.status == 200 and j.get("role") == "therapist" and j.get("practice") == "A" and j.get("local") is False,
          f"ta /api/me: {r.text[:160]}")


def coordinator(w, srv):
    co = w.users["co"][1]
    for params, prac in (({}, "A"), ({"practice": "B"}, "B"), ({"practice": "A"}, "A")):
        r = http(srv.base, "GET", q("/api/episodes", limit=1000, **params), co)
        j = r.json() or {}
        ov = cli_overview(prac)
        got = {e["id"] for e in j.get("episodes", [])}
        check(r.status == 200 and j.get("total") == ov["episodes"] and got == all_ids(w, prac) and
              w.ids[prac] <= got, f"coordinator /api/episodes {params}: practice {prac}'s episodes ({j.get('total')})")
        r = http(srv.base, "GET", q("/api/tasks", limit=1000, **params), co)
        j = r.json() or {}
        check(r.status == 200 and sorted(t["id"] for t in j.get("tasks", [])) == sorted(t["id"] for t in cli_tasks(prac)),
              f"coordinator /api/tasks {params}: practice {prac}'s tasks")
        r = http(srv.base, "GET", q("/api/me", **params), co)
        # /api/me is about the caller, not the practice named: the served default, and not fixed
        check(r.status == 200 and (r.json() or {}).get("practice") == "A" and (r.json() or {}).get("practice_fixed") is False,
              f"coordinator /api/me {params}: {r.text[:120]}")
    r = http(srv.base, "GET", q("/api/episodes/epB-only1", practice="B"), co)
    check(r.status == 200 and (r.json() or {}).get("patient") == "PAT-B-1-q7", f"coordinator reads B's episode: {r.status}")
    r = http(srv.base, "GET", "/api/episodes/epB-only1", co)
    check(r.status == 404, f"coordinator without ?practice= works on A: B's episode 404 ({r.status})")
    r = http(srv.base, "GET", "/api/practices", co)
    check(r.status == 200 and {"A", "B"} <= set((r.json() or {}).get("practices", [])), f"coordinator /api/practices: {r.text[:120]}")
    # no event writes, in B neither; a task done in B
    for path, body in (("/api/episodes/epB-only2/events?practice=B", SESSION),
                       ("/api/episodes/epA-x2/events", SESSION)):
        r = http(srv.base, "POST", path, co, body=body)
        check(r.status == 403, f"coordinator POST {path}: {r.status}, expected 403")
        no_leak(r, path, body, f"coordinator POST {path}")
    check(cli_show("B", "epB-only2")["sessions"] == 0 and cli_show("A", "epA-x2")["sessions"] == 0,
          "a coordinator's refused event was recorded")
    r = http(srv.base, "POST", "/api/import?practice=B", co,
             body=json.dumps({"episode": "imp-co-b", "patient": "P", "event": open_event()}) + "\n",
             ctype="application/x-ndjson")
    check(r.status == 403 and "imp-co-b" not in all_ids(w, "B"), f"coordinator POST /api/import?practice=B: {r.status}")
    tid = task_of(w, "B", "epB-only3", "gp_report_start")
    r = http(srv.base, "POST", f"/api/tasks/{tid}/done?practice=B", co)
    check(r.status == 200, f"coordinator POST /api/tasks/{tid}/done?practice=B: {r.status} {r.text[:120]}")
    check(next(t["status"] for t in cli_tasks("B") if t["id"] == tid) == "done", f"B's task {tid} done by the coordinator")


def gp_letters(w, srv):
    gp = w.users["gp"][1]
    for params, prac, x_eps in (({}, "A", {"epA-x1", "epA-x2"}), ({"practice": "B"}, "B", {"epB-only1"})):
        want = sorted(t["id"] for t in cli_tasks(prac) if t["episode"] in x_eps and t["kind"] in LETTER_KINDS)
        r = http(srv.base, "GET", q("/api/letters", **params), gp)
        j = r.json() or {}
        got = j.get("letters", [])
        check(r.status == 200 and sorted(l["id"] for l in got) == want and j.get("total") == len(want) and want,
              f"gp /api/letters {params}: letters of GP-X episodes of {prac} only: {[l.get('episode') for l in got]}, "
              f"expected tasks {want}")
        check(all(l["episode"] in x_eps for l in got), f"gp /api/letters {params}: a letter of another GP's episode")
        for tid in want:
            for fmt in ("html", "text"):
                path = q(f"/api/tasks/{tid}/letter", format=fmt, **params)
                r = http(srv.base, "GET", path, gp)
                check(r.status == 200 and len(r.body) > 100, f"gp GET {path} (GP-X): {r.status}")
    y_tasks = [t["id"] for t in cli_tasks("A") if t["episode"] == "epA-y1" and t["kind"] in LETTER_KINDS]
    z_tasks = [t["id"] for t in cli_tasks("B") if t["episode"] == "epB-only4" and t["kind"] in LETTER_KINDS]
    check(y_tasks and z_tasks, "episodes of GP-Y / GP-Z have letters")
    for tid, params in [(t, {}) for t in y_tasks] + [(t, {"practice": "B"}) for t in z_tasks]:
        path = q(f"/api/tasks/{tid}/letter", **params)
        r = http(srv.base, "GET", path, gp)
        check(r.status == 403, f"gp GET {path} (another GP's episode): {r.status}, expected 403")
        no_leak(r, path, None, f"gp GET {path}")
    # B's letter of GP-X without ?practice=: the request works on A, where that task is not
    b_tid = task_of(w, "B", "epB-only1", "gp_report_start")
    r = http(srv.base, "GET", f"/api/tasks/{b_tid}/letter", gp)
    check(r.status == 404, f"gp GET B's letter without ?practice=B: {r.status}, expected 404 (A has no such task)")
    no_leak(r, f"/api/tasks/{b_tid}/letter", None, "gp GET B's letter without ?practice=B")
    for params in ({}, {"practice": "B"}):   # the episode count of any practice: not one of a GP's routes
        r = http(srv.base, "GET", q("/healthz", **params), gp)
        check(r.status == 403, f"gp GET /healthz {params}: {r.status}, expected 403 ({r.text.strip()[:80]})")
    r = http(srv.base, "GET", "/api/me", gp)
    j = r.json() or {}
    check(r.status == 200 and j.get("role") == "gp" and j.get("gp") == "GP-X", f"gp /api/me: {r.text[:160]}")
    for path in ("/api/episodes/epA-x1", "/api/episodes/epA-x1/events", q("/api/tasks", episode="epA-x1"),
                 q("/api/episodes", gp="GP-X"), q("/api/overview", gp="GP-X")):
        r = http(srv.base, "GET", path, gp)
        check(r.status == 403, f"gp GET {path} (even of their own episode): {r.status}, expected 403")
        no_leak(r, path, None, f"gp GET {path}")


def admin_users(w, srv):
    pa = w.users["pa"][1]
    r = http(srv.base, "POST", "/api/users", pa, body={"name": "New Therapist A", "role": "therapist"})
    j = r.json() or {}
    check(r.status == 201 and isinstance(j.get("token"), str) and j.get("user", {}).get("practice") == "A",
          f"practice_admin POST /api/users: {r.status} {r.text[:200]}")
    token = j.get("token") or ""
    r = http(srv.base, "GET", "/api/me", token)
    me = r.json() or {}
    check(r.status == 200 and me.get("role") == "therapist" and me.get("practice") == "A" and
          "New Therapist A" in me.get("user", ""), f"the new therapist's token works: {r.status} {r.text[:160]}")
    r = http(srv.base, "GET", q("/api/episodes", limit=1000), token)
    check(r.status == 200 and (r.json() or {}).get("total") == cli_overview("A")["episodes"],
          f"the new therapist reads A's episodes: {r.status}")
    b_data_absent(r.text, "the new therapist's /api/episodes")
    r = http(srv.base, "GET", q("/api/episodes", practice="B"), token)
    check(r.status == 403, f"the new therapist with ?practice=B: {r.status}")
    r = http(srv.base, "POST", "/api/episodes/epA-x2/events", token, body=SESSION)
    check(r.status == 201, f"the new therapist records an event in A: {r.status} {r.text[:160]}")
    r = http(srv.base, "POST", "/api/users", token, body={"name": "Therapist's friend", "role": "therapist"})
    check(r.status == 403, f"the new therapist POST /api/users: {r.status}, expected 403")
    # the admin's own practice only; no coordinator, no GP
    before = cli_users()
    for body in ({"name": "Sneaky B", "role": "therapist", "practice": "B"},
                 {"name": "Sneaky coordinator", "role": "coordinator"},
                 {"name": "Sneaky GP", "role": "gp"}):
        r = http(srv.base, "POST", "/api/users", pa, body=body)
        check(r.status in (400, 403), f"practice_admin POST /api/users {body}: {r.status}, expected 403 (or 400)")
    check(cli_users() == before, "a refused POST /api/users added a user")
    r = http(srv.base, "GET", "/api/users", pa)
    users = (r.json() or {}).get("users", [])
    check(r.status == 200 and users and all(u["practice"] == "A" for u in users),
          f"practice_admin GET /api/users: A's users only ({[(u.get('name'), u.get('practice')) for u in users]})")
    check(not any(u["name"] == "Therapist B" for u in users), "practice_admin of A sees B's therapist")
    # B's user cannot be revoked by A's admin
    r = http(srv.base, "POST", f"/api/users/{w.users['tb'][0]}/revoke", pa)
    check(r.status in (403, 404), f"practice_admin of A revokes B's therapist: {r.status}, expected 403/404")
    check(next(u for u in cli_users() if u["id"] == w.users["tb"][0])["revoked_at"] is None, "A's admin revoked B's therapist")
    r = http(srv.base, "GET", "/api/me", w.users["tb"][1])
    check(r.status == 200, f"B's therapist still works: {r.status}")


def main():
    if not URL:
        print("ZORGPAD_PG_URL not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    w = World()
    seed(w)
    print(f"seed: {time.monotonic() - t0:.1f} s")
    srv = Server()
    w.srv = srv
    try:
        for name, section in (("totals", lambda: totals(w, srv)),
                              ("foreign ids", lambda: foreign_ids(w, srv)),
                              ("foreign practice", lambda: foreign_practice(w, srv)),
                              ("matrix", None),
                              ("totals again", lambda: totals(w, srv)),
                              ("coordinator", lambda: coordinator(w, srv)),
                              ("gp letters", lambda: gp_letters(w, srv)),
                              ("users", lambda: admin_users(w, srv))):
            t = time.monotonic()
            if section is None:
                results = matrix(w, srv)
                after_matrix(w, srv, results)
            else:
                section()
            print(f"{name}: {time.monotonic() - t:.1f} s")
        # the revoked token: revoked through the API too
        victim = w.victims["pa"]
        r = http(srv.base, "POST", f"/api/users/{victim}/revoke", w.users["pa"][1])
        check(r.status == 200 and (r.json() or {}).get("revoked") is False, f"revoking a revoked user again: {r.text[:120]}")
    finally:
        srv.stop()
    # the audit log of each practice: A's therapist never worked on B, B's never on A
    ta_name, tb_name = f"user:Therapist A#{w.users['ta'][0]}", f"user:Therapist B#{w.users['tb'][0]}"
    audit = {p: [json.loads(l) for l in ok(p, "audit", "--json", "--limit", "1000000").splitlines() if l.strip()]
             for p in ("A", "B")}
    check(any(r["user"] == ta_name for r in audit["A"]) and any(r["user"] == tb_name for r in audit["B"]),
          "each therapist's accesses are in their practice's audit log")
    check(not any(r["user"] == ta_name for r in audit["B"]), "B's audit log shows A's therapist")
    check(not any(r["user"] == tb_name for r in audit["A"]), "A's audit log shows B's therapist")
    check(not any(set(r["episodes"]) & {"epB-only1", "epB-only2", "epB-only3", "epB-only4"} for r in audit["A"]),
          "A's audit log names episodes of B only")
    log = "".join(srv.out + srv.err)
    check(" /api/episodes " in log, "serve logs its requests with ZORGPAD_LOG=debug (else the log checks test nothing)")
    for role, (uid, tok) in w.users.items():
        check(tok not in log and tok.split("_", 2)[2] not in log, f"serve's log shows {role}'s token")
    for p in ALL_PATIENTS:
        check(p not in log, f"serve's log shows patient {p}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
