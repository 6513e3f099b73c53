"""Shared helpers of the tests of `zorgpad serve` (tests/cli/web_*.py, tests/pg/pg_web_api.py).

Not a test itself: tests/cli/*.py and tests/pg/*.py are globbed as tests, so
what they share lives here. A test imports it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import zorgpad_web as web

What is here:

- check(cond, what) / fail(what): a failed check is printed ("FAIL: …" on
  stderr) and remembered in `failures`; the test goes on and finish() exits 1
  at the end. abort(what) stops at once (setup that cannot go on).
- run() / must(): the CLI on a database (a SQLite path or a PostgreSQL URL).
- add_user(): `zorgpad user add`, returns (id, token).
- Server: `zorgpad serve --port 0` with extra args and env; waits for the
  "zorgpad: serving URL" line, keeps the printed local token; stop() sends
  SIGTERM and checks exit 0.
- http(): one request with urllib; a Reply (status, headers, body, text,
  json). Every exchange is appended to the file named by $ZORGPAD_EXCHANGES
  (or set_exchanges()), one JSON line each (the format of
  tests/openapi/check.mjs).
- api_suite(backend): the write API suite, the same checks on SQLite
  (tests/cli/web_write_api.py) and PostgreSQL (tests/pg/pg_web_api.py).
- openapi_check(): `node tests/openapi/check.mjs docs/openapi.yaml EXCHANGES`.
"""
import copy
import glob
import json
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

TESTS = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TESTS = os.path.abspath(TESTS)
SOURCE = os.path.dirname(TESTS)

# ---- reporting ---------------------------------------------------------------------------------

failures = []


def check(cond, what):
    """A check: when cond is false, prints 'FAIL: what' and remembers it; returns cond."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)
    return cond


def fail(what):
    """A failed check (as check(False, what))."""
    return check(False, what)


def abort(what):
    """Setup that cannot go on: prints and exits 1 at once."""
    print("FAIL:", what, file=sys.stderr, flush=True)
    if failures:
        print(f"({len(failures)} check(s) had failed before)", file=sys.stderr)
    raise SystemExit(1)


def note(name, text):
    print(f"{name}: {text}", flush=True)


def finish(name, t0=None):
    """Exits: 1 when a check failed, else 0 with 'NAME: ok'."""
    took = f" ({time.monotonic() - t0:.1f} s)" if t0 is not None else ""
    if failures:
        print(f"{name}: {len(failures)} check(s) failed{took}", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: ok{took}")
    sys.exit(0)


def clip(text, n=300):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= n else text[:n] + "…"


# ---- the CLI -----------------------------------------------------------------------------------

def run(binary, db, *args, practice=None, today=None, stdin=None, env=None, timeout=120):
    """zorgpad --db DB [--practice P] [--today D] ARGS…; stdout and stderr decoded as UTF-8 as they are."""
    cmd = [binary, "--db", db] + (["--practice", practice] if practice else []) + \
          (["--today", today] if today else []) + list(args)
    r = subprocess.run(cmd, input=stdin.encode() if isinstance(stdin, str) else stdin, capture_output=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8", "replace"),
                                       r.stderr.decode("utf-8", "replace"))


def must(binary, db, *args, **kw):
    r = run(binary, db, *args, **kw)
    if r.returncode != 0:
        abort(f"setup: zorgpad {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def add_user(binary, db, name, role, practice=None, gp=None):
    """`zorgpad user add`; returns (id, token). practice: the user's (therapist, practice_admin; a gp's optional)."""
    args = ["user", "add", "--name", name, "--role", role] + (["--practice", practice] if practice else []) + \
           (["--gp", gp] if gp else [])
    out = must(binary, db, *args).splitlines()
    if len(out) != 2 or not out[0].startswith("user ") or " added; token" not in out[0]:
        abort(f"setup: zorgpad {' '.join(args)} printed {out!r}")
    uid = int(out[0].split()[1])
    token = out[1].strip()
    check(token.startswith(f"zp_{uid}_") and len(token) == len(f"zp_{uid}_") + 43,
          f"user add: the token is zp_<id>_<43 characters> ({token!r})")
    return uid, token


# ---- a server process --------------------------------------------------------------------------

def is_loopback(host):
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Server:
    """`zorgpad --db DB [--practice P] [--today D] serve --port 0 ARGS…` (or the --port given in args).

    base: "http://HOST:PORT" as printed; port; token: the printed local token (None when serve prints none:
    off loopback, or --behind-proxy). expect_start=False: the process is started and left alone
    (finished() waits for its exit)."""

    def __init__(self, binary, db, *args, practice=None, today=None, env=None, expect_start=True, timeout=30):
        args = list(args)
        if "--port" not in args:
            args = ["--port", "0"] + args
        cmd = [binary, "--db", db] + (["--practice", practice] if practice else []) + \
              (["--today", today] if today else []) + ["serve"] + args
        self.cmd = cmd
        bind = args[args.index("--bind") + 1] if "--bind" in args else "127.0.0.1"
        self.expect_token = is_loopback(bind) and "--behind-proxy" not in args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})))
        self.lines = queue.Queue()
        self.stderr_lines = []
        self.stdout_lines = []
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()
        self.token = None
        self.base = None
        self.port = None
        self.stopped = False
        if not expect_start:
            return
        deadline = time.time() + timeout
        while self.base is None or (self.expect_token and self.token is None):
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                self.proc.kill()
                abort(f"serve did not start within {timeout} s: {' '.join(cmd)}; stderr: {self.stderr_text()[-500:]}")
            if line is None:
                code = self.proc.wait()
                self._err.join(5)
                abort(f"serve exited ({code}) at start: {' '.join(cmd)}; stderr: {self.stderr_text()[-500:]}")
            if line.startswith("zorgpad: serving "):
                self.base = line.split()[2].rstrip("/")
                self.port = urllib.parse.urlsplit(self.base).port
            elif line.startswith("zorgpad: token "):
                self.token = line.split()[2]

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line.rstrip("\n"))
            self.lines.put(line.strip())
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))
            if len(self.stderr_lines) > 2000:
                del self.stderr_lines[:1000]

    def stderr_text(self):
        return "\n".join(self.stderr_lines)

    def finished(self, timeout=30):
        """For expect_start=False: waits for the exit; returns (code, stdout, stderr)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self._out.join(5)
        self._err.join(5)
        self.stopped = True
        return code, "\n".join(self.stdout_lines), self.stderr_text()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, what="serve"):
        """SIGTERM; checks that it exits 0 within 15 s. Returns the exit code."""
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self._err.join(5)
        check(code == 0, f"{what} stops cleanly on SIGTERM (exit {code}); stderr: {self.stderr_text()[-400:]}")
        return code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---- HTTP --------------------------------------------------------------------------------------

_exchanges = {"path": os.environ.get("ZORGPAD_EXCHANGES") or None}
_exchanges_lock = threading.Lock()


def set_exchanges(path):
    """Where http() appends its exchanges from now on (None: nowhere)."""
    _exchanges["path"] = path


def exchanges_file():
    return _exchanges["path"]


class Reply:
    """An answer: status (0 when the connection failed: see error), headers, body (bytes), text, json."""

    def __init__(self, status, headers, body, error=None, method="", path=""):
        self.status, self.headers, self.body, self.error = status, headers, body, error
        self.method, self.path = method, path
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    @property
    def content_type(self):
        return (self.header("Content-Type") or "") if self.headers is not None else ""

    def __repr__(self):
        where = f"{self.method} {clip(self.path, 120)}"
        if self.status == 0:
            return f"{where} -> no answer ({self.error})"
        return f"{where} -> {self.status} {clip(self.text.strip(), 300)}"


