#!/usr/bin/python3
"""`zorgpad serve`: the JSON API against a real server on a free loopback port.

Run as `python3 web_api.py ZORGPAD_BINARY` (ctest does). Seeds a database
through the CLI (`import` of every valid scenario of tests/scenarios, with
therapists and GPs added to their `open` events, plus a few episodes of its
own, then `tick`), starts `zorgpad --db DB --today … serve --port FREE` and
checks every route against the CLI over the same database: filters,
pagination, the overview (urgent tasks first, overdue oldest first, inactive
episodes), a task marked done (with the token printed at start, or a user's),
401 without a token, 404 for unknown ids, 400 for bad input, the Host check
(400 for two Host headers, sent over a raw socket), and many requests at once
while the CLI writes. Off loopback: serve refuses to start without TLS or
--behind-proxy (exit 2, one line); behind a proxy every request but the public
files needs a user's token (`zorgpad user add`), the Host check is off, and
after 5 bad tokens from one address (X-Forwarded-For) it answers 429 with
Retry-After, doubling; with --tls-cert/--tls-key (when openssl is installed) it
serves HTTPS to user tokens only. --token and $ZORGPAD_TOKEN are gone. When
`zorgpad demo` works, its database is served and checked too.
"""
import concurrent.futures
import glob
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import zorgpad_web as web  # noqa: E402

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TODAY = "2027-03-01"
THERAPISTS = ["Fysio Anna", "Fysio Bram", "Fysio Cem"]
GPS = ["Huisarts Jansen", "Huisarts de Vries"]
HOSTILE = "<script>alert('x')</script>&\"'"
failures = web.failures  # one list with the shared helpers' checks


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(db, *args, stdin=None, today=TODAY):
    """Runs zorgpad; output decoded as UTF-8 without newline translation (calendars end lines in CRLF)."""
    cmd = [ZORGPAD, "--db", db] + (["--today", today] if today else []) + list(args)
    r = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None, capture_output=True)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8"))


def ok(db, *args, stdin=None, today=TODAY):
    r = run(db, *args, stdin=stdin, today=today)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


# ---- the seeded database -----------------------------------------------------------------

def scenario_lines():
    """NDJSON import lines for every scenario whose expected outcome is not an error."""
    lines, n = [], 0
    for path in sorted(glob.glob(os.path.join(TESTS, "scenarios", "*.json"))):
        if path.endswith(".expected.json"):
            continue
        with open(path[:-5] + ".expected.json") as f:
            if "error" in json.load(f):
                continue
        with open(path) as f:
            scenario = json.load(f)
        stem = os.path.basename(path)[:-5][:60]
        for ep in scenario["episodes"]:
            eid = f"{stem}.{ep['id']}"
            for ev in ep["events"]:
                ev = dict(ev)
                if ev["type"] == "open":
                    ev.setdefault("therapist", THERAPISTS[n % len(THERAPISTS)])
                    ev.setdefault("gp", GPS[n % len(GPS)])
                    n += 1
                lines.append({"episode": eid, "patient": ep.get("patient", "P-" + eid), "event": ev})
    return lines


def treated(eid, patient, at, therapist="Fysio Web", gp="Huisarts Web", profile=1):
    """An LBP episode screened and stratified on `at`: week 3 reevaluation due at + 21 days."""
    base = {"episode": eid, "patient": patient}
    return [
        dict(base, event={"type": "open", "at": at, "onset": at, "complaint": "lbp", "age": 50,
                          "therapist": therapist, "gp": gp}),
        dict(base, event={"type": "screening", "at": at, "red_flags": [], "exclusions": []}),
        dict(base, event={"type": "stratification", "at": at, "profile": profile, "factors": {}}),
    ]


def seed(db):
    ok(db, "init")
    lines = scenario_lines()
    lines += treated("z-overdue", "PZ-1", "2027-01-25")   # week 3 due 2027-02-15: 14 days late
    lines += treated("z-late", "PZ-2", "2027-02-03")      # week 3 due 2027-02-24: 5 days late, not overdue
    lines += treated("z-due", "PZ-3", "2027-02-08")       # week 3 due 2027-03-01: today
    lines += treated("z-html", HOSTILE, "2027-02-10", therapist=HOSTILE, gp=HOSTILE)
    text = "".join(json.dumps(l) + "\n" for l in lines)
    ok(db, "import", "-", stdin=text)
    ok(db, "tick", "--now", TODAY)


