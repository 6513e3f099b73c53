"""`zorgpad demo` writes a practice into an empty database and refuses a database that holds episodes.

Its summary counts the overdue reevaluations as the overview does (the one
rule, is_overdue in adapters/overview), in the overview's words: the count
equals `overview --json`'s overdue total on the same day.
"""
import hashlib, json, os, re, subprocess, sys, tempfile

binary = sys.argv[1]
failures = []

def check(cond, msg):
    if not cond:
        failures.append(msg)

with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "practice.db")
    # Seed 11: among the overdue reevaluations one is exactly 7 days past due,
    # the day on which the demo's own rule ("more than 7 days") differed.
    p = subprocess.run([binary, "--db", db, "--today", "2026-11-22", "demo", "--episodes", "120", "--seed", "11"],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"demo failed: {p.returncode} {p.stderr}")
    check(os.path.abspath(db) in p.stdout, "the summary does not name the database path")
    for word in ("state:", "phase:", "profile:", "Open tasks", "overdue reevaluations"):
        check(word in p.stdout, f"the summary lacks {word!r}")
    m = re.search(r"^  overdue reevaluations \(open 7 or more days past due\): (\d+)$", p.stdout, re.M)
    check(m is not None, f"the summary lacks the overview's words for the overdue count: {p.stdout!r}")
    ov = subprocess.run([binary, "--db", db, "--today", "2026-11-22", "overview", "--json"],
                        capture_output=True, text=True, timeout=60)
    check(ov.returncode == 0, f"overview --json after the demo: {ov.returncode} {ov.stderr}")
    if m and ov.returncode == 0:
        total = json.loads(ov.stdout)["overdue"]["total"]
        check(int(m.group(1)) == total, f"the demo counts {m.group(1)} overdue reevaluations, the overview {total}")
        check(any(t["days_late"] == 7 for t in json.loads(ov.stdout)["overdue"]["tasks"]),
              "no overdue reevaluation exactly 7 days past due: the comparison misses the boundary")
    text = subprocess.run([binary, "--db", db, "--today", "2026-11-22", "overview", "--limit", "1"], capture_output=True, text=True)
    check("OVERDUE REEVALUATIONS (open 7 or more days past due)" in text.stdout, "the overview's overdue heading changed")
    show = subprocess.run([binary, "--db", db, "show", "ep-1", "--json"], capture_output=True, text=True)
    check(show.returncode == 0 and '"id": "ep-1"' in show.stdout, "show ep-1 after the demo failed")
    rebuild = subprocess.run([binary, "--db", db, "rebuild"], capture_output=True, text=True)
    check(" 0 difference(s)" in rebuild.stdout, f"rebuild after the demo: {rebuild.stdout.strip()}")
    digest = hashlib.sha256(open(db, "rb").read()).hexdigest()
    again = subprocess.run([binary, "--db", db, "--today", "2026-11-22", "demo"], capture_output=True, text=True, timeout=120)
    check(again.returncode == 2, f"a second demo on the same database exits {again.returncode}, expected 2")
    check(len(again.stderr.strip().splitlines()) == 1 and "already holds" in again.stderr, f"refusal message: {again.stderr!r}")
    check(again.stdout == "", "the refusal printed on stdout")
    check(hashlib.sha256(open(db, "rb").read()).hexdigest() == digest, "the refused demo changed the database")

for f in failures:
    print("FAIL:", f)
print("demo_cli:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