def _record(method, path, status, req_type, req_body, reply):
    target = _exchanges["path"]
    if not target:
        return
    split = urllib.parse.urlsplit(path)
    query = {}
    for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True):
        query.setdefault(k, v)
    if req_body is None:
        body = None
    else:
        text = req_body.decode("utf-8", "replace") if isinstance(req_body, bytes) else req_body
        body = text
        if (req_type or "").startswith("application/json"):
            try:
                body = json.loads(text)
            except ValueError:
                body = text
    resp_type = reply.content_type or None
    resp_body = reply.json if resp_type and resp_type.startswith("application/json") else None
    line = {"method": method, "path": split.path, "query": query, "status": status,
            "request_content_type": req_type, "request_body": body,
            "response_content_type": resp_type, "response_body": resp_body}
    with _exchanges_lock, open(target, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def http(base, method, path, token=None, headers=None, body=None, json_body=None, ndjson=None, record=True,
         timeout=60, context=None):
    """One request. path may carry a query ('?a=b'). token: 'Authorization: Bearer TOKEN'. json_body: sent
    as JSON (Content-Type application/json); ndjson: a list of objects or a string (application/x-ndjson);
    body: bytes or str as they are, with the Content-Type given in headers (if any). The exchange is
    appended to the exchanges file (unless record=False)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        h.setdefault("Content-Type", "application/json")
    elif ndjson is not None:
        data = (ndjson if isinstance(ndjson, str) else "".join(json.dumps(x) + "\n" for x in ndjson)).encode()
        h.setdefault("Content-Type", "application/x-ndjson")
    elif body is not None:
        data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(base + path, method=method, headers=h, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            reply = Reply(r.status, r.headers, r.read(), method=method, path=path)
    except urllib.error.HTTPError as e:
        reply = Reply(e.code, e.headers, e.read(), method=method, path=path)
    except (urllib.error.URLError, ConnectionError, OSError, http_client_errors()) as e:
        reply = Reply(0, None, b"", error=f"{type(e).__name__}: {e}", method=method, path=path)
    if record and reply.status:
        req_type = next((v for k, v in h.items() if k.lower() == "content-type"), None)
        _record(method, path, reply.status, req_type, data, reply)
    return reply


def http_client_errors():
    import http.client
    return http.client.HTTPException


def q(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


def quote(episode):
    return urllib.parse.quote(episode, safe="")


def raw_request(base, data, timeout=10):
    """Sends bytes as they are; returns (status or 0, headers text, body bytes, seconds). Reads until the
    server closes or the timeout (then status 0 when nothing came)."""
    u = urllib.parse.urlsplit(base)
    t0 = time.monotonic()
    raw = b""
    try:
        with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
            s.sendall(data)
            s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
                head, sep, rest = raw.partition(b"\r\n\r\n")
                if sep:
                    length = next((int(l.split(b":", 1)[1]) for l in head.split(b"\r\n")
                                   if l.lower().startswith(b"content-length:")), None)
                    if length is not None and len(rest) >= length:
                        break
    except (socket.timeout, OSError):
        pass
    took = time.monotonic() - t0
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ") if lines and lines[0] else []
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, b"\r\n".join(lines[1:]).decode("latin-1"), rest, took


def is_error(r, status, what):
    """r is one JSON error object {"error": one line, "status": status} with that HTTP status."""
    j = r.json
    good = (r.status == status and isinstance(j, dict) and set(j) == {"error", "status"} and j["status"] == status
            and isinstance(j["error"], str) and j["error"] and "\n" not in j["error"]
            and r.content_type.startswith("application/json"))
    return check(good, f"{what}: one JSON error object with status {status}; got {r!r}")


def unverified_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---- scenarios ---------------------------------------------------------------------------------

def share(items):
    """The share of `items` this run takes: all, or with ZORGPAD_API_SHARE=k/n every n-th from the k-th.
    The sanitizer build in CI gives the SQLite and PostgreSQL runs a half each (tests/CMakeLists.txt), so that
    every scenario goes through the API once per run; the optimised build runs all of them on both."""
    k, _, n = os.environ.get("ZORGPAD_API_SHARE", "0/1").partition("/")
    return items[int(k)::int(n)]


def scenarios(valid):
    """[(stem, scenario)] of tests/scenarios: valid=True those whose expected outcome is not an error,
    valid=False the refused ones whose episodes and events are lists of objects (JSON that parses)."""
    out = []
    for path in sorted(glob.glob(os.path.join(TESTS, "scenarios", "*.json"))):
        if path.endswith(".expected.json"):
            continue
        with open(path[:-5] + ".expected.json") as f:
            expected = json.load(f)
        if ("error" in expected) == valid:
            continue
        try:
            with open(path) as f:
                scenario = json.load(f)
        except ValueError:
            continue
        eps = scenario.get("episodes") if isinstance(scenario, dict) else None
        if not isinstance(eps, list) or not all(isinstance(e, dict) and isinstance(e.get("events"), list) for e in eps):
            continue
        out.append((os.path.basename(path)[:-5], scenario, expected))
    return out


# ---- the API suite -----------------------------------------------------------------------------

TODAY = "2027-03-01"
GP_CODES = ["GP-Jansen", "GP-de-Vries"]
THERAPISTS = ["Fysio Anna", "Fysio Bram"]


class Backend:
    """What the suite runs on. name: "sqlite" or "postgresql"; db: a SQLite path or a PostgreSQL URL;
    practice: the practice served and seeded (PostgreSQL; None on SQLite, where users still name one:
    user_practice); foreign: another practice of the same database (PostgreSQL), seeded a little by its
    own therapist;
    tmp: a temporary directory. dump(episodes): the rows of those episodes and every table's row count,
    outside the audit log, as text (None: not compared)."""

    def __init__(self, name, binary, db, tmp, practice=None, foreign=None, user_practice=None, dump=None):
        self.name, self.binary, self.db, self.tmp = name, binary, db, tmp
        self.practice, self.foreign = practice, foreign
        self.user_practice = user_practice or practice or "main"
        self.dump = dump
        self.multi = practice is not None

    def cli(self, *args, practice=None, stdin=None, today=TODAY):
        return run(self.binary, self.db, *args, practice=practice or self.practice, today=today, stdin=stdin)


def sqlite_dump(path, episodes=()):
    """What a write could change, as text: every table's row count and largest rowid (the audit log's
    left out: a refused write adds its row there), the rows of the given episodes in every table that
    names an episode, and the small tables (episode_counts, ticks, meta, users) whole. Read-only, beside a
    running server."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = []
        marks = ",".join("?" * len(episodes))
        for t in tables:
            if t.startswith("audit") or t.startswith("sqlite_"):
                continue
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            rowid = "max(rowid)" if t != "episode_counts" else "NULL"
            counts = con.execute(f'SELECT count(*), {rowid} FROM "{t}"').fetchone()
            out.append(f"{t}: {counts}")
            if t in ("episode_counts", "ticks", "meta", "users"):
                rows = con.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2').fetchall()
            elif t == "episodes" and episodes:
                rows = con.execute(f"SELECT * FROM episodes WHERE id IN ({marks}) ORDER BY id", list(episodes)).fetchall()
            elif "episode" in cols and episodes:
                rows = con.execute(f'SELECT * FROM "{t}" WHERE episode IN ({marks}) ORDER BY 1, 2', list(episodes)).fetchall()
            else:
                rows = []
            out += [f"{t}|{row!r}" for row in rows]
        return "\n".join(out)
    finally:
        con.close()


def _one_line(stderr):
    lines = stderr.splitlines()
    return lines[0] if len(lines) == 1 else None