# ---- a server process --------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db, *args, env=None, today=TODAY, expect_start=True):
        self.port = free_port()
        cmd = [ZORGPAD, "--db", db] + (["--today", today] if today else []) + ["serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, **(env or {})))
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.token = None
        self.base = None
        if not expect_start:
            return
        # serve prints a token of its own on loopback, unless behind a proxy (then user tokens only)
        bind = args[args.index("--bind") + 1] if "--bind" in args else "127.0.0.1"
        expect_token = web.is_loopback(bind) and "--behind-proxy" not in args
        deadline = time.time() + 30
        while self.base is None or (self.token is None and expect_token):
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                raise SystemExit(f"serve did not start: {self.proc.stderr.read() if self.proc.poll() is not None else ''}")
            if line is None:
                raise SystemExit(f"serve exited ({self.proc.wait()}): {self.proc.stderr.read()}")
            if line.startswith("zorgpad: serving "):
                self.base = line.split()[2].rstrip("/")
            elif line.startswith("zorgpad: token "):
                self.token = line.split()[2]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def stop(self):
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
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


def http(base, method, path, token=None, headers=None, body=None, context=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, method=method, headers=h, data=body)
    try:
        with urllib.request.urlopen(req, timeout=60, context=context) as r:
            return Reply(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.headers, e.read())


def q(**params):
    return "?" + urllib.parse.urlencode(params) if params else ""


def is_json_error(r, status, what):
    j = r.json()
    return check(r.status == status and isinstance(j, dict) and j.get("status") == status and isinstance(j.get("error"), str)
                 and r.headers.get("Content-Type", "").startswith("application/json"),
                 f"{what}: JSON error with status {status} (got {r.status}: {r.text[:200]})")


# ---- the checks ----------------------------------------------------------------------------

def all_episodes(base, **filters):
    out, offset = [], 0
    while True:
        r = http(base, "GET", "/api/episodes" + q(offset=offset, limit=7, **filters))
        j = r.json()
        if not check(r.status == 200, f"episodes page {offset} {filters}: {r.text[:200]}"):
            return out, 0
        out += j["episodes"]
        offset += 7
        if offset >= j["total"]:
            return out, j["total"]


def check_episodes(db, base):
    r = http(base, "GET", "/api/episodes")
    j = r.json()
    check(r.status == 200 and j["offset"] == 0 and j["limit"] == 50, "GET /api/episodes: default page 0/50")
    total = j["total"]
    check(total > 60, f"the seeded store has the scenario episodes ({total})")
    eps, t2 = all_episodes(base)
    ids = [e["id"] for e in eps]
    check(len(ids) == total == t2, f"paging through 7 at a time yields every episode once ({len(ids)} of {total})")
    check(ids == sorted(ids) and len(set(ids)) == len(ids), "pages are in id order without repeats")
    check(set(eps[0]) >= {"id", "patient", "state", "phase", "profile", "gp", "therapist", "next_due"},
          "an episode summary has id, patient, state, phase, profile, gp, therapist, next_due")
    r = http(base, "GET", "/api/episodes" + q(offset=total + 5, limit=10))
    check(r.status == 200 and r.json()["episodes"] == [] and r.json()["total"] == total, "a page past the end is empty")

    overview = json.loads(ok(db, "overview", "--json"))
    for name, values in (("state", overview["counts"]["state"]), ("phase", overview["counts"]["phase"])):
        for value, count in values.items():
            got, n = all_episodes(base, **{name: value})
            check(n == count and all(e[name] == value for e in got),
                  f"filter {name}={value}: {n} episodes, all {value} (overview counts {count})")
    for profile in ("1", "2", "3"):
        got, n = all_episodes(base, profile=profile)
        check(n == overview["counts"]["profile"][profile] and all(e["profile"] == int(profile) for e in got),
              f"filter profile={profile}")
    got, n = all_episodes(base, therapist="Fysio Anna", state="treatment")
    check(n > 0 and all(e["therapist"] == "Fysio Anna" and e["state"] == "treatment" for e in got),
          f"therapist and state combine ({n})")
    got, n = all_episodes(base, gp="Huisarts Web")
    check({e["id"] for e in got} == {"z-overdue", "z-late", "z-due"}, "filter gp")
    got, n = all_episodes(base, search="z-")
    check({e["id"] for e in got} == {"z-overdue", "z-late", "z-due", "z-html"}, "search by episode id prefix")
    got, n = all_episodes(base, search="PZ-")
    check({e["id"] for e in got} == {"z-overdue", "z-late", "z-due"}, "search by patient reference prefix")
    got, _ = all_episodes(base, search="z-html")
    check(len(got) == 1 and got[0]["patient"] == HOSTILE and got[0]["therapist"] == HOSTILE,
          "values come back exactly as stored (JSON, not HTML)")

    for params, what in (({"state": "treated"}, "unknown state"), ({"phase": "late"}, "unknown phase"),
                         ({"profile": "4"}, "profile 4"), ({"limit": "0"}, "limit 0"), ({"limit": "1001"}, "limit 1001"),
                         ({"offset": "-1"}, "negative offset"), ({"limit": "ten"}, "limit not a number"),
                         ({"colour": "red"}, "unknown parameter"), ({"search": "x" * 201}, "search too long")):
        is_json_error(http(base, "GET", "/api/episodes" + q(**params)), 400, f"GET /api/episodes {what}")
    is_json_error(http(base, "GET", "/api/episodes?state=treatment&state=closed"), 400, "a filter given twice")


def check_episode(db, base):
    eid = "profile1-recovers.ep-1"
    r = http(base, "GET", "/api/episodes/" + urllib.parse.quote(eid))
    j = r.json()
    check(r.status == 200, f"GET /api/episodes/{eid}: {r.text[:200]}")
    show = json.loads(ok(db, "show", eid, "--json"))
    for field in ("id", "patient", "state", "phase", "profile", "suggested_profile", "complaint", "recurrent", "sessions",
                  "reason", "scores", "profile_history", "transitions"):
        check(j.get(field) == show.get(field), f"episode {field} is the CLI's `show --json` {field}")
    check([{k: v for k, v in t.items() if k not in ("id", "letter", "overdue")} for t in j["tasks"]] == show["tasks"],
          "episode tasks are the scenario-format tasks, in creation order")
    cli_tasks = {t["id"] for t in json.loads(ok(db, "tasks", "--json"))["tasks"] if t["episode"] == eid}
    check({t["id"] for t in j["tasks"]} == cli_tasks, "each task carries its id (for POST …/done)")
    check(all("at" in t for t in j["transitions"]) and j["log"] and all({"seq", "type", "at"} <= set(e) for e in j["log"]),
          "dated history: transitions and the event log")
    check(any(l["kind"] == "gp_report_start" for l in j["letters"]), "letters list the episode's letter tasks")

    letter = next(l for l in j["letters"] if l["kind"] == "gp_report_start")
    r = http(base, "GET", letter["html"])
    check(r.status == 200 and r.headers.get("Content-Type", "").startswith("text/html"), f"letter html: {r.status}")
    check(r.text == ok(db, "letter", str(letter["task"])), "the served letter is the CLI's `letter TASK`")
    check("script-src" not in (r.headers.get("Content-Security-Policy") or "") and
          "default-src 'none'" in (r.headers.get("Content-Security-Policy") or ""), "letters are served without script")
    r = http(base, "GET", letter["text"] + "&lang=en")
    check(r.status == 200 and r.text == ok(db, "letter", str(letter["task"]), "--format", "text", "--lang", "en"),
          "letter text, English")
    reev = next(t for t in j["tasks"] if t["kind"] == "reevaluation")
    is_json_error(http(base, "GET", f"/api/tasks/{reev['id']}/letter"), 400, "a reevaluation task has no letter")
    is_json_error(http(base, "GET", f"/api/tasks/{letter['task']}/letter?lang=de"), 400, "letter lang de")
    is_json_error(http(base, "GET", "/api/tasks/999999/letter"), 404, "letter of an unknown task")

    is_json_error(http(base, "GET", "/api/episodes/no-such-episode"), 404, "an unknown episode")
    is_json_error(http(base, "GET", "/api/episodes/" + urllib.parse.quote("a/b c")), 404, "an unknown id with / and space")
    is_json_error(http(base, "GET", "/api/episodes/" + urllib.parse.quote(eid) + "?x=1"), 400, "unknown parameter on an episode")
    r = http(base, "GET", "/api/episodes/z-html")
    check(r.status == 200 and r.json()["patient"] == HOSTILE, "an episode with markup in its values")


def check_tasks(db, base):
    for params, cli in (({}, []), ({"status": "open"}, ["--status", "open"]),
                        ({"kind": "reevaluation", "status": "open", "due_before": "2027-02-20"},
                         ["--kind", "reevaluation", "--status", "open", "--due-before", "2027-02-20"]),
                        ({"kind": "gp_referral"}, ["--kind", "gp_referral"])):
        want = json.loads(ok(db, "tasks", "--json", *cli))["tasks"]
        got, offset = [], 0
        while True:
            r = http(base, "GET", "/api/tasks" + q(offset=offset, limit=40, **params))
            if not check(r.status == 200, f"GET /api/tasks {params}: {r.text[:200]}"):
                break
            got += r.json()["tasks"]
            check(r.json()["total"] == len(want), f"/api/tasks {params}: total {r.json()['total']} is {len(want)}")
            offset += 40
            if offset >= r.json()["total"]:
                break
        check(got == want, f"/api/tasks {params} pages are the CLI's `tasks --json {' '.join(cli)}`")
    for params, what in (({"kind": "letter"}, "unknown kind"), ({"status": "late"}, "unknown status"),
                         ({"due_before": "2027-02-30"}, "impossible date"), ({"due_before": "soon"}, "not a date"),
                         ({"limit": "5000"}, "limit 5000")):
        is_json_error(http(base, "GET", "/api/tasks" + q(**params)), 400, f"GET /api/tasks {what}")


def check_overview(db, base):
    r = http(base, "GET", "/api/overview")
    j = r.json()
    check(r.status == 200, f"GET /api/overview: {r.text[:200]}")
    cli = json.loads(ok(db, "overview", "--json"))
    check(j == cli, "GET /api/overview is the CLI's `overview --json` (one implementation)")
    rows = j["overdue"]["tasks"]
    check(j["overdue"]["total"] >= 2 and len(rows) == min(50, j["overdue"]["total"]), "overdue: total and rows")
    check(all(t["kind"] == "reevaluation" and t["status"] == "open" and t["days_late"] >= 7 for t in rows),
          "overdue rows are open reevaluations 7 or more days late")
    check([(t["due"], t["id"]) for t in rows] == sorted((t["due"], t["id"]) for t in rows), "overdue: oldest first")
    tasks = json.loads(ok(db, "tasks", "--json", "--kind", "reevaluation", "--status", "open"))["tasks"]
    want = [t["id"] for t in tasks if t["due"] <= "2027-02-22"]  # due + 7 <= 2027-03-01
    check([t["id"] for t in rows] == want[:50], "overdue: exactly the open reevaluations due on or before today - 7")
    ids = [t["episode"] for t in http(base, "GET", "/api/overview" + q(limit=1000)).json()["overdue"]["tasks"]]
    check("z-overdue" in ids and "z-late" not in ids, "14 days late is overdue, 5 days late is not")
    for eid, want in (("z-overdue", True), ("z-late", False)):
        reev = [t for t in http(base, "GET", "/api/episodes/" + eid).json()["tasks"] if t["kind"] == "reevaluation"]
        check(reev and reev[0]["overdue"] is want, f"{eid}: the task's overdue flag is {want} (the overview's rule)")
    due = [t["episode"] for t in j["due_this_week"]["tasks"]]
    check("z-due" in due and "z-late" in due and "z-overdue" not in due, "due this week: today and the last six days")
    waiting = http(base, "GET", "/api/overview" + q(limit=1000)).json()["waiting_on_gp"]
    by_id = {e["id"]: e for e in waiting["episodes"]}
    check(waiting["total"] == len(by_id), "waiting on GP: all rows within limit 1000")
    check("z-due" in by_id and any(t["kind"] == "gp_report_start" for t in by_id["z-due"]["tasks"]),
          "waiting on GP: an open gp_report_start")
    since = [e["since"] for e in waiting["episodes"] if e["since"]]
    check(since == sorted(since), "waiting on GP: longest waiting first")
    in_gp_state, _ = all_episodes(base, state="gp_consultation")
    check(in_gp_state and all(e["id"] in by_id for e in in_gp_state), "waiting on GP: every episode in gp_consultation")
    gp_open = {t["episode"] for t in json.loads(ok(db, "tasks", "--json", "--status", "open"))["tasks"]
               if t["kind"].startswith("gp_")}
    check(set(by_id) == gp_open | {e["id"] for e in in_gp_state}, "waiting on GP: exactly those with open gp_* tasks")

    r = http(base, "GET", "/api/overview" + q(therapist="Fysio Web", limit=1))
    f = r.json()
    check(r.status == 200 and f["overdue"]["total"] == 1 and f["overdue"]["tasks"][0]["episode"] == "z-overdue",
          "overview filtered by therapist")
    check(f["episodes"] == 3 and len(f["due_this_week"]["tasks"]) == 1 and f["due_this_week"]["total"] == 2,
          "the limit cuts the rows, not the totals")
    check(f == json.loads(ok(db, "overview", "--json", "--therapist", "Fysio Web", "--limit", "1")),
          "filtered overview is the CLI's")
    is_json_error(http(base, "GET", "/api/overview" + q(profile="x")), 400, "overview profile x")
    is_json_error(http(base, "GET", "/api/overview" + q(limit="0")), 400, "overview limit 0")
    check_urgent(db, base, j)
    check_inactive(db, base, j)


TERMINAL = ("referred", "closed", "excluded")


def days_between(a, b):
    import datetime
    return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


def check_urgent(db, base, j):
    """Spec §11: every open red_flag_review and gp_urgent_contact task, oldest first, whatever its age."""
    urgent = http(base, "GET", "/api/overview" + q(limit=1000)).json()["urgent"]
    open_tasks = json.loads(ok(db, "tasks", "--json", "--status", "open"))["tasks"]
    want = [t["id"] for t in open_tasks if t["kind"] in ("red_flag_review", "gp_urgent_contact")]
    got = [t["id"] for t in urgent["tasks"]]
    check(len(want) >= 2 and urgent["total"] == len(want) and got == want,
          f"urgent: exactly the open red_flag_review and gp_urgent_contact tasks, due order ({got} vs {want})")
    check({t["kind"] for t in urgent["tasks"]} == {"red_flag_review", "gp_urgent_contact"}, "urgent: both kinds listed")
    check(any(t["days_late"] > 42 for t in urgent["tasks"]), "urgent: old tasks too (whatever their age)")
    check(all(t["status"] == "open" and set(t) >= {"patient", "state", "therapist", "gp", "days_late", "due"}
              for t in urgent["tasks"]), "urgent: open tasks with their episode's summary")
    check(any(t["state"] == "referred" for t in urgent["tasks"]), "urgent: an urgent call of a referred episode is listed")
    check(j["urgent"]["tasks"] == urgent["tasks"][:50] and j["urgent"]["total"] == urgent["total"], "urgent: the limit")
    text = ok(db, "overview")
    check(0 <= text.find("URGENT") < text.find("\nstate ") < text.find("OVERDUE"),
          "`zorgpad overview` prints the urgent tasks before the counts and every other list")
    done_kind = urgent["tasks"][0]
    one = http(base, "GET", "/api/overview" + q(search=done_kind["episode"])).json()["urgent"]
    check(one["total"] >= 1 and all(t["episode"].startswith(done_kind["episode"]) for t in one["tasks"]),
          "urgent: the search filter applies")
    anna = http(base, "GET", "/api/overview" + q(therapist="Fysio Anna", limit=1000)).json()["urgent"]
    check(0 < anna["total"] < len(want) and all(t["therapist"] == "Fysio Anna" for t in anna["tasks"]),
          "urgent: the therapist filter applies")


def check_inactive(db, base, j):
    """Spec §11: non-terminal episodes without a clinical event for 42 days or more, longest quiet first."""
    eps, _ = all_episodes(base)
    want = []
    for e in eps:
        if e["state"] in TERMINAL:
            continue
        log = http(base, "GET", "/api/episodes/" + urllib.parse.quote(e["id"])).json()["log"]
        last = max(x["at"] for x in log if x["type"] not in ("task_done", "tick"))
        if days_between(last, TODAY) >= 42:
            want.append((last, e["id"], e["therapist"], e["state"]))
    want.sort()
    inactive = http(base, "GET", "/api/overview" + q(limit=1000)).json()["inactive"]
    got = [(e["last_event"], e["id"]) for e in inactive["episodes"]]
    check(len(want) >= 2 and inactive["total"] == len(want) and got == [(w[0], w[1]) for w in want],
          f"inactive: exactly the non-terminal episodes quiet for 42 days or more, longest first ({len(got)} vs {len(want)})")
    check(all(e["days_inactive"] == days_between(e["last_event"], TODAY) >= 42 and e["state"] not in TERMINAL
              and set(e) >= {"patient", "phase", "profile", "gp", "therapist", "next_due"} for e in inactive["episodes"]),
          "inactive: each with its last event, the days since and its summary")
    check(j["inactive"]["episodes"] == inactive["episodes"][:50] and j["inactive"]["total"] == len(want), "inactive: the limit")
    anna = http(base, "GET", "/api/overview" + q(therapist="Fysio Anna", limit=1000)).json()["inactive"]
    want_anna = [w[1] for w in want if w[2] == "Fysio Anna"]
    check(0 < len(want_anna) < len(want) and [e["id"] for e in anna["episodes"]] == want_anna,
          "inactive: the therapist filter applies")
    screened = http(base, "GET", "/api/overview" + q(state="screened", limit=1000)).json()["inactive"]
    check([e["id"] for e in screened["episodes"]] == [w[1] for w in want if w[3] == "screened"],
          "inactive: the state filter applies")
    check(http(base, "GET", "/api/overview" + q(state="closed")).json()["inactive"]["total"] == 0,
          "inactive: never a closed episode")
    text = ok(db, "overview")
    check("INACTIVE" in text and want[0][1] in text.split("INACTIVE", 1)[1], "`zorgpad overview` prints the inactive episodes")


def check_done(db, srv):
    base = srv.base
    j = http(base, "GET", "/api/overview").json()
    first = j["overdue"]["tasks"][0]
    path = f"/api/tasks/{first['id']}/done"
    is_json_error(http(base, "POST", path), 401, "POST without the token")
    r = http(base, "POST", path, token="0" * 32)
    is_json_error(r, 401, "POST with a wrong token")
    check("Bearer" in (r.headers.get("WWW-Authenticate") or ""), "401 names the Bearer scheme")
    is_json_error(http(base, "POST", path, headers={"Cookie": "zorgpad_token=" + srv.token}), 401,
                  "POST with the token as a cookie only (CSRF)")
    is_json_error(http(base, "POST", path + "?token=" + srv.token), 401, "POST with the token in the query only")
    r = http(base, "POST", path, token=srv.token)
    check(r.status == 200 and r.json()["task"]["id"] == first["id"] and r.json()["task"]["status"] == "done",
          f"POST done with the token: {r.status} {r.text[:200]}")
    after = http(base, "GET", "/api/overview").json()
    check(first["id"] not in [t["id"] for t in after["overdue"]["tasks"]] and
          after["overdue"]["total"] == j["overdue"]["total"] - 1, "the task left the overdue list")
    cli = [t for t in json.loads(ok(db, "tasks", "--json"))["tasks"] if t["id"] == first["id"]]
    check(cli and cli[0]["status"] == "done", "the CLI sees the task done (same store)")
    log = http(base, "GET", "/api/episodes/" + urllib.parse.quote(first["episode"])).json()["log"]
    check(log[-1]["type"] == "task_done", "the episode's log records task_done")
    r = http(base, "POST", path, headers={"X-Zorgpad-Token": srv.token})
    is_json_error(r, 409, "marking a done task done again")
    is_json_error(http(base, "POST", "/api/tasks/999999/done", token=srv.token), 404, "POST done on an unknown task")
    is_json_error(http(base, "POST", "/api/tasks/abc/done", token=srv.token), 400, "POST done on a malformed id")
    is_json_error(http(base, "POST", "/api/tasks/0/done", token=srv.token), 400, "POST done on task 0")
    is_json_error(http(base, "GET", path), 405, "GET on …/done")
    is_json_error(http(base, "DELETE", "/api/episodes", token=srv.token), 405, "DELETE /api/episodes")
    is_json_error(http(base, "PUT", "/api/episodes", token=srv.token), 405, "PUT /api/episodes")
    # POST /api/episodes opens an episode (the write API): without a body it is bad input
    is_json_error(http(base, "POST", "/api/episodes", token=srv.token), 400, "POST /api/episodes without a body")
    # on loopback a user's token writes too, as that user
    _, user_token = web.add_user(ZORGPAD, db, "Fysio Loopback", "therapist", practice="main")
    second = j["overdue"]["tasks"][1]
    r = http(base, "POST", f"/api/tasks/{second['id']}/done", token=user_token)
    check(r.status == 200 and r.json()["task"]["status"] == "done", f"POST done with a user's token on loopback: {r.status}")
    me = http(base, "GET", "/api/me", token=user_token).json()
    check(me and me["user"].startswith("user:Fysio Loopback#") and me["local"] is False, f"GET /api/me as the user: {me}")
    me = http(base, "GET", "/api/me").json()
    check(me and me["local"] is True and me["role"] == "practice_admin", f"GET /api/me without a token on loopback: {me}")
    is_json_error(http(base, "GET", "/api/overview", token="0" * 32), 401, "a read with a wrong token on loopback")


def check_misc(db, base):
    r = http(base, "GET", "/healthz")
    check(r.status == 200 and r.json()["status"] == "ok" and r.json()["episodes"] > 0, "GET /healthz")
    r = http(base, "GET", "/api/diagram")
    check(r.status == 200 and r.json()["source"] == ok(db, "diagram", "--format", "mermaid"),
          "GET /api/diagram is `zorgpad diagram` (from the transition table)")
    r = http(base, "GET", "/api/diagram?format=dot")
    check(r.status == 200 and r.json()["source"] == ok(db, "diagram", "--format", "dot"), "diagram as dot")
    is_json_error(http(base, "GET", "/api/diagram?format=svg"), 400, "diagram format svg")
    r = http(base, "GET", "/calendar.ics")
    check(r.status == 200 and r.headers.get("Content-Type", "").startswith("text/calendar") and
          r.text.startswith("BEGIN:VCALENDAR\r\n"), f"GET /calendar.ics: {r.status}")
    check(r.text == ok(db, "calendar"), "the calendar feed is `zorgpad calendar`")
    r = http(base, "GET", "/calendar.ics" + q(**{"from": "2027-02-01", "to": "2027-03-31", "lang": "en"}))
    check(r.status == 200 and r.text == ok(db, "calendar", "--from", "2027-02-01", "--to", "2027-03-31", "--lang", "en"),
          "calendar with from/to/lang")
    is_json_error(http(base, "GET", "/calendar.ics?from=2027-13-01"), 400, "calendar with a bad date")
    r = http(base, "GET", "/")
    csp = r.headers.get("Content-Security-Policy") or ""
    check(r.status == 200 and r.headers.get("Content-Type", "").startswith("text/html") and "<title>" in r.text,
          "GET / serves the dashboard")
    check("script-src 'self'" in csp and "unsafe-inline" not in csp, "the dashboard page forbids inline script")
    check(r.headers.get("X-Content-Type-Options") == "nosniff", "nosniff on every response")
    for asset in ("/app.js", "/app.css"):
        check(http(base, "GET", asset).status == 200, f"GET {asset}")
    is_json_error(http(base, "GET", "/nope"), 404, "an unknown path")
    is_json_error(http(base, "GET", "/api/tasks/1/undo"), 404, "an unknown task action")
    is_json_error(http(base, "GET", "/api/episodes", headers={"Host": "evil.example:80"}), 403,
                  "a non-loopback Host header on a loopback server (DNS rebinding)")
    check(http(base, "GET", "/healthz", headers={"Host": "localhost"}).status == 200, "Host: localhost is fine")
    check_duplicate_host(base)


def raw_request(base, head):
    """Sends `head` (a request head, lines joined by CRLF) as it is; (status, JSON body or None)."""
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    parts = status_line.split(b" ")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), j


