#!/usr/bin/python3
"""`zorgpad letter` and `zorgpad letters`: the GP letters of spec §11-§12.

Run as `python3 letters_cli.py ZORGPAD_BINARY` (ctest does). Builds a store
through the CLI (init, open, record, task done) with a referral, a request for
consultation, start reports and an end report; renders single letters in both
languages and formats, writes the pending ones to a directory, marks them sent,
and checks files, exit codes, task statuses and that no patient data reaches
the command's own output.
"""
import json
import os
import stat
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
TODAY = "2026-09-01"
PATIENT = "<script>alert(1)</script> P-77"
OTHER_PATIENT = "PSEUDO-SECRET-2"
GP = "Dokter Jansen & Co"
THERAPIST = "Fysio de Vries"
LETTER_KINDS = {"gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim",
                "gp_red_flag_notice"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(db, *args, stdin=None, env=None):
    cmd = [ZORGPAD, "--db", db, "--today", TODAY] + list(args)
    full_env = dict(os.environ)
    full_env.update(env or {})
    r = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None, capture_output=True, env=full_env)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8"))


def ok(db, *args, stdin=None, env=None):
    r = run(db, *args, stdin=stdin, env=env)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def record(db, ep, **ev):
    ok(db, "record", ep, "-", stdin=json.dumps(ev))


def tasks(db):
    return json.loads(ok(db, "tasks", "--json").stdout)["tasks"]


def task_of(db, ep, kind):
    return next(t for t in tasks(db) if t["episode"] == ep and t["kind"] == kind)


def no_patient_data(r, what):
    for secret in (PATIENT, "<script>", OTHER_PATIENT):
        check(secret not in r.stdout and secret not in r.stderr, f"{what}: output shows patient data")


