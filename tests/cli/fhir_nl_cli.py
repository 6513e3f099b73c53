#!/usr/bin/python3
"""FHIR a Dutch GP system can take (issue 11 point 6), on the demo practice.

Run as `python3 fhir_nl_cli.py ZORGPAD_BINARY` (ctest does). `zorgpad demo`
writes a practice file and an invented patients file; `zorgpad fhir --all`
with them is checked:

- both validators of tests/fhir-validator (FHIR.js and @medplum/core's
  validateResource) report 0 errors, for a collection and a transaction Bundle;
- every reference (urn:uuid) resolves in the Bundle; status and intent values
  are R4's;
- Practitioner and Organization carry AGB (and BIG) identifiers from the
  practice file, PractitionerRole the profession; EpisodeOfCare and CarePlan
  point at them;
- a Condition per episode with ICPC L03 (LBP) or L86 (LRS);
- each QuestionnaireResponse's questionnaire is the url of an exported Questionnaire;
- a Communication per sent letter (a letter task done) carries a PDF;
- meta.profile names nl-core profiles; CarePlan.description holds no code;
- the transaction Bundle is PUT Type/id with stable ids (two exports, the same requests);
- identity only with --patients;
- bad practice file / one lacking an episode's therapist: exit 2, one line, nothing written.
"""
import base64
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
VALIDATOR = os.path.join(os.environ.get("ZORGPAD_TESTS_DIR") or os.path.join(os.path.dirname(__file__), ".."),
                         "fhir-validator")
TODAY = "2026-06-30"
failures = []
LETTERS = {"gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim",
           "gp_red_flag_notice"}