def check_duplicate_host(base):
    """Two Host headers: 400 (RFC 9112), whichever copy the Host check would have read."""
    def get(*headers):
        return raw_request(base, "\r\n".join(["GET /healthz HTTP/1.1", *headers, "Connection: close"]))
    status, j = get("Host: 127.0.0.1")
    check(status == 200, f"one Host header: 200 ({status})")
    for hosts in (["127.0.0.1", "127.0.0.1"], ["127.0.0.1", "evil.example"], ["evil.example", "localhost"]):
        status, j = get(*("Host: " + h for h in hosts))
        check(status == 400 and isinstance(j, dict) and j.get("status") == 400 and "host" in j.get("error", "").lower(),
              f"two Host headers {hosts}: JSON error 400 (got {status}: {j})")
    status, j = get("Host: 127.0.0.1", "Authorization: Bearer a", "Authorization: Bearer b")
    check(status == 400, f"two Authorization headers: 400 ({status})")


def check_concurrency(db, srv):
    base = srv.base
    eps, _ = all_episodes(base)
    ids = [e["id"] for e in eps]
    paths = []
    for i in range(240):
        kind = i % 4
        if kind == 0:
            paths.append("/api/episodes" + q(offset=(i * 7) % len(ids), limit=20))
        elif kind == 1:
            paths.append("/api/episodes/" + urllib.parse.quote(ids[i % len(ids)]))
        elif kind == 2:
            paths.append("/api/overview" + q(limit=20))
        else:
            paths.append("/api/tasks" + q(status="open", limit=50))
    stop = threading.Event()
    writes = []

    def writer():  # another process writes while the server reads
        n = 0
        while not stop.is_set() and n < 40:
            t0 = time.time()
            r = run(db, "record", "z-due", "-", stdin=json.dumps({"type": "session", "at": TODAY}))
            writes.append((r.returncode, time.time() - t0, r.stderr))
            n += 1

    w = threading.Thread(target=writer)
    w.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            replies = list(pool.map(lambda p: (p, http(base, "GET", p)), paths))
    finally:
        stop.set()
        w.join()
    bad = [(p, r.status, r.text[:120]) for p, r in replies if r.status != 200 or r.json() is None]
    check(not bad, f"240 requests from 16 clients at once all answer 200 with JSON ({bad[:3]})")
    check(writes and all(code == 0 for code, _, _ in writes), f"the CLI writes while the server reads ({writes[:1]})")
    check(max(t for _, t, _ in writes) < 10, f"reads never hold a writer long (slowest write {max(t for _, t, _ in writes):.2f}s)")
    show = json.loads(ok(db, "show", "z-due", "--json"))
    r = http(base, "GET", "/api/episodes/z-due").json()
    check(r["sessions"] == show["sessions"] == len(writes), "the server reads what the CLI wrote")