def build_store(db):
    ok(db, "init")
    # profile 3: consultation at week 6, referral after week 12 (profile3_no_improvement)
    ev = {"type": "open", "at": "2026-06-01", "onset": "2026-05-25", "complaint": "lbp", "age": 52,
          "gp": GP, "therapist": THERAPIST}
    ok(db, "open", "--id", "ep-ref", "--patient", PATIENT, "-", stdin=json.dumps(ev))
    record(db, "ep-ref", type="screening", at="2026-06-01", red_flags=[], exclusions=[])
    record(db, "ep-ref", type="measurement", at="2026-06-01", nprs=7, qbpds=60, psk=[8, 6])
    record(db, "ep-ref", type="stratification", at="2026-06-01", sbst=[0, 0, 0, 0, 1, 1, 1, 1, 4],
           factors={"fear_of_movement": "dominant", "leg_pain": "present"})
    record(db, "ep-ref", type="session", at="2026-06-08")
    record(db, "ep-ref", type="reevaluation", at="2026-07-13", nprs=7, qbpds=58, judgement="insufficient")
    record(db, "ep-ref", type="gp_consult", at="2026-07-20", outcome="continue")
    record(db, "ep-ref", type="reevaluation", at="2026-08-31", nprs=6, qbpds=55, psk=[7, 6], judgement="insufficient")
    # profile 1, goals met: start report and end report
    ev = dict(ev, at="2026-08-03", onset="2026-07-30")
    ok(db, "open", "--id", "ep-stop", "--patient", OTHER_PATIENT, "-", stdin=json.dumps(ev))
    record(db, "ep-stop", type="screening", at="2026-08-03", red_flags=[], exclusions=[])
    record(db, "ep-stop", type="measurement", at="2026-08-03", nprs=5, qbpds=30)
    record(db, "ep-stop", type="stratification", at="2026-08-03", sbst=[0, 0, 0, 0, 0, 0, 0, 0, 0], factors={})
    record(db, "ep-stop", type="stop", at="2026-08-20", reason="goals_met")
    # a neurological emergency: a phone call (not a letter) and the written referral that confirms it
    ev = dict(ev, at="2026-08-10", onset="2026-08-01")
    ok(db, "open", "--id", "ep-neuro", "--patient", OTHER_PATIENT, "-", stdin=json.dumps(ev))
    record(db, "ep-neuro", type="screening", at="2026-08-10", red_flags=["cauda_equina"], exclusions=[])
    # referred by the GP: two red-flag features reviewed and continued (a notice), then the GP asks a question
    ev = dict(ev, at="2026-08-17", onset="2026-08-10", referred_by="gp")
    ok(db, "open", "--id", "ep-rf", "--patient", OTHER_PATIENT, "-", stdin=json.dumps(ev))
    record(db, "ep-rf", type="screening", at="2026-08-17", red_flags=["night_sweats", "fever_chills"], exclusions=[])
    record(db, "ep-rf", type="red_flag_review", at="2026-08-18", decision="continue",
           note="Koorts en nachtzweten bij een griep die nu over is.")
    record(db, "ep-rf", type="gp_request", at="2026-08-25", question="Kan hij weer sporten?")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "z.db")
        build_store(db)
        ref = task_of(db, "ep-ref", "gp_referral")
        consult = task_of(db, "ep-ref", "gp_consultation")
        check(ref["status"] == "open" and consult["status"] == "done", "setup: referral open, consultation done")

        # --- one letter: HTML in Dutch by default, on standard output
        r = run(db, "letter", str(ref["id"]))
        check(r.returncode == 0, f"letter: exit {r.returncode} ({r.stderr})")
        html = r.stdout
        check(html.startswith("<!DOCTYPE html>"), "letter: HTML by default")
        check('<html lang="nl">' in html, "letter: Dutch by default")
        check("@page { size: A4;" in html and "@media print" in html, "letter: printable A4")
        check("&lt;script&gt;alert(1)&lt;/script&gt; P-77" in html, "letter: patient reference escaped")
        check("<script" not in html, "letter: no script element")
        check("Dokter Jansen &amp; Co" in html, "letter: GP escaped")
        check("Terugverwijzing naar de huisarts" in html, "letter: referral title")
        check("stap 3: multidisciplinaire diagnostiek en behandeling in de eerste lijn" in html,
              "letter: proposes step 3 (KNGF A.3)")
        check("31 augustus 2026" in html and "1 september 2026" not in html,
              "letter: dated on its task's date (the week-12 reevaluation), not --today")
        check("14% afname" in html, "letter: NPRS change in percent")
        check("aspecifiek" not in html.lower(), "letter: KNGF C.1 wording")

        # --- English text
        r = run(db, "letter", str(ref["id"]), "--lang", "en", "--format", "text")
        check(r.returncode == 0, f"letter --lang en --format text: exit {r.returncode} ({r.stderr})")
        txt = r.stdout
        check(txt.startswith("Referral back to the GP\n"), "text letter: English title first")
        check(PATIENT in txt and GP in txt, "text letter: values verbatim")
        check("&lt;" not in txt and "&amp;" not in txt and "<html" not in txt, "text letter: no HTML")
        check("step 3: multidisciplinary diagnostics and treatment in primary care" in txt, "text letter: step 3")
        check("31 August 2026" in txt, "text letter: date")

        # --- a done task still has its letter (a copy can be printed again)
        r = run(db, "letter", str(consult["id"]), "--format", "text")
        check(r.returncode == 0 and "Verzoek om overleg met de huisarts" in r.stdout, "letter of a done consultation task")
        check("na 6 weken behandeling in profiel 3" in r.stdout, "consultation letter: weeks of treatment")

        # --- --out FILE: owner-only file, a confirmation without patient data
        out = os.path.join(tmp, "referral.html")
        r = run(db, "letter", str(ref["id"]), "--out", out)
        check(r.returncode == 0, f"letter --out: exit {r.returncode} ({r.stderr})")
        check(os.path.exists(out) and open(out, encoding="utf-8").read() == html, "letter --out: same letter in the file")
        check(stat.S_IMODE(os.stat(out).st_mode) == 0o600, "letter --out: mode 0600")
        no_patient_data(r, "letter --out")
        check(task_of(db, "ep-ref", "gp_referral")["status"] == "open", "letter: writing is not sending")

        # --- bad input: exit 2, one line, nothing written
        reev = task_of(db, "ep-ref", "reevaluation")
        for args, what in (([str(reev["id"])], "reevaluation task"),
                           ([str(task_of(db, "ep-neuro", "gp_urgent_contact")["id"])], "gp_urgent_contact task"),
                           (["99999"], "unknown task"),
                           ([str(ref["id"]), "--lang", "fr"], "unknown language"),
                           ([str(ref["id"]), "--format", "docx"], "unknown format"),
                           (["abc"], "task id not a number")):
            r = run(db, "letter", *args)
            check(r.returncode == 2, f"letter {what}: exit {r.returncode}, expected 2")
            check(r.stdout == "" and r.stderr.count("\n") == 1, f"letter {what}: one line on stderr")
        r = run(db, "letter", str(reev["id"]))
        check("not a letter" in r.stderr and "gp_referral" in r.stderr, "letter of a non-letter task: clear message")

        # --- the letters of revision 2: the notice, the interim report, the neuro referral
        r = run(db, "letter", str(task_of(db, "ep-rf", "gp_red_flag_notice")["id"]), "--format", "text")
        check(r.returncode == 0 and r.stdout.startswith("Bericht over gevonden rode vlaggen\n"),
              f"red-flag notice: exit {r.returncode} ({r.stderr})")
        check("17 augustus 2026: nachtzweten" in r.stdout and "koorts of koude rillingen" in r.stdout,
              "red-flag notice: the features found, dated")
        check("Koorts en nachtzweten bij een griep die nu over is." in r.stdout, "red-flag notice: the therapist's note")
        check("De behandeling gaat door." in r.stdout, "red-flag notice: treatment continues")
        r = run(db, "letter", str(task_of(db, "ep-rf", "gp_report_interim")["id"]), "--lang", "en")
        check(r.returncode == 0 and "On 25 August 2026 you asked: \u201cKan hij weer sporten?\u201d" in r.stdout,
              f"interim report: quotes the GP's question ({r.returncode} {r.stderr})")
        check("referred by the GP" in r.stdout, "interim report: who referred the patient")
        r = run(db, "letter", str(task_of(db, "ep-neuro", "gp_referral")["id"]), "--format", "text")
        check(r.returncode == 0 and "tekenen van een cauda-equinasyndroom" in r.stdout and
              "op 10 augustus 2026 telefonisch met u heb besproken" in r.stdout,
              f"neuro referral: features and the phone call confirmed ({r.returncode} {r.stderr})")

        # --- a broken installation is a failure (exit 1), not bad input
        r = run(db, "letter", str(ref["id"]), env={"ZORGPAD_SHARE_DIR": os.path.join(tmp, "nowhere")})
        check(r.returncode == 1 and "strings.nl.json" in r.stderr, f"missing templates: exit {r.returncode} ({r.stderr})")

        # --- `task done` sends a letter outside zorgpad: it is no longer pending
        start_stop = task_of(db, "ep-stop", "gp_report_start")
        ok(db, "task", "done", str(start_stop["id"]))

        # --- letters --pending: every open letter task, nothing marked
        pending = [t for t in tasks(db) if t["kind"] in LETTER_KINDS and t["status"] == "open"]
        check({(t["episode"], t["kind"]) for t in pending} ==
              {("ep-ref", "gp_report_start"), ("ep-ref", "gp_referral"), ("ep-stop", "gp_report_close"),
               ("ep-neuro", "gp_referral"), ("ep-rf", "gp_red_flag_notice"), ("ep-rf", "gp_report_interim")},
              f"setup: pending letters {[(t['episode'], t['kind']) for t in pending]}")
        d1 = os.path.join(tmp, "out", "html")
        r = run(db, "letters", "--pending", "--out", d1, env={"ZORGPAD_LOG": "debug"})
        check(r.returncode == 0, f"letters --pending: exit {r.returncode} ({r.stderr})")
        no_patient_data(r, "letters --pending")
        expected = {f"{t['episode']}-task-{t['id']}-{t['kind']}.html" for t in pending}
        check(set(os.listdir(d1)) == expected, f"letters --pending: files {sorted(os.listdir(d1))}")
        check("6 letter(s) written" in r.stdout, "letters --pending: count")
        for name in os.listdir(d1):
            path = os.path.join(d1, name)
            body = open(path, encoding="utf-8").read()
            check(body.startswith("<!DOCTYPE html>") and "</html>" in body, f"{name}: a whole HTML letter")
            check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, f"{name}: mode 0600")
        close_name = next(n for n in expected if n.endswith("gp_report_close.html"))
        close_letter = open(os.path.join(d1, close_name), encoding="utf-8").read()
        check("de behandeldoelen zijn bereikt" in close_letter, "end report: the stop reason in plain words")
        check("is op 20 augustus 2026 afgesloten" in close_letter, "end report: the day treatment ended")
        check("gelijk gebleven" not in close_letter and "nog geen vervolgmeting" in close_letter,
              "end report: a measure recorded once is not 'unchanged'")
        check(all(t["status"] == "open" for t in tasks(db) if t["id"] in {p["id"] for p in pending}),
              "letters --pending: nothing marked without --mark-sent")

        # --- letters --pending --mark-sent: text in English, then done
        d2 = os.path.join(tmp, "out", "text")
        r = run(db, "letters", "--pending", "--out", d2, "--format", "text", "--lang", "en", "--mark-sent")
        check(r.returncode == 0, f"letters --mark-sent: exit {r.returncode} ({r.stderr})")
        no_patient_data(r, "letters --mark-sent")
        check(set(os.listdir(d2)) == {n[:-len(".html")] + ".txt" for n in expected},
              f"letters --format text: files {sorted(os.listdir(d2))}")
        check("6 letter task(s) marked sent" in r.stdout, "letters --mark-sent: count")
        after = {t["id"]: t["status"] for t in tasks(db)}
        check(all(after[p["id"]] == "done" for p in pending), "letters --mark-sent: every written letter done")
        check(after[reev["id"]] == "done" and after[task_of(db, "ep-neuro", "gp_urgent_contact")["id"]] == "open",
              "letters --mark-sent: other tasks untouched")
        for name in os.listdir(d2):
            body = open(os.path.join(d2, name), encoding="utf-8").read()
            check("<" not in body.replace(PATIENT, ""), f"{name}: no markup in the text letter")

        # --- nothing pending any more
        d3 = os.path.join(tmp, "out", "none")
        r = run(db, "letters", "--pending", "--out", d3)
        check(r.returncode == 0 and "0 letter(s) written" in r.stdout and os.listdir(d3) == [],
              f"letters --pending with nothing pending: {r.stdout} {r.stderr}")

        # --- letters without --pending: the same (the open letter tasks are what it writes)
        r = run(db, "letters", "--out", d3)
        check(r.returncode == 0 and "0 letter(s) written" in r.stdout, f"letters without --pending: exit {r.returncode}")

    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("letters_cli: ok")


if __name__ == "__main__":
    main()
