#!/usr/bin/python3
"""The dashboard per role, in real headless Chromium, on PostgreSQL with two
practices: tests/browser/roles.test.mjs.

Run as `scripts/with-postgres.sh ZORGPAD_BINARY /usr/bin/python3
pg_browser_roles.py ZORGPAD_BINARY` (ctest does): it needs ZORGPAD_PG_URL
(an application role). `--keep` (after the binary) keeps the temporary
directory with the screenshots; it is kept anyway when a check fails.

Practices A and B are seeded through the CLI (`--practice P import`, NDJSON
lines whose events are copied from tests/scenarios/*.json, with a GP code and
a therapist put on the open event); patient references are distinct per
practice (PA-n, PB-n), and so are the episode ids (epA-n, epB-n). Episodes of
A are addressed to GP-NOORD and GP-ZUID, of B to GP-NOORD and GP-OOST. Users
(`zorgpad user add`): a therapist of A, a coordinator, a gp with GP code
GP-NOORD of no one practice, and a gp with the same code of practice A. One
`zorgpad --db URL --practice A serve --port 0`; the node test opens
/?token=TOKEN for each role (see its header for what it checks) and writes a
screenshot per role into the temporary directory.

Afterwards, from the database: the task the coordinator marked done in B is
done (and A's tasks are as they were), and the audit log holds the letter
the network gp opened from the dashboard as read by that gp (user:NAME#ID),
not by the local user: the letter went out with the gp's token.
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
KEEP = "--keep" in sys.argv[2:]
URL = os.environ.get("ZORGPAD_PG_URL")
TESTS = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BROWSER_DIR = os.path.join(TESTS, "browser")
CHROMIUM = "/usr/bin/chromium"
TODAY = "2026-02-25"  # after every seeded event; the referrals of February are "this month"
LETTER_KINDS = {"gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim",
                "gp_red_flag_notice"}
GP_CODE = "GP-NOORD"
failures = []

# episode id -> (practice, patient, scenario, GP code, therapist)
SEED = {
    "epA-1": ("A", "PA-1", "gp-consult-refer", GP_CODE, "Fysio Anna"),
    "epA-2": ("A", "PA-2", "profile1-recovers", GP_CODE, "Fysio Anna"),
    "epA-3": ("A", "PA-3", "factors-dominant-suggests-profile3", "GP-ZUID", "Fysio Bram"),
    "epA-4": ("A", "PA-4", "cauda-equina", "GP-ZUID", "Fysio Bram"),
    "epB-1": ("B", "PB-1", "gp-consult-refer", GP_CODE, "Fysio Cees"),
    "epB-2": ("B", "PB-2", "cauda-equina", "GP-OOST", "Fysio Cees"),
    "epB-3": ("B", "PB-3", "factors-dominant-suggests-profile3", "GP-OOST", "Fysio Dirk"),
}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(practice, *args, stdin=None):
    cmd = [ZORGPAD, "--db", URL, "--today", TODAY] + (["--practice", practice] if practice else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)


def ok(practice, *args, stdin=None):
    p = run(practice, *args, stdin=stdin)
    if p.returncode != 0:
        raise SystemExit(f"pg_browser_roles: zorgpad --practice {practice} {' '.join(args)} failed ({p.returncode}): "
                         f"{p.stderr.strip()}")
    return p.stdout


def add_user(name, role, practice=None, gp=None):
    out = ok(None, "user", "add", "--name", name, "--role", role, *(["--practice", practice] if practice else []),
             *(["--gp", gp] if gp else [])).splitlines()
    uid = int(out[0].split()[1])
    token = out[-1].strip()
    if not token.startswith("zp_"):
        raise SystemExit(f"pg_browser_roles: user add printed no token: {out}")
    return {"id": uid, "name": name, "audit": f"user:{name}#{uid}", "token": token}


def scenario_events(name):
    with open(os.path.join(TESTS, "scenarios", name + ".json")) as f:
        return json.load(f)["episodes"][0]["events"]


def seed():
    for practice in ("A", "B"):
        lines = []
        for eid, (pr, patient, scenario, gp, therapist) in SEED.items():
            if pr != practice:
                continue
            for ev in scenario_events(scenario):
                ev = dict(ev, gp=gp, therapist=therapist) if ev["type"] == "open" else ev
                lines.append({"episode": eid, "patient": patient, "event": ev})
        ok(practice, "import", "-", stdin="".join(json.dumps(l) + "\n" for l in lines))
        ok(practice, "tick", "--now", TODAY)


def tasks(practice):
    return json.loads(ok(practice, "tasks", "--json"))["tasks"]


def expected_world():
    """What each role should see, from the CLI (not from the server under test)."""
    world = {"practices": {}}
    for practice in ("A", "B"):
        rows = tasks(practice)
        eps = {eid: v for eid, v in SEED.items() if v[0] == practice}
        gp_letters = sorted(t["id"] for t in rows if t["kind"] in LETTER_KINDS and SEED[t["episode"]][3] == GP_CODE)
        world["practices"][practice] = {
            "episodes": sorted(eps),
            "patients": sorted(v[1] for v in eps.values()),
            "gp_letters": gp_letters,
            "other_letters": sorted(t["id"] for t in rows if t["kind"] in LETTER_KINDS and t["id"] not in gp_letters),
            "gp_episodes": sorted(eid for eid, v in eps.items() if v[3] == GP_CODE),
        }
        check(gp_letters, f"the seed gives {GP_CODE} letters in practice {practice}")
        check(world["practices"][practice]["other_letters"], f"the seed gives other GPs' letters in practice {practice}")
    return world


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        cmd = [ZORGPAD, "--db", URL, "--today", TODAY, "--practice", "A", "serve", "--port", str(free_port())]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=lambda: [self.err.append(l) for l in self.proc.stderr], daemon=True).start()
        self.base = None
        deadline = time.time() + 30
        while self.base is None:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                self.stop()
                raise SystemExit("pg_browser_roles: serve did not start: " + "".join(self.err))
            if line is None:
                raise SystemExit(f"pg_browser_roles: serve exited ({self.proc.wait()}): {''.join(self.err)}")
            if line.startswith("zorgpad: serving "):
                self.base = line.split()[2]

    def _read_out(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def audit(practice, user):
    out = ok(practice, "audit", "--user", user, "--json")
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def main():
    if not URL:
        print("ZORGPAD_PG_URL not set: run through scripts/with-postgres.sh", file=sys.stderr)
        return 1
    if not os.path.exists(CHROMIUM):
        print(f"pg_browser_roles: SKIPPED: {CHROMIUM} is absent (scripts/setup-browser.sh installs Debian's chromium)")
        return 0
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise SystemExit("pg_browser_roles: node and npm are needed (scripts/setup-browser.sh installs them)")
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        r = subprocess.run([npm, "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"pg_browser_roles: npm ci in tests/browser failed: {r.stderr[-2000:]}")

    t0 = time.monotonic()
    seed()
    world = expected_world()
    users = {
        "therapist": add_user("Anna Therapist", "therapist", practice="A"),
        "coordinator": add_user("Coco Coordinator", "coordinator"),
        "gp": add_user("Dr Noord", "gp", gp=GP_CODE),
        "gp_a": add_user("Dr Noord A", "gp", practice="A", gp=GP_CODE),
    }
    tasks_a_before = tasks("A")
    print(f"seed: {time.monotonic() - t0:.1f} s")

    tmp = tempfile.mkdtemp(prefix="zorgpad-pg-browser-roles-")
    srv = Server()
    result = {}
    try:
        spec = dict(world, base=srv.base, gp_code=GP_CODE, screenshots=tmp,
                    result=os.path.join(tmp, "result.json"),
                    users={role: {"token": u["token"], "name": u["name"]} for role, u in users.items()})
        t = time.monotonic()
        r = subprocess.run([node, os.path.join(BROWSER_DIR, "roles.test.mjs")], timeout=300,
                           env=dict(os.environ, ZORGPAD_ROLES=json.dumps(spec)))
        print(f"browser: {time.monotonic() - t:.1f} s")
        check(r.returncode == 0, f"roles.test.mjs exited {r.returncode}")
        if os.path.exists(spec["result"]):
            with open(spec["result"]) as f:
                result = json.load(f)
    finally:
        code = srv.stop()
    check(code == 0, f"serve exited {code} on SIGTERM")
    log = "".join(srv.err)
    for role, u in users.items():
        check(u["token"] not in log, f"serve's log shows the {role}'s token")

    # What the browser did, as the database has it.
    done = result.get("coordinator_done")
    if check(done is not None, "the browser test reports the task the coordinator marked done"):
        rows_b = {t["id"]: t for t in tasks("B")}
        check(done in rows_b and rows_b[done]["status"] == "done", f"task {done} of B is done: {rows_b.get(done)}")
        check(tasks("A") == tasks_a_before, "A's tasks are as they were after the coordinator worked on B")
        trail = audit("B", users["coordinator"]["audit"])
        check(any(a["action"] == "task.done" and a["outcome"] == "ok" for a in trail),
              f"the audit log of B has the coordinator's task.done ({[a['action'] for a in trail]})")
    opened = result.get("gp_letter")
    if check(opened is not None, "the browser test reports the letter the gp opened"):
        trail = audit("A", users["gp"]["audit"])
        episode = opened["episode"]
        check(any(a["action"] == "letter.read" and episode in a["episodes"] for a in trail),
              f"the letter of {episode} was read as {users['gp']['audit']} ({[(a['action'], a['episodes']) for a in trail]})")
        rows = [json.loads(l) for l in ok("A", "audit", "--json").splitlines() if l.strip()]
        check(not any(a["user"].startswith("local:") and a["action"] == "letter.read" for a in rows),
              "no letter was read as the local user")

    keep = KEEP or bool(failures)
    shots = sorted(f for f in os.listdir(tmp) if f.endswith(".png"))
    check(len(shots) >= 4, f"a screenshot per role ({shots})")
    if keep:
        print(f"screenshots kept in {tmp}: {', '.join(shots)}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"ok ({time.monotonic() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