def check_load(srv):
    """wrk from a second process, bounded in time: requests/s for GET /api/episodes."""
    wrk = shutil.which("wrk")
    if not wrk:
        print("web_api: wrk not installed (scripts/setup-browser.sh installs it); load test skipped")
        return
    url = srv.base + "/api/episodes?limit=50&offset=20"
    r = subprocess.run([wrk, "-t2", "-c8", "-d5s", url], capture_output=True, text=True, timeout=60)
    rps = next((float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("Requests/sec:")), 0.0)
    check(r.returncode == 0 and "Non-2xx" not in r.stdout and "Socket errors" not in r.stdout,
          f"wrk: every answer 200 ({r.stdout.strip()[-300:]})")
    check(rps > 20, f"wrk: GET /api/episodes answers more than 20 requests/s ({rps:.0f})")
    print(f"web_api: wrk -t2 -c8 -d5s GET /api/episodes?limit=50: {rps:.0f} requests/s")


def check_guarded(db, tmp):
    # Any other address: refused without TLS or a proxy in front, one line, nothing served.
    r = run(db, "serve", "--bind", "0.0.0.0", "--port", str(free_port()))
    check(r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1 and "TLS" in r.stderr,
          f"serve on 0.0.0.0 without TLS or --behind-proxy exits 2 with one line about TLS: {r.returncode} {r.stderr!r}")
    for args, what in ((["--tls-cert", db], "--tls-cert without --tls-key"),
                       (["--behind-proxy", "--tls-cert", db, "--tls-key", db], "--behind-proxy with --tls-cert"),
                       (["--tls-cert", db, "--tls-key", db], "a certificate that is not one")):
        r = run(db, "serve", "--bind", "0.0.0.0", "--port", str(free_port()), *args)
        check(r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, f"{what}: exit 2, one line "
                                                                                       f"({r.returncode}: {r.stderr!r})")
    # --token and $ZORGPAD_TOKEN are gone: user tokens (`zorgpad user add`) took their place.
    r = run(db, "serve", "--token", "s3cret-token-for-the-web-test")
    check(r.returncode == 2 and "--token" in r.stderr and r.stdout == "", f"serve --token is refused: {r.stderr!r}")
    env_token = "s3cret-token-for-the-web-test"
    srv = Server(db, env={"ZORGPAD_TOKEN": env_token})
    try:
        check(srv.token is not None and srv.token != env_token, "loopback: serve prints a token of its own ($ZORGPAD_TOKEN is not read)")
        tid = http(srv.base, "GET", "/api/tasks?status=open&kind=gp_report_start").json()["tasks"][0]["id"]
        is_json_error(http(srv.base, "POST", f"/api/tasks/{tid}/done", token=env_token), 401, "$ZORGPAD_TOKEN opens nothing")
    finally:
        srv.stop()

    uid, token = web.add_user(ZORGPAD, db, "Fysio Proxy", "therapist", practice="main")
    _, coordinator = web.add_user(ZORGPAD, db, "Coordinator Proxy", "coordinator")
    srv = Server(db, "--bind", "0.0.0.0", "--behind-proxy")
    try:
        base = f"http://127.0.0.1:{srv.port}"
        check(srv.token is None, "behind a proxy serve prints no token of its own")
        check(srv.base == f"http://0.0.0.0:{srv.port}", f"serving on 0.0.0.0 ({srv.base})")
        for path in ("/api/episodes", "/api/overview", "/healthz", "/calendar.ics", "/api/me"):
            is_json_error(http(base, "GET", path), 401, f"behind a proxy: GET {path} without a token")
        r = http(base, "GET", "/api/episodes")
        check("Bearer" in (r.headers.get("WWW-Authenticate") or ""), "401 names the Bearer scheme")
        for path in ("/", "/app.js", "/app.css", "/api/openapi.yaml"):
            check(http(base, "GET", path).status == 200, f"behind a proxy: GET {path} is public")
        check(http(base, "GET", "/api/episodes", token=token).status == 200, "behind a proxy: a user's Bearer token")
        check(http(base, "GET", "/api/episodes", headers={"X-Zorgpad-Token": token}).status == 200, "X-Zorgpad-Token")
        me = http(base, "GET", "/api/me", token=token).json()
        check(me and {k: me.get(k) for k in ("user", "role", "local")} ==
              {"user": f"user:Fysio Proxy#{uid}", "role": "therapist", "local": False},
              f"GET /api/me: the user, never the local one ({me})")
        r = http(base, "GET", "/?token=" + urllib.parse.quote(token))
        cookie = r.headers.get("Set-Cookie") or ""
        check(r.status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie,
              f"the first page load with ?token= sets an HttpOnly, SameSite=Strict, Secure cookie (docs/serve.md, "
              f"Tokens) ({r.status}, {cookie!r})")
        r = http(base, "GET", "/?token=wrong")
        check(r.status == 200 and not r.headers.get("Set-Cookie"), "the page with a wrong ?token=: no cookie")
        r = http(base, "GET", "/api/overview?token=" + urllib.parse.quote(token))
        cookie = r.headers.get("Set-Cookie") or ""
        check(r.status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie,
              f"a read with ?token= sets an HttpOnly, SameSite=Strict, Secure cookie behind the proxy ({cookie!r})")
        is_json_error(http(base, "GET", "/api/overview?token=wrong"), 401, "a read with a wrong ?token=")
        check(http(base, "GET", "/api/overview", headers={"Cookie": "zorgpad_token=" + token}).status == 200,
              "the cookie opens the reads that follow")
        check(http(base, "GET", "/calendar.ics?token=" + urllib.parse.quote(token)).status == 200,
              "a calendar subscription URL with ?token=")
        check(http(base, "GET", "/healthz", token=token, headers={"Host": "zorgpad.example:8080"}).status == 200,
              "behind a proxy any Host name is fine (no Host check)")
        tid = http(base, "GET", "/api/tasks?status=open&kind=gp_report_start", token=token).json()["tasks"][0]["id"]
        is_json_error(http(base, "POST", f"/api/tasks/{tid}/done", headers={"Cookie": "zorgpad_token=" + token}), 401,
                      "POST with the cookie only")
        is_json_error(http(base, "POST", f"/api/tasks/{tid}/done"), 401, "POST without a token")
        check(http(base, "POST", f"/api/tasks/{tid}/done", token=token).status == 200, "POST with a user's token")
        # bad tokens from one client (the address the proxy appended last): 5 get 401, then 429 with
        # Retry-After, 1 s and doubling; other clients go on; a good token after the wait clears it
        bad = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        other = {"X-Forwarded-For": "198.51.100.1, 203.0.113.8"}
        for i in range(5):
            is_json_error(http(base, "GET", "/api/episodes", token=f"zp_{uid}_{'x' * 43}", headers=bad), 401,
                          f"bad token {i + 1} of one client")
        r = http(base, "GET", "/api/episodes", token=token, headers=bad)
        is_json_error(r, 429, "after 5 bad tokens: 429, even with a good token")
        check(r.headers.get("Retry-After") == "1", f"the first wait is 1 s (Retry-After {r.headers.get('Retry-After')})")
        check(http(base, "GET", "/api/episodes", token=token, headers=other).status == 200,
              "another client (X-Forwarded-For) is not held up")
        check(http(base, "GET", "/api/episodes", token=token, headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}).status
              == 200, "only the address the proxy appended (the last) counts")
        time.sleep(1.2)
        is_json_error(http(base, "GET", "/api/episodes", token="wrong", headers=bad), 401, "a sixth bad token after the wait")
        r = http(base, "GET", "/api/episodes", token=token, headers=bad)
        is_json_error(r, 429, "after 6 bad tokens: 429 again")
        check(r.headers.get("Retry-After") == "2", f"the wait doubles to 2 s (Retry-After {r.headers.get('Retry-After')})")
        time.sleep(2.2)
        check(http(base, "GET", "/api/episodes", token=token, headers=bad).status == 200, "a good token after the wait")
        is_json_error(http(base, "GET", "/api/episodes", token="wrong", headers=bad), 401,
                      "after a good token the count starts again (401, not 429)")
        # a revoked user is refused from then on
        check(http(base, "GET", "/api/episodes", token=coordinator).status == 200, "a coordinator's token")
        r = run(db, "user", "revoke", str(uid))
        check(r.returncode == 0, f"zorgpad user revoke {uid}: {r.stderr}")
        is_json_error(http(base, "GET", "/api/episodes", token=token), 401, "a revoked user's token")
    finally:
        srv.stop()
    check_tls(db, tmp, coordinator)
    # The address is in use: exit 1, a clear message.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        r = run(db, "serve", "--port", str(s.getsockname()[1]))
        check(r.returncode == 1 and "cannot listen" in r.stderr, f"a port in use: exit 1 ({r.returncode}: {r.stderr})")
    r = run(db, "serve", "--port", "70000")
    check(r.returncode == 2, "--port 70000 is bad input")