class ApiSuite:
    """The write API checks (run()), over one backend. See tests/cli/web_write_api.py for the list."""

    def __init__(self, backend):
        self.b = backend
        self.srv = None
        self.rejected = {"422": 0, "412": 0}  # refused writes answered, to be found in the audit log
        self.seeded = {}                       # episode id -> [(body without id, id or None)] as recorded
        self.patients = {}
        self.lines_all = []                    # every seeded NDJSON line (the twin database's input)
        self.timings = []

    # -- helpers --

    def h(self, method, path, token="T", **kw):
        """A request as the therapist (token "T"), another user (a token), or no token (None)."""
        tok = {"T": self.t_ther, "A": self.t_admin, "C": self.t_coord, "G": self.t_gp}.get(token, token) \
            if token else None
        r = http(self.srv.base, method, path, token=tok, **kw)
        if r.status in (412, 422) and method == "POST" and tok == self.t_ther:
            if path.startswith("/api/episodes") or path.startswith("/api/import"):
                self.rejected[str(r.status)] += 1
        return r

    def total(self, token="T"):
        r = self.h("GET", "/api/episodes?limit=1", token=token)
        return r.json["total"] if r.status == 200 and isinstance(r.json, dict) else None

    def events(self, eid, token="T"):
        r = self.h("GET", f"/api/episodes/{quote(eid)}/events", token=token)
        if r.status == 404:
            return None
        if not check(r.status == 200 and isinstance(r.json, dict), f"GET events of {eid}: {r!r}"):
            return None
        return r.json["events"]

    def snapshot(self, *eids):
        return {"total": self.total(), "events": {e: self.events(e) for e in eids},
                "dump": self.b.dump(eids) if self.b.dump else None}

    def unchanged(self, before, what):
        after = self.snapshot(*before["events"])
        check(after["total"] == before["total"], f"{what}: GET /api/episodes total changed "
                                                 f"({before['total']} -> {after['total']})")
        for e, evs in before["events"].items():
            check(after["events"][e] == evs, f"{what}: the events of {e} changed "
                                             f"({len(evs or [])} -> {len(after['events'][e] or [])})")
        if before["dump"] is not None:
            check(after["dump"] == before["dump"], f"{what}: the database ({self.b.name}) changed: "
                                                   f"{clip(diff_text(before['dump'], after['dump']), 600)}")

    def refused(self, r, status, what, before, eid=None, ev=None):
        """r is the one JSON error `status` and nothing was written; when the server recorded the event
        after all (a failed check), the model follows, so that later checks do not fail for it too.
        Returns the snapshot to compare with next."""
        is_error(r, status, what)
        if r.status in (200, 201) and eid is not None and isinstance(r.json, dict) and "recorded" in r.json:
            if not r.json["recorded"].get("duplicate"):
                self.expect_log(eid, ev)
            return self.snapshot(*before["events"])
        self.unchanged(before, what)
        return before

    def still_answers(self, what):
        r = self.h("GET", "/healthz", token=None)
        check(r.status == 200 and isinstance(r.json, dict) and r.json.get("status") == "ok",
              f"after {what}: the server still answers GET /healthz ({r!r})")
        check(self.srv.alive(), f"after {what}: serve is still running")

    def section(self, name, fn):
        """Runs one part of the suite; an exception in it (an answer not of the expected shape) is a failed
        check, and the suite goes on with the next part."""
        t = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported, then the next section
            import traceback
            traceback.print_exc()
            fail(f"{name}: stopped by {type(e).__name__}: {e}")
        self.timings.append((name, time.monotonic() - t))

    # -- the run --

    def run(self):
        b = self.b
        t0 = time.monotonic()
        self.t_coord_id, self.t_coord = add_user(b.binary, b.db, "Coordinator Web", "coordinator")
        self.ther_id, self.t_ther = add_user(b.binary, b.db, "Fysio Web", "therapist", practice=b.user_practice)
        self.admin_id, self.t_admin = add_user(b.binary, b.db, "Admin Web", "practice_admin", practice=b.user_practice)
        self.gp_id, self.t_gp = add_user(b.binary, b.db, "Huisarts Jansen", "gp", gp=GP_CODES[0])
        if b.foreign:
            self.foreign_id, self.t_foreign = add_user(b.binary, b.db, "Fysio Elders", "therapist", practice=b.foreign)
        with open(os.path.join(SOURCE, "docs", "openapi.yaml"), encoding="utf-8") as f:
            self.doc_at_start = f.read()
        self.srv = Server(b.binary, b.db, practice=b.practice, today=TODAY)
        try:
            self.section("seed", self.seed)
            self.section("seed: the API's episodes are the CLI's", self.twin)
            self.section("routes", self.routes)
            self.section("roles", self.roles)
            self.section("exactly once", self.idempotency)
            self.section("If-Match", self.if_match)
            self.section("refused events", self.refused_events)
            self.section("import errors", self.import_errors)
            self.section("bad input", self.bad_input)
            if b.multi:
                self.section("practices", self.practices)
            self.section("users", self.users)
            self.section("audit", self.audit)
            self.still_answers("the suite")
        finally:
            self.srv.stop()
        for name, secs in self.timings:
            note(f"api suite ({b.name})", f"{name}: {secs:.1f} s")
        note(f"api suite ({b.name})", f"{time.monotonic() - t0:.1f} s in all")

    # -- seeding through the write API --

    def prepare(self, stem, scenario, prefix):
        """The scenario's episodes as [(episode id, patient, [events])]: ids, patients and event ids
        taken into a namespace of their own; open events get a therapist and GP when they name none."""
        out = []
        for i, ep in enumerate(scenario["episodes"]):
            eid = f"{prefix}{stem[:60]}.{ep.get('id', i)}"
            patient = f"{ep.get('patient', 'P')}@{stem[:40]}"
            events = []
            for ev in ep["events"]:
                ev = copy.deepcopy(ev)
                if isinstance(ev, dict):
                    if isinstance(ev.get("id"), str):
                        ev["id"] = f"{stem[:60]}.{ev['id']}"
                    if ev.get("type") == "open" and prefix == "":
                        n = len(self.patients)
                        ev.setdefault("therapist", THERAPISTS[n % 2])
                        ev.setdefault("gp", GP_CODES[n % 2])
                events.append(ev)
            out.append((eid, patient, events))
        return out

    def seed(self):
        valid = scenarios(valid=True)
        check(len(valid) > 100, f"the valid scenarios of tests/scenarios ({len(valid)})")
        valid = share(valid)
        by_api, by_import = valid[0::2], valid[1::2]
        n_events = 0
        for k, (stem, scenario, _) in enumerate(by_api):
            for eid, patient, events in self.prepare(stem, scenario, ""):
                self.patients[eid] = patient
                n_events += len(events)
                self.seed_by_events(eid, patient, events, k)
        # the other half in imports of a few scenarios each, batches of 1-50 lines
        group, lines_sent = [], 0
        for k, (stem, scenario, _) in enumerate(by_import):
            for eid, patient, events in self.prepare(stem, scenario, ""):
                self.patients[eid] = patient
                group += [{"episode": eid, "patient": patient, "event": ev} for ev in events]
            if len(group) >= 40 or k == len(by_import) - 1:
                self.import_lines(group, batch=[None, 1, 7, 50][k % 4])
                self.lines_all += group
                lines_sent += len(group)
                group = []
        note(f"api suite ({self.b.name})", f"seeded {len(self.seeded)} episodes: {n_events} events one request "
                                           f"each, {lines_sent} lines in imports")
        r = self.h("GET", "/api/episodes?limit=1")
        check(r.status == 200 and r.json["total"] == len(self.seeded),
              f"GET /api/episodes: total is the {len(self.seeded)} episodes seeded ({r!r})")
        # every episode's log is its scenario's events, each once, in order (the bodies as stored are
        # compared with the CLI's in twin())
        for eid, want in self.seeded.items():
            evs = self.events(eid)
            if evs is None:
                fail(f"seeded episode {eid}: no events")
                continue
            got = [(e["type"], e["at"], e["id"]) for e in evs]
            want = [(b.get("type"), b.get("at"), i) for b, i in want]
            check(got == want, f"seeded episode {eid}: GET …/events are the scenario's events, each once "
                               f"(type, at, id: {clip(got, 300)} vs {clip(want, 300)})")
            check([e["seq"] for e in evs] == list(range(1, len(evs) + 1)) and
                  all(e["event"] == e["seq"] - 1 and isinstance(e["recorded_at"], int) and isinstance(e["body"], dict)
                      for e in evs), f"{eid}: seq 1..n, event = seq - 1, recorded_at, body")

    def expect_log(self, eid, ev):
        """What the log of eid holds after ev: (index of ev, duplicate?)."""
        log = self.seeded.setdefault(eid, [])
        evid = ev.get("id") if isinstance(ev, dict) else None
        if evid is not None:
            for i, (_, known) in enumerate(log):
                if known == evid:
                    return i, True
        log.append(({k: v for k, v in ev.items() if k != "id"}, evid))
        return len(log) - 1, False

    def seed_by_events(self, eid, patient, events, k):
        first = events[0]
        hdr = {}
        if "id" not in first and k % 2 == 0:
            hdr["Idempotency-Key"] = f"open.{eid}"[:100]
        body = {"episode": eid, "patient": patient, "event": first}
        r = self.h("POST", "/api/episodes", json_body=body, headers=hdr)
        ev = dict(first, id=hdr["Idempotency-Key"]) if hdr else first
        self.lines_all.append({"episode": eid, "patient": patient, "event": ev})  # the CLI's twin: key as id
        idx, dup = self.expect_log(eid, ev)
        self.check_recorded(r, eid, idx, dup, "POST /api/episodes")
        if check(r.status == 201, f"POST /api/episodes {eid}: 201 ({r!r})"):
            check(r.header("Location") == f"/api/episodes/{eid}" and r.header("ETag") == '"1"',
                  f"POST /api/episodes {eid}: Location and ETag \"1\" ({r.header('Location')}, {r.header('ETag')})")
            check(r.json["episode"]["id"] == eid and r.json["episode"]["patient"] == patient,
                  f"POST /api/episodes {eid}: the episode view, with its id and patient")
        for n, ev in enumerate(events[1:], start=1):
            hdr = {}
            mode = (k + n) % 3
            if mode == 0 and "id" not in ev:
                hdr["Idempotency-Key"] = f"{eid}#{n}"[-100:]
            elif mode == 1:
                hdr["If-Match"] = f'"{len(self.seeded[eid])}"' if n % 2 else str(len(self.seeded[eid]))
            r = self.h("POST", f"/api/episodes/{quote(eid)}/events", json_body=ev, headers=hdr)
            ev_rec = dict(ev, id=hdr["Idempotency-Key"]) if "Idempotency-Key" in hdr else ev
            self.lines_all.append({"episode": eid, "event": ev_rec})
            idx, dup = self.expect_log(eid, ev_rec)
            self.check_recorded(r, eid, idx, dup, f"POST …/events #{n}")

    def check_recorded(self, r, eid, idx, dup, what):
        want = 200 if dup else 201
        if not check(r.status == want and isinstance(r.json, dict) and "recorded" in r.json,
                     f"{what} {eid}: {want} with 'recorded' ({r!r})"):
            return
        rec = r.json["recorded"]
        check(rec == {"episode": eid, "event": idx, "seq": idx + 1, "duplicate": dup},
              f"{what} {eid}: recorded {rec}, expected event {idx}, duplicate {dup}")
        check(isinstance(r.json.get("episode"), dict) and r.json["episode"].get("id") == eid,
              f"{what} {eid}: the answer holds the episode view")
        check(r.header("ETag") == f'"{len(self.seeded[eid])}"',
              f"{what} {eid}: ETag is the log length {len(self.seeded[eid])} ({r.header('ETag')})")

    def import_lines(self, lines, batch=None):
        path = "/api/import" + (q(batch=batch) if batch else "")
        opened = 0
        dups = 0
        for line in lines:
            if line["episode"] not in self.seeded:
                opened += 1
            _, dup = self.expect_log(line["episode"], line["event"])
            dups += dup
        r = self.h("POST", path, ndjson=lines)
        want = {"lines": len(lines), "recorded": len(lines) - dups, "episodes_opened": opened, "duplicates": dups}
        check(r.status == 200 and r.json == want, f"POST {path} of {len(lines)} lines: 200 {want} ({r!r})")

    def twin(self):
        """The same lines imported by the CLI into a SQLite file of its own, served by a second server: each
        episode the API wrote is the one the CLI writes (the episode view but for task ids, the stored
        events but for recorded_at)."""
        twin = os.path.join(self.b.tmp, "twin.db")
        must(self.b.binary, twin, "init")
        must(self.b.binary, twin, "import", "-", today=TODAY,
             stdin="".join(json.dumps(l) + "\n" for l in self.lines_all))

        def view(j):
            j = copy.deepcopy(j)
            for t in j.get("tasks", []):
                t.pop("id", None)
                t.pop("letter", None)
            for l in j.get("letters", []):
                for k in ("task", "html", "text", "pdf"):
                    l.pop(k, None)
            return j

        with Server(self.b.binary, twin, today=TODAY) as other:
            for eid in sorted(self.seeded):
                path = f"/api/episodes/{quote(eid)}"
                mine, theirs = self.h("GET", path), http(other.base, "GET", path)
                if not check(mine.status == 200 and theirs.status == 200, f"{eid}: GET {mine!r}; the CLI's: {theirs!r}"):
                    continue
                a, b = view(mine.json), view(theirs.json)
                diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                check(not diff, f"{eid}: the API's episode differs from the CLI's import in {diff}: "
                                f"{clip({k: a.get(k) for k in diff}, 300)} vs {clip({k: b.get(k) for k in diff}, 300)}")
                check(mine.header("ETag") == theirs.header("ETag") == f'"{len(self.seeded[eid])}"',
                      f"{eid}: ETag is the log's length {len(self.seeded[eid])} ({mine.header('ETag')}, "
                      f"the CLI's {theirs.header('ETag')})")
                mine, theirs = self.h("GET", path + "/events"), http(other.base, "GET", path + "/events")
                strip = lambda r: [{k: v for k, v in e.items() if k != "recorded_at"} for e in r.json["events"]] \
                    if r.status == 200 and isinstance(r.json, dict) else r
                check(strip(mine) == strip(theirs), f"{eid}: the stored events (bodies as stored) are the CLI's "
                                                    f"({clip(strip(mine), 300)} vs {clip(strip(theirs), 300)})")

    # -- every route as documented --

    def routes(self):
        b = self.b
        total = len(self.seeded)
        r = self.h("GET", "/healthz")
        check(r.status == 200 and r.json == {"status": "ok", "episodes": total}, f"GET /healthz ({r!r})")
        r = self.h("GET", "/api/me")
        want = {"user": f"user:Fysio Web#{self.ther_id}", "role": "therapist", "local": False}
        check(r.status == 200 and isinstance(r.json, dict) and set(r.json) >= {"user", "role", "practice", "local"}
              and {k: r.json[k] for k in want} == want and isinstance(r.json["practice"], str),
              f"GET /api/me as the therapist: user, role, practice, local ({r!r})")
        if b.multi:
            check(r.json.get("practice") == b.practice, f"GET /api/me: the therapist's practice ({r!r})")
        r = self.h("GET", "/api/me", token="G")
        check(r.status == 200 and r.json.get("role") == "gp" and r.json.get("gp") == GP_CODES[0],
              f"GET /api/me as the GP: role gp, gp code ({r!r})")
        if not b.multi:
            r = self.h("GET", "/api/me", token=None)
            check(r.status == 200 and r.json.get("local") is True and r.json.get("role") == "practice_admin",
                  f"GET /api/me without a token on loopback: the local user ({r!r})")
        r = self.h("GET", "/api/practices")
        check(r.status == 200 and isinstance(r.json.get("practices"), list) and
              (r.json["practices"] == [b.practice] if b.multi else
               len(r.json["practices"]) <= 1 and all(isinstance(p, str) for p in r.json["practices"])),
              f"GET /api/practices as the therapist: {'its practice' if b.multi else 'one practice at most'} ({r!r})")
        r = self.h("GET", "/api/overview")
        cli = b.cli("overview", "--json")
        check(r.status == 200 and cli.returncode == 0 and r.json == json.loads(cli.stdout),
              f"GET /api/overview is the CLI's `overview --json` ({r!r})")
        check(isinstance(r.json, dict) and {"urgent", "overdue", "due_this_week", "waiting_on_gp", "inactive"} <= set(r.json),
              "GET /api/overview: its lists")
        r = self.h("GET", "/api/overview" + q(therapist=THERAPISTS[0], limit=5))
        cli = b.cli("overview", "--json", "--therapist", THERAPISTS[0], "--limit", "5")
        check(r.status == 200 and r.json == json.loads(cli.stdout or "null"), f"GET /api/overview filtered ({r!r})")
        # the episode list, paged
        ids, offset = [], 0
        while True:
            r = self.h("GET", "/api/episodes" + q(offset=offset, limit=40))
            if not check(r.status == 200 and set(r.json) == {"total", "offset", "limit", "episodes"},
                         f"GET /api/episodes offset {offset} ({r!r})"):
                break
            ids += [e["id"] for e in r.json["episodes"]]
            offset += 40
            if offset >= r.json["total"]:
                break
        check(ids == sorted(self.seeded), f"GET /api/episodes pages: every seeded episode once, id order "
                                          f"({len(ids)} of {len(self.seeded)})")
        r = self.h("GET", "/api/episodes" + q(gp=GP_CODES[0], limit=1000))
        check(r.status == 200 and r.json["total"] > 0 and all(e["gp"] == GP_CODES[0] for e in r.json["episodes"]),
              f"GET /api/episodes?gp= ({r!r})")
        r = self.h("GET", "/api/episodes" + q(state="treatment", therapist=THERAPISTS[1], limit=1000))
        check(r.status == 200 and r.json["total"] > 0 and all(e["state"] == "treatment" and e["therapist"] == THERAPISTS[1]
                                                                for e in r.json["episodes"]),
              f"GET /api/episodes?state&therapist ({r!r})")
        summary_keys = {"id", "patient", "state", "phase", "profile", "gp", "therapist", "next_due"}
        check(r.status == 200 and all(summary_keys <= set(e) for e in r.json["episodes"]), "episode summaries' fields")
        # one episode, its events
        eid = next(e for e in sorted(self.seeded) if len(self.seeded[e]) >= 6)
        r = self.h("GET", f"/api/episodes/{quote(eid)}")
        check(r.status == 200 and {"today", "letters", "log", "tasks", "state"} <= set(r.json) and
              r.json["today"] == TODAY and r.header("ETag") == f'"{len(self.seeded[eid])}"',
              f"GET /api/episodes/{eid}: the view with today, letters, log; ETag ({r!r})")
        r = self.h("GET", f"/api/episodes/{quote(eid)}/events")
        check(r.status == 200 and set(r.json) == {"episode", "events"} and r.json["episode"] == eid and
              all(set(e) == {"seq", "event", "type", "at", "recorded_at", "id", "body"} for e in r.json["events"]) and
              r.header("ETag") == f'"{len(self.seeded[eid])}"', f"GET /api/episodes/{eid}/events ({r!r})")
        is_error(self.h("GET", "/api/episodes/no-such-episode"), 404, "GET an unknown episode")
        is_error(self.h("GET", "/api/episodes/no-such-episode/events"), 404, "GET the events of an unknown episode")
        # tasks
        cli = json.loads(b.cli("tasks", "--json", "--status", "open").stdout)["tasks"]
        r = self.h("GET", "/api/tasks" + q(status="open", limit=1000))
        check(r.status == 200 and set(r.json) == {"total", "offset", "limit", "tasks"} and r.json["tasks"] == cli[:1000]
              and r.json["total"] == len(cli), f"GET /api/tasks?status=open is `tasks --json --status open` ({r!r})")
        r = self.h("GET", "/api/tasks" + q(episode=eid))
        check(r.status == 200 and r.json["total"] > 0 and all(t["episode"] == eid for t in r.json["tasks"]),
              f"GET /api/tasks?episode= ({r!r})")
        # letters
        r = self.h("GET", "/api/letters")
        check(r.status == 200 and set(r.json) == {"total", "letters"} and r.json["total"] == len(r.json["letters"]) > 0
              and all({"html", "text", "id", "kind", "episode"} <= set(l) for l in r.json["letters"]),
              f"GET /api/letters ({clip(repr(r), 200)})")
        letters = r.json["letters"] if r.status == 200 else []
        r = self.h("GET", "/api/letters?status=open")
        check(r.status == 200 and all(l["status"] == "open" for l in r.json["letters"]) and
              r.json["total"] == sum(l["status"] == "open" for l in letters), "GET /api/letters?status=open")
        if letters:
            l = letters[0]
            r = self.h("GET", l["html"])
            cli = b.cli("letter", str(l["id"]))
            check(r.status == 200 and r.content_type.startswith("text/html") and r.text == cli.stdout,
                  f"GET {l['html']}: the CLI's `letter {l['id']}` ({r.status})")
            r = self.h("GET", l["text"] + "&lang=en")
            cli = b.cli("letter", str(l["id"]), "--format", "text", "--lang", "en")
            check(r.status == 200 and r.content_type.startswith("text/plain") and r.text == cli.stdout,
                  f"GET {l['text']}&lang=en: the CLI's letter as text ({r.status})")
        # a task marked done, then again; an unknown one
        t = self.mark_done("T", "reevaluation")
        if t:
            is_error(self.h("POST", f"/api/tasks/{t['id']}/done"), 409, "marking a done task done again")
        is_error(self.h("POST", "/api/tasks/99999999/done"), 404, "POST done on an unknown task")
        # the rest
        r = self.h("GET", "/api/diagram?format=dot")
        check(r.status == 200 and r.json == {"format": "dot", "source": b.cli("diagram", "--format", "dot").stdout},
              f"GET /api/diagram?format=dot ({r.status})")
        r = self.h("GET", "/api/diagram")
        check(r.status == 200 and r.json.get("format") == "mermaid", "GET /api/diagram: mermaid by default")
        r = self.h("GET", "/calendar.ics" + q(**{"from": "2026-01-01", "lang": "en"}))
        cli = b.cli("calendar", "--from", "2026-01-01", "--lang", "en")
        check(r.status == 200 and r.content_type.startswith("text/calendar") and r.text == cli.stdout,
              f"GET /calendar.ics is `zorgpad calendar` ({r.status})")
        with open(os.path.join(SOURCE, "docs", "openapi.yaml"), encoding="utf-8") as f:
            doc = f.read()
        for tok in (None, "T"):
            r = self.h("GET", "/api/openapi.yaml", token=tok)
            # serve reads the file at start: the one read then, or (being edited meanwhile) now
            check(r.status == 200 and r.text in (self.doc_at_start, doc) and r.text.startswith("openapi:"),
                  f"GET /api/openapi.yaml ({'no token' if tok is None else 'token'}): docs/openapi.yaml "
                  f"({r.status}, {len(r.body)} bytes, the file {len(doc.encode())})")
        for path, kind in (("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css")):
            r = self.h("GET", path, token=None)
            check(r.status == 200 and r.content_type.startswith(kind), f"GET {path} without a token ({r.status})")

    def mark_done(self, token, kind=None):
        """Marks the first open task (of that kind) done as that user; checks the answer and the log's
        task_done. Returns the task (None when there is none)."""
        open_tasks = self.h("GET", "/api/tasks" + q(status="open", limit=5, **({"kind": kind} if kind else {})),
                            token=token).json["tasks"]
        if not check(open_tasks, f"an open {kind or ''} task to mark done"):
            return None
        t = open_tasks[0]
        before = len(self.events(t["episode"]))
        r = self.h("POST", f"/api/tasks/{t['id']}/done", token=token)
        check(r.status == 200 and set(r.json) == {"task"} and r.json["task"]["id"] == t["id"] and
              r.json["task"]["status"] == "done", f"POST /api/tasks/{t['id']}/done as {token} ({r!r})")
        evs = self.events(t["episode"])
        check(len(evs) == before + 1 and evs[-1]["type"] == "task_done", "task done: the log records task_done")
        if r.status == 200:
            self.seeded[t["episode"]].append(({k: v for k, v in evs[-1]["body"].items() if k != "id"}, evs[-1]["id"]))
        return t

    def roles(self):
        """What each role may do (docs: Role rights)."""
        evs = dict((s, sc) for s, sc, _ in scenarios(valid=True))["profile1-recovers"]["episodes"][0]["events"]
        eid = "x-roles.ep-1"
        # the local token printed at start writes on loopback (as the local practice admin)
        r = self.h("POST", "/api/episodes", token=self.srv.token, json_body={"episode": eid, "patient": "P-roles",
                                                                         "event": evs[0]})
        idx, dup = self.expect_log(eid, evs[0])
        self.check_recorded(r, eid, idx, dup, "POST /api/episodes with the local token printed at start")
        event = evs[1]
        before = self.snapshot(eid)
        # the coordinator reads everything, marks tasks done, records nothing
        r = self.h("GET", "/api/episodes", token="C")
        check(r.status == 200 and r.json["total"] == len(self.seeded), f"coordinator: GET /api/episodes ({r!r})")
        check(self.h("GET", "/api/overview", token="C").status == 200, "coordinator: GET /api/overview")
        for method, path, kw in (("POST", f"/api/episodes/{quote(eid)}/events", {"json_body": event}),
                                 ("POST", "/api/episodes", {"json_body": {"episode": "coord-x", "event": self.lines_all[0]["event"]}}),
                                 ("POST", "/api/import", {"ndjson": [{"episode": eid, "event": event}]}),
                                 ("GET", "/api/users", {}),
                                 ("POST", "/api/users", {"json_body": {"name": "x", "role": "therapist"}})):
            is_error(self.h(method, path, token="C", **kw), 403, f"coordinator: {method} {path}")
        self.unchanged(before, "the coordinator's refused writes")
        # the GP: letters of their episodes only
        r = self.h("GET", "/api/letters", token="G")
        mine = set(e["id"] for e in self.h("GET", "/api/episodes" + q(gp=GP_CODES[0], limit=1000)).json["episodes"])
        check(r.status == 200 and r.json["total"] > 0 and all(l["episode"] in mine for l in r.json["letters"]),
              f"GP: GET /api/letters lists the letters of their episodes only ({clip(repr(r), 200)})")
        theirs = [l for l in self.h("GET", "/api/letters").json["letters"] if l["episode"] not in mine]
        if r.status == 200 and r.json["letters"]:
            check(self.h("GET", r.json["letters"][0]["html"], token="G").status == 200, "GP: reads a letter of theirs")
        if check(theirs, "a letter of another GP's episode"):
            is_error(self.h("GET", theirs[0]["html"], token="G"), 403, "GP: a letter of another GP's episode")
        for path in ("/api/me", "/api/practices", "/api/diagram"):
            check(self.h("GET", path, token="G").status == 200, f"GP: GET {path}")
        for method, path, kw in (("GET", "/api/episodes", {}), ("GET", "/api/overview", {}),
                                 ("GET", f"/api/episodes/{quote(eid)}", {}), ("GET", f"/api/episodes/{quote(eid)}/events", {}),
                                 ("GET", "/api/tasks", {}), ("GET", "/calendar.ics", {}), ("GET", "/api/users", {}),
                                 ("POST", f"/api/episodes/{quote(eid)}/events", {"json_body": event}),
                                 ("POST", "/api/tasks/1/done", {})):
            is_error(self.h(method, path, token="G", **kw), 403, f"GP: {method} {path}")
        self.unchanged(before, "the GP's refused requests")
        # the therapist may not manage users; without a token: reads only on loopback, never a write
        is_error(self.h("GET", "/api/users"), 403, "therapist: GET /api/users")
        r = self.h("POST", f"/api/episodes/{quote(eid)}/events", token=None, json_body=event)
        is_error(r, 401, "POST an event without a token")
        check("Bearer" in (r.header("WWW-Authenticate") or ""), "401 names the Bearer scheme")
        is_error(self.h("POST", f"/api/episodes/{quote(eid)}/events", token="zp_1_" + "x" * 43, json_body=event), 401,
                 "POST an event with a made-up token")
        is_error(self.h("POST", f"/api/episodes/{quote(eid)}/events", token=None, json_body=event,
                        headers={"Cookie": "zorgpad_token=" + self.t_ther}), 401, "POST with the token as a cookie only")
        is_error(self.h("POST", f"/api/episodes/{quote(eid)}/events?token={self.t_ther}", token=None, json_body=event),
                 401, "POST with the token in the query only")
        self.unchanged(before, "writes without a valid token")
        # on loopback a read without a token is the local practice admin's, of the practice served
        r = self.h("GET", "/api/episodes?limit=1", token=None)
        check(r.status == 200 and r.json["total"] == len(self.seeded), f"loopback: a read without a token ({r!r})")
        r = self.h("POST", f"/api/episodes/{quote(eid)}/events", token=self.srv.token, json_body=event,
                   headers={"If-Match": str(len(self.seeded[eid]))})
        idx, dup = self.expect_log(eid, event)
        self.check_recorded(r, eid, idx, dup, "POST an event with the local token printed at start")
        r = self.h("GET", "/api/me", token=self.srv.token)
        check(r.status == 200 and r.json.get("local") is True and r.json.get("role") == "practice_admin" and
              r.json.get("user", "").startswith("local:"), f"GET /api/me with the local token ({r!r})")
        # a practice admin records as a therapist does; a coordinator marks tasks done
        r = self.h("POST", f"/api/episodes/{quote(eid)}/events", token="A", json_body=evs[2])
        idx, dup = self.expect_log(eid, evs[2])
        self.check_recorded(r, eid, idx, dup, "POST an event as the practice admin")
        self.mark_done("C")

    # -- exactly once --

    def idempotency(self):
        sc = dict((s, sc) for s, sc, _ in scenarios(valid=True))["profile1-recovers"]
        evs = copy.deepcopy(sc["episodes"][0]["events"])
        eid, key = "x-idem.ep-1", "x-idem-open-key"
        body = {"episode": eid, "patient": "P-idem", "event": evs[0]}
        r = self.h("POST", "/api/episodes", json_body=body, headers={"Idempotency-Key": key})
        idx, _ = self.expect_log(eid, dict(evs[0], id=key))
        self.check_recorded(r, eid, idx, False, "POST /api/episodes with an Idempotency-Key")
        total = self.total()
        before = self.snapshot(eid)
        for what, b2, hdr in (("the same request", body, {"Idempotency-Key": key}),
                              ("the key in the event's id", {"episode": eid, "patient": "P-idem", "event": dict(evs[0], id=key)}, {}),
                              ("under another episode id", dict(body, episode="x-idem.other"), {"Idempotency-Key": key})):
            r = self.h("POST", "/api/episodes", json_body=b2, headers=hdr)
            self.check_recorded(r, eid, 0, True, f"open repeated ({what})")
            self.unchanged(before, f"an open repeated ({what})")
        is_error(self.h("GET", "/api/episodes/x-idem.other"), 404, "a repeated open under another id opens nothing")
        check(self.total() == total, "a repeated open adds no episode")
        # an open without an episode id: the server names the episode, and a retry finds the same one
        body = {"patient": "P-noid", "event": evs[0]}
        r = self.h("POST", "/api/episodes", json_body=body, headers={"Idempotency-Key": "x-noid-open"})
        gen = r.json["recorded"]["episode"] if r.status == 201 and isinstance(r.json, dict) else None
        if check(isinstance(gen, str) and gen and r.header("Location") == f"/api/episodes/{quote(gen)}" and
                 r.json["episode"]["id"] == gen, f"POST /api/episodes without an episode id: 201, an id of the "
                                                 f"server's, Location ({r!r}, Location {r.header('Location')})"):
            idx, _ = self.expect_log(gen, dict(evs[0], id="x-noid-open"))
            self.check_recorded(r, gen, idx, False, "open without an episode id")
            before = self.snapshot(gen)
            r = self.h("POST", "/api/episodes", json_body=body, headers={"Idempotency-Key": "x-noid-open"})
            self.check_recorded(r, gen, 0, True, "open without an episode id, retried")
            self.unchanged(before, "an open without an episode id, retried")
        # events: the key as header, as the event's id, both; a retry after later events
        keys = []
        for n, ev in enumerate(evs[1:4], start=1):
            k = f"x-idem-{n}"
            keys.append((k, ev))
            r = self.h("POST", f"/api/episodes/{eid}/events", json_body=ev, headers={"Idempotency-Key": k})
            idx, _ = self.expect_log(eid, dict(ev, id=k))
            self.check_recorded(r, eid, idx, False, f"event {n} with an Idempotency-Key")
        before = self.snapshot(eid)
        for n, (k, ev) in enumerate(keys, start=1):
            for what, body2, hdr in (("same key", ev, {"Idempotency-Key": k}), ("id in the body", dict(ev, id=k), {}),
                                     ("both", dict(ev, id=k), {"Idempotency-Key": k}),
                                     ("another body", {"type": "session", "at": "2026-01-30"}, {"Idempotency-Key": k}),
                                     ("stale If-Match", ev, {"Idempotency-Key": k, "If-Match": str(n)})):
                r = self.h("POST", f"/api/episodes/{eid}/events", json_body=body2, headers=hdr)
                self.check_recorded(r, eid, n, True, f"event {n} retried ({what})")
        self.unchanged(before, "retried events")
        r = self.h("POST", f"/api/episodes/{eid}/events", json_body=dict(evs[4], id="x-idem-A"),
                   headers={"Idempotency-Key": "x-idem-B"})
        is_error(r, 400, "Idempotency-Key differing from the event's id")
        for bad in ("", "x" * 101, "two words", "caf\u00e9"):
            r = self.h("POST", f"/api/episodes/{eid}/events", json_body=evs[4],
                       headers={"Idempotency-Key": bad.encode().decode("latin-1")})
            before = self.refused(r, 400, f"Idempotency-Key {bad[:10]!r}", before, eid, evs[4])
        # the same key for another episode: the event id is the practice's, so it is a repeat of event 1
        other = sorted(e for e in self.seeded if e != eid)[0]
        before2 = self.snapshot(eid, other)
        r = self.h("POST", f"/api/episodes/{quote(other)}/events", json_body=keys[0][1], headers={"Idempotency-Key": keys[0][0]})
        self.check_recorded(r, eid, 1, True, "an event id already recorded, posted to another episode")
        self.unchanged(before2, "an event id posted again to another episode")
        # an import of recorded lines records nothing
        lines = [{"episode": eid, "event": dict(ev, id=k)} for k, ev in keys]
        r = self.h("POST", "/api/import", ndjson=lines)
        check(r.status == 200 and r.json == {"lines": 3, "recorded": 0, "episodes_opened": 0, "duplicates": 3},
              f"an import of recorded events: all duplicates ({r!r})")
        self.unchanged(before, "an import of recorded events")
        self.idem_eid, self.idem_events = eid, evs

    def if_match(self):
        eid, evs = self.idem_eid, self.idem_events
        n = len(self.seeded[eid])
        r = self.h("GET", f"/api/episodes/{eid}")
        check(r.header("ETag") == f'"{n}"', f"ETag of {eid} is \"{n}\" ({r.header('ETag')})")
        before = self.snapshot(eid)
        ev = evs[4]
        for stale in (str(n - 1), f'"{n - 1}"', "0", str(n + 3)):
            r = self.h("POST", f"/api/episodes/{eid}/events", json_body=ev, headers={"If-Match": stale})
            is_error(r, 412, f"If-Match {stale} when the log holds {n}")
        r = self.h("POST", f"/api/episodes/{eid}/events", json_body=dict(ev, id="x-idem-stale"),
                   headers={"If-Match": str(n - 1)})
        is_error(r, 412, "If-Match stale, with a new event id")
        self.unchanged(before, "a stale If-Match")
        for bad in ("abc", "W/\"3\"", "-1", "3 4", ""):
            r = self.h("POST", f"/api/episodes/{eid}/events", json_body=ev, headers={"If-Match": bad})
            before = self.refused(r, 400, f"If-Match {bad!r} (not a log length)", before, eid, ev)
        n = len(self.seeded[eid])
        # the stale key can be used once the writer caught up
        r = self.h("POST", f"/api/episodes/{eid}/events", json_body=dict(ev, id="x-idem-stale"),
                   headers={"If-Match": f'"{n}"'})
        idx, _ = self.expect_log(eid, dict(ev, id="x-idem-stale"))
        self.check_recorded(r, eid, idx, False, "If-Match with the current ETag")
        r = self.h("POST", f"/api/episodes/{eid}/events", json_body=evs[5], headers={"If-Match": str(n + 1)})
        idx, _ = self.expect_log(eid, evs[5])
        self.check_recorded(r, eid, idx, False, "If-Match with the current length, unquoted")

    # -- refused events: the CLI's line --

    def refused_events(self):
        # the scenarios refused for one of their events (not for their 'until' or their shape)
        invalid = [x for x in scenarios(valid=False)
                   if any("event" in w for w in (x[2].get("error") or {}).get("stderr_contains") or [])]
        check(len(invalid) > 80, f"the refused scenarios of tests/scenarios ({len(invalid)})")
        invalid = share(invalid)
        refused = 0
        for stem, scenario, expected in invalid:
            want = (expected.get("error") or {}).get("stderr_contains") or []
            # the event the scenario's outcome names: its episode ("ep-…") and "event N"
            target_ep = next((w for w in want if w.startswith("ep-")), None)
            target_n = next((int(w.split()[1]) for w in want if re.fullmatch(r"event \d+", w)), None)
            got = None
            for i, (eid, patient, events) in enumerate(self.prepare(stem, scenario, "inv.")):
                orig = scenario["episodes"][i].get("id")
                for n, ev in enumerate(events):
                    if n == 0:
                        body = {"episode": eid, "patient": patient, "event": ev}
                        path = "/api/episodes"
                    else:
                        body = ev
                        path = f"/api/episodes/{quote(eid)}/events"
                    # the state before the event named refused, to compare with afterwards
                    before = self.snapshot(eid) if (orig, n) == (target_ep, target_n) else None
                    r = self.h("POST", path, json_body=body)
                    if r.status in (200, 201):
                        self.expect_log(eid, ev)
                        continue
                    got = (eid, n, r)
                    refused += 1
                    is_error(r, 422, f"{stem}: {eid} event {n} refused")
                    if before is not None:
                        self.unchanged(before, f"{stem}: the refused event")
                    # the CLI, on the same database now
                    f = os.path.join(self.b.tmp, "event.json")
                    with open(f, "w") as out:
                        json.dump(ev, out)
                    if n == 0:
                        cli = self.b.cli("open", "--id", eid, "--patient", patient, f)
                    else:
                        cli = self.b.cli("record", eid, f)
                    line = _one_line(cli.stderr)
                    check(cli.returncode == 2 and line is not None and line.startswith("zorgpad: "),
                          f"{stem}: the CLI refuses the event too, one line (exit {cli.returncode}: {cli.stderr!r})")
                    if line and isinstance(r.json, dict):
                        check(r.json.get("error") == line[len("zorgpad: "):],
                              f"{stem}: the 422's error is the CLI's line: {r.json.get('error')!r} vs {line!r}")
                    if before is not None:
                        self.unchanged(before, f"{stem}: the CLI's refused event")
                    break
                if got:
                    break
            if check(got is not None, f"{stem}: the API refuses one of its events (the scenario is refused)"):
                err = got[2].json.get("error", "") if isinstance(got[2].json, dict) else ""
                check(all(w in err for w in want) and (got[1] == target_n),
                      f"{stem}: the refused event is event {target_n} of {target_ep}, the error names {want}: "
                      f"event {got[1]} of {got[0]}: {err!r}")
        note(f"api suite ({self.b.name})", f"{refused} refused events of {len(invalid)} scenarios, each the CLI's line")

    def import_errors(self):
        b = self.b
        sc = dict((s, sc) for s, sc, _ in scenarios(valid=True))["profile2-escalates"]
        evs = sc["episodes"][0]["events"]
        base = [{"episode": "x-imp.ep-1", "patient": "P-imp", "event": dict(ev, id=f"x-imp-{i}")}
                for i, ev in enumerate(evs[:4])]
        bad_state = {"episode": "x-imp.ep-1", "event": {"type": "measurement", "at": evs[0]["at"], "nprs": 11, "id": "x-imp-bad"}}
        # a refused line: nothing of the import is written (one batch), the CLI's line
        lines = base[:1] + [bad_state] + base[1:]
        before = self.snapshot("x-imp.ep-1")
        for batch in (None, 500):
            r = self.h("POST", "/api/import" + (q(batch=batch) if batch else ""), ndjson=lines)
            is_error(r, 422, f"import with a refused line 2 (batch {batch})")
            check(isinstance(r.json, dict) and r.json.get("error", "").startswith("line 2: "),
                  f"import: the error starts 'line 2: ' ({r!r})")
            self.unchanged(before, "an import with a refused line")
        f = os.path.join(b.tmp, "import.ndjson")
        with open(f, "w") as out:
            out.write("".join(json.dumps(l) + "\n" for l in lines))
        cli = b.cli("import", f)
        line = _one_line(cli.stderr)
        check(cli.returncode == 2 and line and isinstance(r.json, dict) and r.json.get("error") == line[len("zorgpad: "):],
              f"import: the 422's error is the CLI's line ({r.json} vs {cli.stderr!r})")
        self.unchanged(before, "the CLI's refused import")
        # malformed lines
        for text, n, what in ((json.dumps(base[0]) + "\n{\"episode\": \n", 2, "malformed JSON on line 2"),
                              (json.dumps(base[0]) + "\n" + json.dumps({"episode": "x-imp.ep-1"}) + "\n", 2,
                               "a line without an event"),
                              (json.dumps({"episode": "x-imp.ep-1", "event": evs[0], "colour": "red"}) + "\n", 1,
                               "a line with an unknown field"),
                              ("[1, 2]\n", 1, "a line that is not an object")):
            r = self.h("POST", "/api/import", ndjson=text)
            is_error(r, 422, f"import: {what}")
            check(isinstance(r.json, dict) and r.json.get("error", "").startswith(f"line {n}: "),
                  f"import {what}: the error starts 'line {n}: ' ({r!r})")
            with open(f, "w") as out:
                out.write(text)
            cli = b.cli("import", f)
            line = _one_line(cli.stderr)
            check(cli.returncode == 2 and line and isinstance(r.json, dict) and r.json.get("error") == line[len("zorgpad: "):],
                  f"import {what}: the 422's error is the CLI's line ({r.json} vs {cli.stderr!r})")
            self.unchanged(before, f"an import with {what}")
        # batches: the earlier batches stay, from the refused line's batch on nothing
        lines = base[:3] + [bad_state] + base[3:]
        r = self.h("POST", "/api/import?batch=2", ndjson=lines)
        is_error(r, 422, "import in batches of 2, a refused line 4")
        check(isinstance(r.json, dict) and r.json.get("error", "").startswith("line 4: "), f"batch import: line 4 ({r!r})")
        got = [e["id"] for e in (self.events("x-imp.ep-1") or [])]
        check(got == ["x-imp-0", "x-imp-1"], f"batch import: the first batch (lines 1-2) stays, line 3 does not ({got})")
        for l in base[:2]:
            self.expect_log("x-imp.ep-1", l["event"])
        self.total_after_imports = self.total()
        # run again without the bad line: the first two are duplicates
        r = self.h("POST", "/api/import?batch=2", ndjson=base)
        check(r.status == 200 and r.json == {"lines": 4, "recorded": 2, "episodes_opened": 0, "duplicates": 2},
              f"the import resumed: 2 recorded, 2 duplicates ({r!r})")
        for l in base[2:]:
            self.expect_log("x-imp.ep-1", l["event"])
        before = self.snapshot("x-imp.ep-1")
        for params, what in (({"batch": "0"}, "batch 0"), ({"batch": "5001"}, "batch 5001"), ({"batch": "x"}, "batch x"),
                             ({"colour": "red"}, "an unknown parameter")):
            is_error(self.h("POST", "/api/import" + q(**params), ndjson=base), 400, f"import {what}")
        for ctype in ("text/plain", "application/x-www-form-urlencoded"):
            is_error(self.h("POST", "/api/import", body="".join(json.dumps(l) + "\n" for l in base),
                            headers={"Content-Type": ctype}), 400, f"import as {ctype}")
        big = "".join(json.dumps(l) + "\n" for l in base)
        big = big * (8 * 1024 * 1024 // len(big) + 1)
        r = self.h("POST", "/api/import", ndjson=big)
        is_error(r, 413, f"import of {len(big) // 1024} KiB (over 8 MiB)")
        self.unchanged(before, "bad imports")
        self.still_answers("an import over 8 MiB")

    # -- bad input --

    def bad_input(self):
        b = self.b
        eid = self.idem_eid
        ev = {"type": "session", "at": "2026-02-20"}
        open_ev = self.idem_events[0]
        before = self.snapshot(eid)
        cases = [
            ("POST", f"/api/episodes/{eid}/events", {"body": '{"type": "session", ', "headers": {"Content-Type": "application/json"}}, 400, "malformed JSON"),
            ("POST", "/api/episodes", {"body": '{"episode": "x-bad", "event": {', "headers": {"Content-Type": "application/json"}}, 400, "malformed JSON"),
            ("POST", "/api/users", {"token": "A", "body": "{name", "headers": {"Content-Type": "application/json"}}, 400, "malformed JSON"),
            ("POST", f"/api/episodes/{eid}/events", {"body": b"", "headers": {"Content-Type": "application/json"}}, 400, "an empty body"),
            ("POST", f"/api/episodes/{eid}/events", {"body": json.dumps(dict(ev, note="x" * 70000)),
                                                   "headers": {"Content-Type": "application/json"}}, 413, "a body over 64 KiB"),
            ("POST", "/api/episodes", {"body": json.dumps({"episode": "x-big", "event": dict(open_ev, note="x" * 70000)}),
                                       "headers": {"Content-Type": "application/json"}}, 413, "a body over 64 KiB"),
            ("GET", "/api/nope", {}, 404, "an unknown route"),
            ("POST", "/api/nope", {"json_body": ev}, 404, "an unknown route"),
            ("POST", f"/api/episodes/{eid}/events/extra", {"json_body": ev}, 405, "a path below an episode"),
            ("GET", "/api/tasks/1/undo", {}, 404, "an unknown task action"),
            ("PUT", "/api/episodes", {"json_body": {"episode": "x-put", "event": open_ev}}, 405, "PUT /api/episodes"),
            ("DELETE", f"/api/episodes/{eid}", {}, 405, "DELETE an episode"),
            ("PATCH", f"/api/episodes/{eid}/events", {"json_body": ev}, 405, "PATCH events"),
            ("GET", "/api/import", {}, 405, "GET /api/import"),
            ("PUT", "/api/import", {"ndjson": [{"episode": eid, "event": ev}]}, 405, "PUT /api/import"),
            ("GET", "/api/tasks/1/done", {}, 405, "GET …/done"),
            ("DELETE", "/api/users", {"token": "A"}, 405, "DELETE /api/users"),
            ("GET", "/api/users/1/revoke", {"token": "A"}, 405, "GET …/revoke"),
            ("POST", "/healthz", {"json_body": {}}, 405, "POST /healthz"),
            ("POST", "/api/overview", {"json_body": {}}, 405, "POST /api/overview"),
            ("POST", f"/api/episodes/{eid}", {"json_body": ev}, 405, "POST to an episode (not …/events)"),
            ("POST", "/app.js", {"json_body": {}}, 405, "POST /app.js"),
            ("POST", "/api/episodes?dry_run=1", {"json_body": {"episode": "x-q", "event": open_ev}}, 400, "an unknown query parameter"),
            ("POST", f"/api/episodes/{eid}/events?validate=1", {"json_body": ev}, 400, "an unknown query parameter"),
            ("GET", f"/api/episodes/{eid}/events?since=1", {}, 400, "an unknown query parameter"),
            ("GET", "/api/letters?kind=gp_referral", {}, 400, "an unknown query parameter"),
            ("GET", "/api/episodes?state=treatment&state=closed", {}, 400, "a parameter given twice"),
            ("POST", "/api/episodes", {"json_body": {"episode": "x-env", "event": open_ev, "practice": "pb"}}, 400, "an unknown envelope field"),
            ("POST", "/api/episodes", {"json_body": {"episode": "x-env", "events": [open_ev]}}, 400, "an unknown envelope field"),
            ("POST", "/api/episodes", {"json_body": {"episode": "x-env"}}, 400, "an envelope without an event"),
            ("POST", "/api/episodes", {"json_body": [open_ev]}, 400, "an envelope that is a list"),
            ("POST", "/api/episodes", {"json_body": {"episode": 7, "event": open_ev}}, 400, "an episode id that is a number"),
            ("POST", "/api/episodes", {"json_body": {"episode": "x" * 101, "event": open_ev}}, 400, "an episode id of 101 characters"),
            ("POST", "/api/episodes", {"json_body": {"episode": "x-pat", "patient": ["P"], "event": open_ev}}, 400, "a patient that is a list"),
            ("POST", "/api/episodes", {"body": urllib.parse.urlencode({"episode": "x-form", "event": json.dumps(open_ev)}),
                                       "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "a form-encoded body"),
            ("POST", f"/api/episodes/{eid}/events", {"body": urllib.parse.urlencode(ev),
                                                   "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "a form-encoded body"),
            ("POST", f"/api/episodes/{eid}/events", {"body": json.dumps(ev), "headers": {"Content-Type": "text/plain"}}, 400, "a text/plain body"),
            ("POST", "/api/users", {"token": "A", "body": "name=x&role=therapist",
                                    "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400, "a form-encoded body"),
            ("POST", "/api/episodes/no-such-episode/events", {"json_body": ev}, 404, "an event for an unknown episode"),
            ("POST", "/api/episodes/no-such-episode/events", {"json_body": {"type": "session"}}, 404, "a bad event for an unknown episode"),
            ("POST", "/api/tasks/abc/done", {}, 400, "a malformed task id"),
        ]
        if b.multi:
            cases += [("GET", "/api/episodes?practice=" + b.foreign, {}, 403, "a foreign practice"),
                      ("GET", f"/api/episodes/{eid}/events?practice=" + b.foreign, {}, 403, "a foreign practice"),
                      ("POST", f"/api/episodes/{eid}/events?practice=" + b.foreign, {"json_body": ev}, 403, "a foreign practice"),
                      ("POST", "/api/episodes?practice=" + b.foreign, {"json_body": {"episode": "x-foreign", "event": open_ev}}, 403, "a foreign practice"),
                      ("POST", "/api/import?practice=" + b.foreign, {"ndjson": [{"episode": "x-foreign", "event": open_ev}]}, 403, "a foreign practice")]
        else:
            cases += [("GET", "/api/episodes?practice=main", {}, 400, "?practice= on SQLite"),
                      ("POST", f"/api/episodes/{eid}/events?practice=main", {"json_body": ev}, 400, "?practice= on SQLite"),
                      ("POST", "/api/import?practice=main", {"ndjson": [{"episode": "x-p", "event": open_ev}]}, 400, "?practice= on SQLite")]
        for method, path, kw, status, what in cases:
            kw = dict(kw)
            token = kw.pop("token", "T")
            r = self.h(method, path, token=token, **kw)
            before = self.refused(r, status, f"{method} {clip(path, 60)} ({what})", before, eid, ev)
            if status == 405:
                allow = r.header("Allow") or ""
                check(allow and method not in [a.strip() for a in allow.split(",")],
                      f"{method} {path}: 405 with an Allow header that leaves out {method} ({allow!r})")
            self.still_answers(f"{method} {clip(path, 60)} ({what})")
        # POST without a body and without Content-Length (curl -X POST): no body (RFC 9112 6.3), answered at once
        tid = self.h("GET", "/api/tasks?status=open&limit=1").json["tasks"][0]["id"]
        host = urllib.parse.urlsplit(self.srv.base).netloc
        for path, close in ((f"/api/tasks/{tid}/done", "Connection: close\r\n"), ("/api/episodes", ""),
                            ("/api/episodes", "Connection: close\r\n")):
            status, head, body, took = raw_request(self.srv.base, (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.t_ther}\r\n"
                f"{close}\r\n").encode(), timeout=4)
            check(status not in (0, 408) and took < 3,
                  f"POST {path} without Content-Length (no body, RFC 9112 §6.3): answered at once, not 408 "
                  f"(got {status or 'nothing'} after {took:.1f} s: {body[:160]!r})")
        if self.srv.alive():
            self.h("GET", f"/api/episodes/{eid}/events")  # who knows what the task done did: re-read
        self.still_answers("the bad input")

    # -- practices (PostgreSQL) --

    def practices(self):
        b = self.b
        sc = dict((s, sc) for s, sc, _ in scenarios(valid=True))["profile1-recovers"]
        evs = sc["episodes"][0]["events"]
        r = http(self.srv.base, "POST", "/api/episodes", token=self.t_foreign,
                 json_body={"episode": "b.ep-1", "patient": "P-b", "event": evs[0]})
        check(r.status == 201, f"the other practice's therapist opens an episode there ({r!r})")
        r = http(self.srv.base, "POST", "/api/import", token=self.t_foreign,
                 ndjson=[{"episode": "b.ep-1", "event": ev} for ev in evs[1:4]])
        check(r.status == 200 and r.json.get("recorded") == 3, f"… and imports its events ({r!r})")
        r = http(self.srv.base, "GET", "/api/episodes", token=self.t_foreign)
        check(r.status == 200 and [e["id"] for e in r.json["episodes"]] == ["b.ep-1"],
              f"the other practice's therapist sees that practice only ({r!r})")
        check(http(self.srv.base, "GET", "/api/me", token=self.t_foreign).json.get("practice") == b.foreign,
              "GET /api/me: the other practice")
        is_error(self.h("GET", "/api/episodes/b.ep-1"), 404, "a therapist does not see another practice's episode")
        is_error(self.h("POST", "/api/episodes/b.ep-1/events", json_body=evs[4]), 404,
                 "a therapist cannot record in another practice's episode")
        check(self.total() == len(self.seeded), "the other practice's episode is not in this practice's list")
        r = self.h("GET", "/api/episodes?practice=" + b.practice)
        check(r.status == 200 and r.json["total"] == len(self.seeded), f"?practice= naming one's own practice ({r!r})")
        # the coordinator: every practice, the served one by default
        r = self.h("GET", "/api/practices", token="C")
        check(r.status == 200 and {b.practice, b.foreign} <= set(r.json["practices"]),
              f"coordinator: GET /api/practices lists both ({r!r})")
        r = self.h("GET", "/api/episodes?practice=" + b.foreign, token="C")
        check(r.status == 200 and [e["id"] for e in r.json["episodes"]] == ["b.ep-1"], f"coordinator: ?practice= ({r!r})")
        r = self.h("GET", "/api/episodes", token="C")
        check(r.status == 200 and r.json["total"] == len(self.seeded), f"coordinator: the served practice by default ({r!r})")
        r = self.h("GET", "/api/me?practice=" + b.foreign, token="C")
        # /api/me is about the caller: ?practice= is ignored; a coordinator's practice is not fixed
        check(r.status == 200 and r.json.get("practice") == b.practice and r.json.get("practice_fixed") is False,
              f"coordinator: GET /api/me?practice= ({r!r})")
        is_error(self.h("POST", "/api/episodes/b.ep-1/events?practice=" + b.foreign, token="C", json_body=evs[4]), 403,
                 "coordinator: no writes in any practice")
        before = self.snapshot()
        is_error(self.h("GET", "/api/episodes?practice=bad%20code", token="C"), 400, "coordinator: a malformed practice code")
        self.unchanged(before, "a malformed practice code")

    # -- users --

    def users(self):
        r = self.h("GET", "/api/users", token="A")
        check(r.status == 200 and set(r.json) == {"users"} and
              {self.ther_id, self.admin_id} <= {u["id"] for u in r.json["users"]} and
              all({"id", "name", "role", "practice", "created_at", "revoked_at"} <= set(u) for u in r.json["users"]) and
              all("token" not in u and "token_hash" not in u for u in r.json["users"]),
              f"GET /api/users as the practice admin ({clip(repr(r), 300)})")
        if self.b.multi:
            check(all(u["practice"] == self.b.practice for u in r.json["users"]),
                  f"GET /api/users: the practice's users only ({r.json})")
        r = self.h("POST", "/api/users", token="A", json_body={"name": "Fysio Nieuw", "role": "therapist"})
        if check(r.status == 201 and set(r.json) == {"user", "token"} and r.json["user"]["role"] == "therapist",
                 f"POST /api/users ({r!r})"):
            uid, tok = r.json["user"]["id"], r.json["token"]
            check(tok.startswith(f"zp_{uid}_"), "the new user's token")
            me = http(self.srv.base, "GET", "/api/me", token=tok)
            check(me.status == 200 and me.json["user"] == f"user:Fysio Nieuw#{uid}", f"the new token works ({me!r})")
            r = self.h("POST", f"/api/users/{uid}/revoke", token="A")
            check(r.status == 200 and r.json.get("revoked") is True and r.json["user"]["revoked_at"] is not None,
                  f"POST /api/users/{uid}/revoke ({r!r})")
            r = self.h("POST", f"/api/users/{uid}/revoke", token="A")
            check(r.status == 200 and r.json.get("revoked") is False, f"revoking again: revoked false ({r!r})")
            is_error(http(self.srv.base, "GET", "/api/episodes", token=tok), 401, "a revoked token")
            check(self.h("GET", "/api/me").status == 200, "a good token after a bad one")
        is_error(self.h("POST", "/api/users", token="A", json_body={"name": "x", "role": "coordinator"}), 403,
                 "a practice admin adds no coordinator")
        is_error(self.h("POST", "/api/users", token="A", json_body={"name": "x", "role": "boss"}), 400, "an unknown role")
        is_error(self.h("POST", "/api/users", token="A", json_body={"name": "x", "role": "therapist", "team": "a"}), 400,
                 "an unknown field")
        is_error(self.h("POST", "/api/users/99999/revoke", token="A"), 404, "revoking an unknown user")
        is_error(self.h("POST", "/api/users/abc/revoke", token="A"), 400, "revoking user 'abc'")
        is_error(self.h("POST", "/api/users", json_body={"name": "x", "role": "therapist"}), 403, "a therapist adds no user")
        if self.b.multi:
            is_error(self.h("POST", f"/api/users/{self.foreign_id}/revoke", token="A"), 404,
                     "a practice admin cannot revoke another practice's user")
            check(http(self.srv.base, "GET", "/api/me", token=self.t_foreign).status == 200,
                  "the other practice's user still works")

    # -- the audit log --

    def audit(self):
        r = self.b.cli("audit", "--user", f"user:Fysio Web#{self.ther_id}", "--json", "--limit", "1000000")
        if not check(r.returncode == 0, f"zorgpad audit --user: exit {r.returncode}: {r.stderr}"):
            return
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check(rows and all({"id", "at", "user", "role", "action", "episodes", "address", "outcome"} <= set(x) for x in rows),
              "audit --json: rows with id, at, user, role, action, episodes, address, outcome")
        outcomes = {}
        for x in rows:
            outcomes[x["outcome"]] = outcomes.get(x["outcome"], 0) + 1
        for status in ("422", "412"):
            # one row for each of the therapist's refused writes
            check(self.rejected[status] > 0 and outcomes.get(f"rejected {status}", 0) == self.rejected[status],
                  f"audit: one 'rejected {status}' row for each of the therapist's {self.rejected[status]} refused "
                  f"writes ({outcomes.get(f'rejected {status}', 0)})")
        actions = {x["action"] for x in rows}
        for a in ("episode.open", "event.record", "event.record.repeat", "import", "events.read", "episode.read",
                  "episodes.list", "overview.read", "tasks.list", "task.done", "letters.list", "letter.read",
                  "calendar.read"):
            check(a in actions, f"audit: the therapist's {a} is logged")
        eid = self.idem_eid
        r = self.b.cli("audit", "--episode", eid, "--json", "--limit", "1000000")
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check(any(x["action"] == "event.record" and x["outcome"] == "rejected 412" for x in rows) and
              all(eid in x["episodes"] for x in rows), f"audit --episode {eid}: its rows, the 412s among them")


def diff_text(a, b):
    import difflib
    return "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=0))[2:12])


# ---- the OpenAPI check -------------------------------------------------------------------------

def openapi_check(exchanges, name, wait_minutes=0):
    """`node tests/openapi/check.mjs docs/openapi.yaml EXCHANGES`; a failure is a failed check. Skipped (with
    a message) only when node is not installed; waits for check.mjs up to wait_minutes when it is missing
    (default: a missing checker fails at once)."""
    node = shutil.which("node")
    if not node:
        note(name, "SKIPPED the OpenAPI check: node is not installed (scripts/setup-browser.sh installs it)")
        return
    checker = os.path.join(TESTS, "openapi", "check.mjs")
    doc = os.path.join(SOURCE, "docs", "openapi.yaml")
    deadline = time.time() + wait_minutes * 60
    while not os.path.exists(checker):
        if time.time() > deadline:
            fail(f"{checker} does not exist" + (f" (waited {wait_minutes} min)" if wait_minutes else ""))
            return
        note(name, f"waiting for {checker}")
        time.sleep(min(60, max(1, deadline - time.time())))
    n = 0
    if os.path.exists(exchanges):
        with open(exchanges, encoding="utf-8") as f:
            n = sum(1 for _ in f)
    t = time.monotonic()
    r = subprocess.run([node, checker, doc, exchanges], capture_output=True, text=True, timeout=600,
                       cwd=os.path.join(TESTS, "openapi"))
    out = (r.stdout + r.stderr).strip()
    if check(r.returncode == 0, f"node tests/openapi/check.mjs docs/openapi.yaml ({n} exchanges): exit {r.returncode}:\n"
                                f"{clip(out, 4000)}"):
        note(name, f"OpenAPI check of {n} exchanges: ok ({time.monotonic() - t:.1f} s) {clip(out.splitlines()[-1] if out else '', 200)}")
