#!/usr/bin/python3
"""`zorgpad fhir`: every produced Bundle passes an independent FHIR R4
validator (FHIR.js, npm `fhir`, run by node: tests/fhir-validator/validate.js),
statuses are mapped as documented, and ids are stable across exports.

Run as `python3 fhir_cli.py ZORGPAD_BINARY` (ctest does). Installs the
validator (`npm ci --prefix tests/fhir-validator`) when node_modules is missing.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALIDATOR = os.path.join(TESTS, "fhir-validator")
TASK_STATUS = {"open": "requested", "done": "completed", "cancelled": "cancelled"}
# zorgpad's UUID namespace, as documented in adapters/fhir/fhir.cpp
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:zorgpad:fhir")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(db, *args, stdin=None, today=None):
    cmd = [ZORGPAD, "--db", db] + (["--today", today] if today else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True)


def ok(db, *args, stdin=None, today=None):
    r = run(db, *args, stdin=stdin, today=today)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def install_validator():
    if os.path.isdir(os.path.join(VALIDATOR, "node_modules", "fhir")) and \
            os.path.isdir(os.path.join(VALIDATOR, "node_modules", "@medplum", "core")):
        return
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise SystemExit("fhir_cli: node and npm are needed for the FHIR validator (apt-get install nodejs npm)")
    r = subprocess.run([npm, "ci", "--prefix", VALIDATOR, "--no-audit", "--no-fund"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"fhir_cli: npm ci failed: {r.stderr[-2000:]}")


def validate(files):
    """Runs the independent validator; returns (exit code, reports)."""
    r = subprocess.run(["node", os.path.join(VALIDATOR, "validate.js"), *files], capture_output=True, text=True)
    reports = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    return r.returncode, reports, r.stderr


def open_ep(db, ep, patient, complaint="lbp", at="2026-03-02"):
    ev = {"type": "open", "at": at, "onset": "2026-02-23", "complaint": complaint, "age": 40,
          "gp": "Dokter Jansen", "therapist": "Fysio de Vries"}
    ok(db, "open", "--id", ep, "--patient", patient, "-", stdin=json.dumps(ev))


def record(db, ep, **ev):
    ok(db, "record", ep, "-", stdin=json.dumps(ev))


def screen(db, ep, at="2026-03-02", **extra):
    record(db, ep, type="screening", at=at, red_flags=extra.pop("red_flags", []),
           exclusions=extra.pop("exclusions", []), **extra)


def tasks(db):
    return json.loads(ok(db, "tasks", "--json"))["tasks"]


def task_id(db, ep, kind):
    return next(t["id"] for t in tasks(db) if t["episode"] == ep and t["kind"] == kind)


# episode -> (EpisodeOfCare status, CarePlan status)
EXPECTED = {
    "ep-intake": ("active", "draft"),
    "ep-p2": ("active", "active"),
    "ep-stop": ("finished", "completed"),
    "ep-lrs": ("active", "draft"),
    "ep-lrs-done": ("active", "draft"),
    "ep-lrs-stop": ("finished", "completed"),
    "ep-p3": ("active", "active"),
    "ep-p3-gp": ("active", "active"),
    "ep-urgent": ("finished", "completed"),
    "ep-excl": ("cancelled", "revoked"),
    "ep-review": ("active", "on-hold"),
    "ep-notice": ("active", "draft"),
    "ep-followup": ("active", "active"),
}


def build_store(db):
    ok(db, "init")
    open_ep(db, "ep-intake", "PSEUDO-3")
    open_ep(db, "ep-p2", "PSEUDO-1")
    screen(db, "ep-p2")
    record(db, "ep-p2", type="measurement", at="2026-03-02", nprs=7, qbpds=52, psk=[6, 5])
    record(db, "ep-p2", type="stratification", at="2026-03-02", sbst=[1, 0, 1, 1, 1, 0, 0, 0, 2],
           orebro=[3, 6, 5, 4, 5, 4, 6, 5, 6, 5], factors={})
    record(db, "ep-p2", type="reevaluation", at="2026-03-23", nprs=4, qbpds=30, psk=[3, 2], judgement="sufficient")
    open_ep(db, "ep-stop", "PSEUDO-2")
    screen(db, "ep-stop")
    record(db, "ep-stop", type="stratification", at="2026-03-02", sbst=[0] * 9, factors={})
    record(db, "ep-stop", type="stop", at="2026-03-10", reason="goals_met")
    for ep in ("ep-lrs", "ep-lrs-done", "ep-lrs-stop"):
        open_ep(db, ep, "PSEUDO-1", complaint="lrs")  # one patient, three episodes
        screen(db, ep, mrc=5, nprs=5)
    ok(db, "task", "done", str(task_id(db, "ep-lrs-done", "lrs_check")), today="2026-03-03")
    record(db, "ep-lrs-stop", type="stop", at="2026-03-03", reason="patient_request")
    for ep in ("ep-p3", "ep-p3-gp"):
        open_ep(db, ep, "PSEUDO-2")
        screen(db, ep)
        record(db, ep, type="measurement", at="2026-03-02", nprs=8)
        record(db, ep, type="stratification", at="2026-03-02", sbst=[1, 1, 1, 1, 1, 1, 1, 1, 4], factors={})
        record(db, ep, type="reevaluation", at="2026-04-13", nprs=8, judgement="insufficient")
    record(db, "ep-p3-gp", type="gp_consult", at="2026-04-20", outcome="continue")
    open_ep(db, "ep-urgent", "PSEUDO-4")
    screen(db, "ep-urgent", red_flags=["cauda_equina"])
    open_ep(db, "ep-excl", "PSEUDO-5")
    screen(db, "ep-excl", exclusions=["pregnancy_related"])
    # revision 2: a red-flag review waiting for its decision; one decided `continue`
    # (a notice) with an interim report asked; a follow-up reevaluation
    open_ep(db, "ep-review", "PSEUDO-4")
    screen(db, "ep-review", red_flags=["night_sweats", "fever_chills"])
    open_ep(db, "ep-notice", "PSEUDO-5")
    screen(db, "ep-notice", red_flags=["night_sweats", "fever_chills"])
    record(db, "ep-notice", type="red_flag_review", at="2026-03-03", decision="continue", note="Griep, hersteld.")
    record(db, "ep-notice", type="gp_request", at="2026-03-04", question="Hoe gaat het?")
    open_ep(db, "ep-followup", "PSEUDO-3")
    screen(db, "ep-followup")
    record(db, "ep-followup", type="measurement", at="2026-03-02", nprs=6)
    record(db, "ep-followup", type="stratification", at="2026-03-02", factors={})
    record(db, "ep-followup", type="reevaluation", at="2026-03-23", nprs=6, judgement="insufficient", new_insights=True)
    ok(db, "tick", "--now", "2026-04-21")


def resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def ident(resource):
    i = resource["identifier"]
    return (i[0] if isinstance(i, list) else i)["value"]


def main():
    install_validator()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "z.db")
        build_store(db)
        files = []
        for ep in EXPECTED:
            path = os.path.join(tmp, f"{ep}.json")
            ok(db, "fhir", ep, "--out", path, today="2026-04-21")
            files.append(path)
        all_path = os.path.join(tmp, "all.json")
        ok(db, "fhir", "--all", "--out", all_path, today="2026-04-21")
        files.append(all_path)
        en_path = os.path.join(tmp, "all-en.json")
        with open(en_path, "w") as f:
            f.write(ok(db, "fhir", "--all", "--lang", "en", today="2026-04-21"))
        files.append(en_path)

        # 1. The independent validator accepts every Bundle ...
        rc, reports, err = validate(files)
        check(len(reports) == len(files), f"validator reports on every file ({len(reports)}/{len(files)}) {err}")
        for rep in reports:
            for e in rep["errors"]:
                print(f"  {os.path.basename(rep['file'])}: {e['location']}: {e['message']}", file=sys.stderr)
            check(rep["valid"] and rep["entries"] > 0, f"{os.path.basename(rep['file'])} is a valid FHIR R4 Bundle")
        check(rc == 0, "validate.js exits 0")
        # ... and is not vacuous: it rejects a broken copy.
        with open(all_path) as f:
            broken = json.load(f)
        t = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Task")
        t["status"] = "open"  # our word, not FHIR's
        t["checkpoint"] = "week6"  # no such element
        broken["entry"][0]["resource"]["id"] = "not valid!"
        broken_path = os.path.join(tmp, "broken.json")
        with open(broken_path, "w") as f:
            json.dump(broken, f)
        rc_bad, bad_reports, _ = validate([broken_path])
        msgs = " ".join(e["message"] for r in bad_reports for e in r["errors"])
        check(rc_bad == 1 and "not found in value set" in msgs and "Unexpected property" in msgs and "not a valid id" in msgs,
              f"the validator rejects a broken Bundle: {msgs[:300]}")

        with open(all_path) as f:
            bundle = json.load(f)
        check(bundle["resourceType"] == "Bundle" and bundle["type"] == "collection", "a collection Bundle")
        check(bundle["timestamp"] == "2026-04-21T00:00:00Z", "Bundle.timestamp from the clock")
        urls = [e["fullUrl"] for e in bundle["entry"]]
        check(len(urls) == len(set(urls)), "fullUrls are unique")
        check(all(u == "urn:uuid:" + e["resource"]["id"] for u, e in zip(urls, bundle["entry"])), "fullUrl = urn:uuid:id")

        # 2. Name-based ids, computed independently with Python's uuid5
        eocs = {ident(r): r for r in resources(bundle, "EpisodeOfCare")}
        check(set(eocs) == set(EXPECTED), "one EpisodeOfCare per episode")
        for ep, r in eocs.items():
            check(r["id"] == str(uuid.uuid5(NAMESPACE, "EpisodeOfCare/" + ep)), f"{ep}: EpisodeOfCare id is uuid5")

        # 3. Status mappings
        plans = {ident(r): r for r in resources(bundle, "CarePlan")}
        for ep, (eoc_status, plan_status) in EXPECTED.items():
            check(eocs[ep]["status"] == eoc_status, f"{ep}: EpisodeOfCare.status {eocs[ep]['status']} == {eoc_status}")
            check(plans[ep]["status"] == plan_status, f"{ep}: CarePlan.status {plans[ep]['status']} == {plan_status}")
        check("end" in eocs["ep-stop"]["period"] and "end" not in eocs["ep-p2"]["period"], "a finished episode has an end")

        # 4. One Task per task: status, checkpoint in Task.code, due date in restriction.period.end
        want = collections.Counter()
        for t in tasks(db):
            want[(t["episode"], t["kind"], t.get("checkpoint"), t["due"], TASK_STATUS[t["status"]])] += 1
        got = collections.Counter()
        by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        for r in resources(bundle, "Task"):
            ep = ident(r).rsplit("/", 1)[0]
            codes = {c["system"]: c["code"] for c in r["code"]["coding"]}
            got[(ep, codes.get("urn:zorgpad:task-kind"), codes.get("urn:zorgpad:checkpoint"),
                 r["restriction"]["period"]["end"], r["status"])] += 1
            plan = by_url[r["basedOn"][0]["reference"]]
            check(plan["resourceType"] == "CarePlan" and ident(plan) == ep, f"{ident(r)}: basedOn its CarePlan")
        check(got == want, f"Tasks match `zorgpad tasks` with mapped statuses: missing {want - got}, extra {got - want}")
        check({s for (_, _, _, _, s) in got} == {"requested", "completed", "cancelled"}, "all three Task statuses occur")
        kinds = {(k, c) for (_, k, c, _, _) in got}
        for kind, cp in (("gp_report_interim", None), ("gp_red_flag_notice", None), ("red_flag_review", None),
                         ("reevaluation", "followup")):
            check((kind, cp) in kinds, f"a Task of kind {kind} {cp or ''} is exported")
        for r in resources(bundle, "Task"):
            kind = next(c["code"] for c in r["code"]["coding"] if c["system"] == "urn:zorgpad:task-kind")
            check(all(c.get("display") for c in r["code"]["coding"]) and r["code"]["text"] and r["description"],
                  f"{ident(r)}: {kind} has non-empty display texts")
            check((r.get("priority") == "urgent") == (kind in ("gp_urgent_contact", "red_flag_review")),
                  f"{ident(r)}: {kind} priority {r.get('priority')}")
        for ep, plan in plans.items():
            acts = {a["reference"]["reference"] for a in plan.get("activity", [])}
            mine = {e["fullUrl"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Task" and ident(e["resource"]).startswith(ep + "/")}
            check(acts == mine, f"{ep}: CarePlan.activity lists its Tasks")

        # 5. Patient: the pseudonymous reference only, one per reference
        patients = resources(bundle, "Patient")
        refs = [ident(p) for p in patients]
        check(sorted(refs) == sorted(set(refs)) and set(refs) == {f"PSEUDO-{i}" for i in range(1, 6)},
              f"one Patient per pseudonymous reference: {refs}")
        check(all(set(p) == {"resourceType", "id", "meta", "identifier"} and len(p["identifier"]) == 1 for p in patients),
              "Patient carries the reference only (no name, birth date or BSN without --patients)")
        for ep, r in eocs.items():
            check(by_url[r["patient"]["reference"]]["resourceType"] == "Patient", f"{ep}: EpisodeOfCare.patient resolves")

        # 6. Questionnaires and measures of ep-p2
        show = json.loads(ok(db, "show", "ep-p2", "--json"))
        p2_subject = eocs["ep-p2"]["patient"]["reference"]
        qrs = {ident(r): r for r in resources(bundle, "QuestionnaireResponse")}
        sbst = {i["linkId"]: i["answer"][0] for i in qrs["ep-p2/sbst"]["item"]}
        check(sbst["total"]["valueInteger"] == show["scores"]["sbst"]["total"], "STarT Back total")
        check(sbst["psychosocial"]["valueInteger"] == show["scores"]["sbst"]["psychosocial"], "STarT Back psychosocial")
        check(sbst["risk"]["valueCoding"]["code"] == "LA8982-6", "STarT Back risk medium (LOINC answer)")
        ore = {i["linkId"]: i["answer"][0] for i in qrs["ep-p2/orebro"]["item"]}
        check(ore["total"]["valueInteger"] == show["scores"]["orebro"]["total"], "Örebro total")
        check(qrs["ep-p2/sbst"]["status"] == "completed" and qrs["ep-p2/sbst"]["authored"] == "2026-03-02",
              "QuestionnaireResponse completed on the stratification date")
        obs = [r for r in resources(bundle, "Observation") if r["subject"]["reference"] == p2_subject
               and ident(r).startswith("ep-p2/")]
        nprs = sorted(r["valueInteger"] for r in obs
                      if any(c["system"] == "http://loinc.org" and c["code"] == "72514-3" for c in r["code"]["coding"]))
        check(nprs == [4, 7], f"NPRS baseline 7 and latest 4 with LOINC 72514-3: {nprs}")
        qbpds = sorted(r["valueInteger"] for r in obs if r["code"]["coding"][0]["code"] == "qbpds")
        check(qbpds == [30, 52], f"QBPDS 52 and 30: {qbpds}")
        psk = [[c["valueInteger"] for c in r["component"]] for r in obs if r["code"]["coding"][0]["code"] == "psk"]
        check(sorted(psk) == [[3, 2], [6, 5]], f"PSK as components: {psk}")

        # 7. Stable: another day's export differs in Bundle.timestamp only; a new event keeps the old ids
        again = json.loads(ok(db, "fhir", "--all", today="2026-04-22"))
        check(again["timestamp"] != bundle["timestamp"], "timestamp follows the clock")
        check(again["entry"] == bundle["entry"], "re-export: identical entries and fullUrls")
        single = json.loads(ok(db, "fhir", "ep-p3", today="2026-04-21"))
        check({e["fullUrl"] for e in single["entry"]} <= set(urls), "a single-episode export uses the same ids")
        record(db, "ep-p3", type="gp_consult", at="2026-04-22", outcome="refer")
        after = json.loads(ok(db, "fhir", "ep-p3", today="2026-04-22"))
        check({e["fullUrl"] for e in single["entry"]} <= {e["fullUrl"] for e in after["entry"]},
              "after a new event the old resources keep their ids")
        eoc = next(r for r in resources(after, "EpisodeOfCare"))
        check(eoc["status"] == "finished" and eoc["period"].get("end") == "2026-04-22", "referred -> finished, with end")
        after_path = os.path.join(tmp, "after.json")
        with open(after_path, "w") as f:
            json.dump(after, f)
        rc, reps, _ = validate([after_path])
        check(rc == 0 and reps and reps[0]["valid"], "the Bundle after the referral is valid")

        # 8. Bad input: exit 2, one line on stderr, nothing written
        for args in (["ep-nope"], [], ["ep-p2", "--all"], ["ep-p2", "--lang", "fr"]):
            out = os.path.join(tmp, "bad.json")
            r = run(db, "fhir", *args, "--out", out)
            check(r.returncode == 2 and r.stderr.startswith("zorgpad: ") and r.stderr.count("\n") == 1,
                  f"fhir {' '.join(args)} exits 2 with one line ({r.returncode}: {r.stderr.strip()})")
            check(not os.path.exists(out), f"fhir {' '.join(args)} writes nothing")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("fhir_cli: ok")


if __name__ == "__main__":
    main()