def check_tls(db, tmp, token):
    """Off loopback with a certificate: HTTPS, every request but the public files needs a user's token."""
    openssl = shutil.which("openssl")
    if not openssl:
        print("web_api: openssl not installed; serve with --tls-cert not checked")
        return
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    r = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"web_api: openssl could not make a certificate ({r.stderr.strip()[:100]}); TLS not checked")
        return
    srv = Server(db, "--bind", "0.0.0.0", "--tls-cert", cert, "--tls-key", key)
    try:
        check(srv.token is None and srv.base == f"https://0.0.0.0:{srv.port}", f"TLS: https, no token printed ({srv.base})")
        base = f"https://127.0.0.1:{srv.port}"
        ctx = web.unverified_tls()
        is_json_error(http(base, "GET", "/api/episodes", context=ctx), 401, "TLS: a read without a token")
        r = http(base, "GET", "/api/episodes", token=token, context=ctx)
        check(r.status == 200 and "max-age=" in (r.headers.get("Strict-Transport-Security") or ""),
              f"TLS: a user's token reads; HSTS ({r.status}, {r.headers.get('Strict-Transport-Security')})")
        check(http(base, "GET", "/", context=ctx).status == 200, "TLS: the page is public")
        check(http(base, "GET", "/healthz", token=token, headers={"Host": "zorgpad.example"}, context=ctx).status == 200,
              "TLS off loopback: any Host name is fine")
    finally:
        srv.stop()