STATUS = {  # R4 required bindings
    "EpisodeOfCare": {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"},
    "CarePlan": {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"},
    "Task": {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
             "failed", "completed", "entered-in-error"},
    "Communication": {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
                      "unknown"},
    "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                    "unknown"},
    "Questionnaire": {"draft", "active", "retired", "unknown"},
}
INTENT = {"CarePlan": {"proposal", "plan", "order", "option"},
          "Task": {"unknown", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                   "instance-order", "option"}}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(db, *args):
    return subprocess.run([ZORGPAD, "--db", db, "--today", TODAY] + list(args), capture_output=True, text=True)


def ok(db, *args):
    r = run(db, *args)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def resources(bundle, kind=None):
    return [e["resource"] for e in bundle["entry"] if kind is None or e["resource"]["resourceType"] == kind]


def validate(files):
    r = subprocess.run(["node", os.path.join(VALIDATOR, "validate.js"), *files], capture_output=True, text=True)
    reports = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    for rep in reports:
        check(rep["valid"] and not rep["errors"],
              f"{os.path.basename(rep['file'])}: {len(rep['errors'])} validation error(s): "
              f"{[e['message'][:120] for e in rep['errors'][:5]]}")
        check("medplum" in rep.get("validator", ""), "validated with @medplum/core too")
    check(r.returncode == 0 and len(reports) == len(files), f"validator: exit {r.returncode} {r.stderr[-300:]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "demo.db")
        ok(db, "demo", "--episodes", "60")
        practice, patients = os.path.join(tmp, "demo.practice.toml"), os.path.join(tmp, "demo.patients.csv")
        identity = {row["reference"]: row for row in csv.DictReader(open(patients, encoding="utf-8"))}
        coll, tx, tx2 = (os.path.join(tmp, n) for n in ("collection.json", "tx.json", "tx2.json"))
        ok(db, "fhir", "--all", "--practice-file", practice, "--out", coll)
        ok(db, "fhir", "--all", "--practice-file", practice, "--bundle", "transaction", "--out", tx)
        ok(db, "fhir", "--all", "--practice-file", practice, "--bundle", "transaction", "--out", tx2)
        validate([coll, tx])
        bundle = json.load(open(coll, encoding="utf-8"))
        check(bundle["type"] == "collection", "collection by default")

        urls = {e["fullUrl"] for e in bundle["entry"]}
        refs = re.findall(r'"reference": "([^"]+)"', json.dumps(bundle))
        check(refs and all(r in urls for r in refs), "every reference resolves in the Bundle")
        for r in resources(bundle):
            t = r["resourceType"]
            if t in STATUS:
                check(r["status"] in STATUS[t], f"{t}.status {r['status']} is R4's")
            if t in INTENT:
                check(r["intent"] in INTENT[t], f"{t}.intent {r['intent']} is R4's")

        # Practice, therapists, GPs
        orgs = resources(bundle, "Organization")
        check(any({"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "04101234"} in o.get("identifier", [])
                  for o in orgs), "the practice's Organization carries its AGB code")
        pracs = resources(bundle, "Practitioner")
        by_name = {p["name"][0]["text"]: p for p in pracs}
        check("A. de Vries" in by_name and
              {"system": "http://fhir.nl/fhir/NamingSystem/big", "value": "19012345601"} in by_name["A. de Vries"]["identifier"],
              "a therapist's Practitioner carries the BIG number")
        check("E. Smit" in by_name and
              {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "01011001"} in by_name["E. Smit"]["identifier"],
              "a GP's Practitioner carries the AGB code from the directory")
        roles = [c["code"] for r in resources(bundle, "PractitionerRole") for cc in r["code"] for c in cc["coding"]]
        check("oefentherapeut" in roles and "fysiotherapeut" in roles and "huisarts" in roles,
              f"PractitionerRole names the profession ({sorted(set(roles))})")
        pr_urls = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"}
        check(all(e["careManager"]["reference"] in pr_urls for e in resources(bundle, "EpisodeOfCare")),
              "EpisodeOfCare.careManager is the therapist's Practitioner")
        check(all(p["author"]["reference"] in pr_urls for p in resources(bundle, "CarePlan")),
              "CarePlan.author is the therapist's Practitioner")

        # Condition with ICPC
        conds = resources(bundle, "Condition")
        check(len(conds) == len(resources(bundle, "EpisodeOfCare")), "a Condition per episode")
        codes = {c["code"]["coding"][0]["code"] for c in conds}
        check(codes == {"L03", "L86"}, f"ICPC L03 for LBP and L86 for LRS ({codes})")
        check(all(c["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icpc-1-nl" for c in conds), "ICPC-1-NL system")
        cond_urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"}
        for eoc in resources(bundle, "EpisodeOfCare"):
            c = cond_urls.get(eoc["diagnosis"][0]["condition"]["reference"])
            lrs = eoc["type"][0]["coding"][0]["code"] == "lrs"
            check(c is not None and c["code"]["coding"][0]["code"] == ("L86" if lrs else "L03"),
                  "EpisodeOfCare.diagnosis is its Condition with the complaint's ICPC code")

        # Questionnaires
        canon = {q["url"] for q in resources(bundle, "Questionnaire")}
        qr = resources(bundle, "QuestionnaireResponse")
        check(qr and all(r["questionnaire"] in canon for r in qr), "every QuestionnaireResponse's Questionnaire is exported")

        # Communications carry the PDF of each sent letter
        done_letters = [t for t in json.loads(ok(db, "tasks", "--json"))["tasks"]
                        if t["kind"] in LETTERS and t["status"] == "done"]
        comms = resources(bundle, "Communication")
        check(len(comms) == len(done_letters) and comms, f"a Communication per sent letter ({len(comms)} / {len(done_letters)})")
        if comms:
            att = comms[0]["payload"][0].get("contentAttachment", {})
            check(att.get("contentType") == "application/pdf" and base64.b64decode(att.get("data", "")).startswith(b"%PDF-"),
                  "the Communication carries the letter's PDF")
            check(comms[0]["recipient"][0]["reference"] in pr_urls and comms[0]["sender"]["reference"] in pr_urls,
                  "sent by the therapist to the GP")

        # Profiles and readable descriptions
        for kind in ("Patient", "Practitioner", "Organization", "Condition"):
            check(all(any(p.startswith("http://nictiz.nl/fhir/StructureDefinition/nl-core-") for p in r["meta"]["profile"])
                      for r in resources(bundle, kind)), f"{kind}.meta.profile names an nl-core profile")
        codes_re = re.compile(r"\b(lbp|lrs|gp_consultation|reevaluation_due|goals_met|red_flag_review|treatment)\b")
        check(all(not codes_re.search(p["description"]) for p in resources(bundle, "CarePlan")),
              "CarePlan.description in plain words, no internal codes")

        # Transaction: PUT with stable ids
        t1, t2 = json.load(open(tx, encoding="utf-8")), json.load(open(tx2, encoding="utf-8"))
        check(t1["type"] == "transaction", "--bundle transaction")
        check(all(e["request"]["method"] == "PUT" and e["request"]["url"] == f"{e['resource']['resourceType']}/{e['resource']['id']}"
                  for e in t1["entry"]), "every entry is a PUT to Type/id")
        check([e["request"] for e in t1["entry"]] == [e["request"] for e in t2["entry"]],
              "two exports give the same requests: posting twice changes nothing")

        # Identity only when asked
        blob = open(coll, encoding="utf-8").read()
        check(not any(row["bsn"] in blob or row["name"] in blob for row in identity.values()),
              "no name or BSN without --patients")
        withid = json.loads(ok(db, "fhir", "ep-1", "--practice-file", practice, "--patients", patients))
        p = resources(withid, "Patient")[0]
        ref = next(i["value"] for i in p["identifier"] if i["system"] == "urn:zorgpad:patient")
        check(p.get("name", [{}])[0].get("text") == identity[ref]["name"] and p.get("birthDate") == identity[ref]["birth_date"]
              and {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": identity[ref]["bsn"]} in p["identifier"],
              "with --patients: name, birth date and BSN on Patient")

        # Bad input
        broken = os.path.join(tmp, "broken.toml")
        with open(broken, "w", encoding="utf-8") as f:
            f.write(open(practice, encoding="utf-8").read().replace("[practice]", "[practice"))
        lacking = os.path.join(tmp, "lacking.toml")
        with open(lacking, "w", encoding="utf-8") as f:
            f.write(open(practice, encoding="utf-8").read().replace("[therapists.fysio-A]", "[therapists.fysio-X]"))
        for path, name in ((broken, "broken.toml"), (lacking, "lacking.toml"), (os.path.join(tmp, "absent.toml"), "absent.toml")):
            out = os.path.join(tmp, "bad.json")
            r = run(db, "fhir", "--all", "--practice-file", path, "--out", out)
            check(r.returncode == 2 and r.stderr.count("\n") == 1 and name in r.stderr and r.stdout == "",
                  f"fhir with {name}: exit 2, one line naming the file ({r.returncode}: {r.stderr.strip()})")
            check(not os.path.exists(out), f"fhir with {name}: nothing written")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("fhir_nl_cli: ok")


if __name__ == "__main__":
    main()