def check_demo(tmp):
    db = os.path.join(tmp, "demo.db")
    r = run(db, "demo", today=None)
    if r.returncode != 0:
        print(f"web_api: `zorgpad demo` not available ({r.stderr.strip()[:80]}); demo database not checked")
        return
    srv = Server(db, today=None)
    try:
        j = http(srv.base, "GET", "/api/overview").json()
        check(j == json.loads(ok(db, "overview", "--json", today=None)), "demo: the overview is the CLI's")
        eps, total = all_episodes(srv.base)
        check(total > 0 and len(eps) == total, f"demo: {total} episodes, all pages")
        rows = j["overdue"]["tasks"]
        check([(t["due"], t["id"]) for t in rows] == sorted((t["due"], t["id"]) for t in rows), "demo: overdue oldest first")
        for e in eps[:20]:
            check(http(srv.base, "GET", "/api/episodes/" + urllib.parse.quote(e["id"])).status == 200, f"demo: {e['id']}")
    finally:
        srv.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "web.db")
        seed(db)
        srv = Server(db)
        try:
            check(srv.base == f"http://127.0.0.1:{srv.port}", f"serving on loopback by default ({srv.base})")
            check(srv.token is not None and len(srv.token) == 32, "a random token is generated and printed")
            check_episodes(db, srv.base)
            check_episode(db, srv.base)
            check_tasks(db, srv.base)
            check_overview(db, srv.base)
            check_misc(db, srv.base)
            check_done(db, srv)
            check_concurrency(db, srv)
            check_load(srv)
        finally:
            srv.stop()
        check_guarded(db, tmp)
        check_demo(tmp)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("web_api: ok")


if __name__ == "__main__":
    main()
