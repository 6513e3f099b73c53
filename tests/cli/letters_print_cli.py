#!/usr/bin/python3
"""Letters a GP accepts (issue 11): dated reports, identity at print time, PDF.

Run as `python3 letters_print_cli.py ZORGPAD_BINARY` (ctest does). Written from
spec §11-§12 and the KNGF C.5 / HASP reporting rules, not from the engine's
output:

1. Every letter kind, Dutch and English, text, HTML and PDF, from the demo
   practice with its practice file and its (invented) patients file. Each PDF's
   text is extracted with poppler's pdftotext: the patient's name and the
   letter's date are on every page, with "page N of M"; the letterhead, the
   GP's address and the therapist's profession are in it.
2. A letter is dated: the letters of a long episode, each printed on its own
   day (the day its task was created), are printed again after the episode
   has ended and must be byte for byte the same (text, HTML and PDF). The
   facts of that day are checked against the spec: the start report shows no
   session yet and "in behandeling", the consultation letter is not
   "terugverwezen".
3. Identity is never stored: after printing with a patients file, no name,
   birth date or BSN from it occurs in the database files or in anything the
   commands printed; without a patients file the letter says identification
   is to be added.
4. Bad input: a patients or practice file that is missing, malformed or lacks
   the episode's therapist or GP, a patient missing from the patients file, a
   task that is not a letter: exit 2, one line naming the file (and the entry),
   nothing written.
"""
import csv
import datetime
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
failures = []
outputs = []  # everything the commands printed, for the identity check
MONTHS_NL = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
             "november", "december"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
LETTER_KINDS = ["gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim",
                "gp_red_flag_notice"]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(db, today, *args, stdin=None):
    cmd = [ZORGPAD, "--db", db, "--today", today] + list(args)
    r = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None, capture_output=True)
    outputs.append(r.stdout)
    outputs.append(r.stderr)
    return r


def ok(db, today, *args, stdin=None):
    r = run(db, today, *args, stdin=stdin)
    if r.returncode != 0:
        raise SystemExit(f"zorgpad {' '.join(args)} failed ({r.returncode}): {r.stderr.decode()}")
    return r


def tasks(db, today="2026-12-31"):
    return json.loads(ok(db, today, "tasks", "--json").stdout)["tasks"]


def dump(db):
    """The database's content, whatever its files look like (WAL or not)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        return "\n".join(c.iterdump())


def date_nl(iso):
    d = datetime.date.fromisoformat(iso)
    return f"{d.day} {MONTHS_NL[d.month - 1]} {d.year}"


def date_en(iso):
    d = datetime.date.fromisoformat(iso)
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def pdf_pages(path):
    r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True)
    check(r.returncode == 0, f"pdftotext {os.path.basename(path)}: exit {r.returncode}")
    text = r.stdout.decode("utf-8")
    return [p for p in text.split("\f") if p.strip()]


def flat(s):
    return " ".join(s.split())


def demo_letters(tmp):
    """Point 1: every letter kind, both languages, three formats."""
    db = os.path.join(tmp, "demo.db")
    today = "2026-06-30"
    ok(db, today, "demo", "--episodes", "300")
    practice, patients = os.path.join(tmp, "demo.practice.toml"), os.path.join(tmp, "demo.patients.csv")
    check(os.path.exists(practice) and os.path.exists(patients), "demo writes a practice file and a patients file")
    identity = {row["reference"]: row for row in csv.DictReader(open(patients, encoding="utf-8"))}
    shown = json.loads(ok(db, today, "tasks", "--json").stdout)["tasks"]
    by_kind = {}
    for t in shown:
        by_kind.setdefault(t["kind"], t)
    for kind in LETTER_KINDS:
        check(kind in by_kind, f"demo: has a {kind} task")
    sources = ["--practice-file", practice, "--patients", patients]
    for kind in LETTER_KINDS:
        if kind not in by_kind:
            continue
        task = by_kind[kind]
        show = json.loads(ok(db, today, "show", task["episode"], "--json").stdout)
        who = identity[show["patient"]]
        for lang in ("nl", "en"):
            text = ok(db, today, "letter", str(task["id"]), "--lang", lang, "--format", "text", *sources).stdout.decode()
            html = ok(db, today, "letter", str(task["id"]), "--lang", lang, "--format", "html", *sources).stdout.decode()
            pdf = os.path.join(tmp, f"{kind}-{lang}.pdf")
            ok(db, today, "letter", str(task["id"]), "--lang", lang, "--format", "pdf", "--out", pdf, *sources)
            what = f"{kind} {lang}"
            # The letter's date: the text letter's "Datum:"/"Date:" line.
            date_line = next((l for l in text.splitlines() if l.startswith("Datum: " if lang == "nl" else "Date: ")), "")
            letter_date = date_line.split(": ", 1)[-1]
            check(letter_date != "", f"{what}: text letter has a date line")
            for body, fmt in ((text, "text"), (flat(html), "html")):
                check(who["name"] in body, f"{what} {fmt}: the patient's name")
                check(who["bsn"] in body, f"{what} {fmt}: the BSN")
                check("De Linde" in body, f"{what} {fmt}: the practice's letterhead")
                check("AGB 04101234" in body, f"{what} {fmt}: the practice's AGB code")
                check("identificatie" not in body.lower() and "identification to be added" not in body.lower(),
                      f"{what} {fmt}: no 'identification to be added' when identified")
            check(html.startswith("<!DOCTYPE html>"), f"{what}: HTML")
            with open(pdf, "rb") as f:
                check(f.read(5) == b"%PDF-", f"{what}: a PDF file")
            pages = pdf_pages(pdf)
            check(len(pages) >= 2, f"{what}: PDF has {len(pages)} page(s), a full letter has more than one")
            for i, page in enumerate(pages, 1):
                page_flat = flat(page)
                check(who["name"] in page_flat, f"{what}: PDF page {i} names the patient")
                check(letter_date in page_flat, f"{what}: PDF page {i} carries the letter's date")
                label = f"pagina {i} van {len(pages)}" if lang == "nl" else f"page {i} of {len(pages)}"
                check(label in page_flat, f"{what}: PDF page {i} says '{label}'")
            whole = flat(" ".join(pages))
            # The GP's address from the directory (or, to a specialist, the copy to the GP).
            check("Utrecht" in whole and ("huisarts" in whole or "GP" in whole), f"{what}: PDF addressee with address")
            check(("fysiotherapeut" in whole or "oefentherapeut" in whole) if lang == "nl" else
                  ("physiotherapist" in whole or "exercise therapist" in whole), f"{what}: PDF sender's profession")
            if kind == "gp_referral":
                check(("Reden van verwijzing" if lang == "nl" else "Reason for referral") in whole,
                      f"{what}: PDF gives the reason")
    # A letter with two or more measurements draws the chart (its title is text in the PDF).
    chart = [flat(" ".join(pdf_pages(p))) for p in glob.glob(os.path.join(tmp, "*-nl.pdf"))]
    check(any("Beloop van de meetwaarden" in c for c in chart), "PDF: a chart of NPRS and QBPDS where measured twice")
    # letters --pending --format pdf: one PDF per open letter task
    out = os.path.join(tmp, "pending")
    r = ok(db, today, "letters", "--pending", "--format", "pdf", "--out", out, *sources)
    open_letters = [t for t in shown if t["kind"] in LETTER_KINDS and t["status"] == "open"]
    files = sorted(glob.glob(os.path.join(out, "*.pdf")))
    check(len(files) == len(open_letters) and len(files) > 0,
          f"letters --pending --format pdf: {len(files)} files for {len(open_letters)} open letter tasks")
    return db, identity, practice, patients


# The long episode of point 2: profile 3 (checkpoints at weeks 6 and 12, §8),
# an interim report, a consultation at week 6 (rule 7), a referral at week 12
# (rule 8); and one referred by a specialist that stops
# with an end measurement.
STEPS = [
    ("ep-long", {"type": "open", "at": "2026-01-05", "onset": "2025-12-29", "complaint": "lbp", "age": 45,
                 "referred_by": "gp", "gp": "huisarts-1", "therapist": "fysio-A"}),
    ("ep-long", {"type": "screening", "at": "2026-01-05", "red_flags": [], "exclusions": []}),
    ("ep-long", {"type": "measurement", "at": "2026-01-05", "nprs": 7, "qbpds": 52}),
    ("ep-long", {"type": "stratification", "at": "2026-01-05", "sbst": [1, 1, 0, 0, 1, 1, 1, 1, 4],
                 "factors": {"fear_of_movement": "dominant"}}),
    ("ep-long", {"type": "session", "at": "2026-01-12"}),
    ("ep-long", {"type": "session", "at": "2026-01-19"}),
    ("ep-long", {"type": "gp_request", "at": "2026-02-02", "question": "Hoe gaat het met werken?"}),
    ("ep-long", {"type": "session", "at": "2026-02-09"}),
    ("ep-long", {"type": "reevaluation", "at": "2026-02-16", "nprs": 6, "qbpds": 47, "judgement": "insufficient"}),
    ("ep-long", {"type": "gp_consult", "at": "2026-02-20", "outcome": "continue"}),
    ("ep-long", {"type": "session", "at": "2026-03-02"}),
    ("ep-long", {"type": "reevaluation", "at": "2026-03-30", "nprs": 6, "qbpds": 46, "judgement": "insufficient"}),
    ("ep-spec", {"type": "open", "at": "2026-02-02", "onset": "2026-01-26", "complaint": "lbp", "age": 60,
                 "referred_by": "specialist", "gp": "huisarts-2", "therapist": "oefentherapeut-D"}),
    ("ep-spec", {"type": "screening", "at": "2026-02-02", "red_flags": [], "exclusions": []}),
    ("ep-spec", {"type": "measurement", "at": "2026-02-02", "nprs": 5, "qbpds": 30}),
    ("ep-spec", {"type": "stratification", "at": "2026-02-02", "sbst": [0, 0, 0, 0, 0, 0, 0, 0, 0], "factors": {}}),
    ("ep-spec", {"type": "stop", "at": "2026-02-23", "reason": "goals_met", "nprs": 1, "qbpds": 8}),
]


def dated_letters(tmp, practice, patients):
    """Point 2: each letter printed on its own day equals the one printed later."""
    db = os.path.join(tmp, "long.db")
    ok(db, "2026-01-05", "init")
    sources = ["--practice-file", practice, "--patients", patients]
    printed = {}  # (task id, lang, format) -> bytes printed on the day
    day_of = {}
    seen = set()
    for ep, ev in STEPS:
        day = ev["at"]
        if ev["type"] == "open":
            ok(db, day, "open", "--id", ep, "--patient", "P0001" if ep == "ep-long" else "P0002", "-",
               stdin=json.dumps(ev))
        else:
            ok(db, day, "record", ep, "-", stdin=json.dumps(ev))  # fires the timers due before it
        for t in tasks(db, day):
            if t["kind"] in LETTER_KINDS and t["id"] not in seen:
                seen.add(t["id"])
                day_of[t["id"]] = (day, t["kind"], t["episode"])
                # Dutch in every format, English as text (the languages share the data;
                # point 1 renders every kind in both languages and all formats).
                for lang, fmt in (("nl", "text"), ("nl", "html"), ("nl", "pdf"), ("en", "text")):
                    printed[(t["id"], lang, fmt)] = ok(db, day, "letter", str(t["id"]), "--lang", lang,
                                                       "--format", fmt, *sources).stdout
    kinds = sorted(k for _, k, _ in day_of.values())
    check(kinds == sorted(["gp_report_start", "gp_report_interim", "gp_consultation", "gp_referral",
                           "gp_report_start", "gp_report_close"]),
          f"dated: the long episodes emit start, interim, consultation, referral, start and end letters ({kinds})")
    later = "2026-11-30"
    ok(db, later, "tick", "--now", later)
    for (task_id, lang, fmt), on_the_day in printed.items():
        again = ok(db, later, "letter", str(task_id), "--lang", lang, "--format", fmt, *sources).stdout
        check(again == on_the_day, f"dated: task {task_id} ({day_of[task_id][1]}) {lang} {fmt} printed on "
                                   f"{later} differs from the one printed on {day_of[task_id][0]}")
    # The facts of the day, from the spec (not from the engine's output).
    text = {k: printed[(i, "nl", "text")].decode() for i, (_, k, ep) in day_of.items() if ep == "ep-long"}
    start = text["gp_report_start"]
    check("Aantal behandelsessies: 0" in start, "dated: the start report counts no session yet")
    check("Status: in behandeling" in start and "terugverwezen" not in start, "dated: start report not referred")
    check("Datum: 5 januari 2026" in start, "dated: the start report is dated on the stratification's day")
    check("Klachtenduur: 1 week op 5 januari 2026" in start, "dated: complaint duration on that day, singular")
    consult = text["gp_consultation"]
    check("Status: overleg met de huisarts gevraagd" in consult and "Status: terugverwezen" not in consult,
          "dated: the consultation letter is not referred")
    check("na 6 weken behandeling" in consult, "dated: the consultation letter counts six weeks of treatment")
    check("30 maart" not in consult, "dated: nothing of the week-12 reevaluation in the consultation letter")
    interim = text["gp_report_interim"]
    check("Hoe gaat het met werken?" in interim, "dated: the interim report answers the GP's question")
    check("16 februari" not in interim, "dated: the interim report knows nothing of later reevaluations")
    check("na 4 weken behandeling" in interim or "4 weken" in interim, "dated: the interim report counts weeks")
    referral = text["gp_referral"]
    check("terugverwezen" in referral.lower(), "dated: the referral says referred")
    check("5 januari 2026 (meting): NPRS 7 QBPDS 52" in referral and "30 maart 2026 (herevaluatie): NPRS 6 QBPDS 46"
          in referral, "dated: the referral lists the dated measurements")
    # The specialist's patient: the end report goes to the specialist, with a copy to the GP; an exercise therapist.
    spec = {k: printed[(i, "nl", "text")].decode() for i, (_, k, ep) in day_of.items() if ep == "ep-spec"}
    close = spec["gp_report_close"]
    check("Aan: verwijzend medisch specialist" in close and "Kopie: F. Meijer, huisarts" in close,
          "end report to the referring specialist, copy to the GP")
    check("D. Visser, oefentherapeut" in close and "Eindrapportage oefentherapie" in close,
          "an exercise therapist signs as one")
    check("Eindmeting op 23 februari 2026." in close, "end report: the end measurement's date")
    return db


def identity_never_stored(tmp, dbs, identity):
    """Point 3: nothing of the patients file in the databases or the output."""
    secrets = set()
    for row in identity.values():
        secrets.update({row["name"], row["bsn"], row["birth_date"]})
    blobs = []
    for db in dbs:
        for f in glob.glob(db + "*"):
            with open(f, "rb") as fh:
                blobs.append((f, fh.read()))
    leaked = sorted({s for s in secrets for _, b in blobs if s.encode() in b})
    check(not leaked, f"identity: {len(leaked)} value(s) of the patients file found in the database files")
    # The commands' own messages (stderr) never carry them; stdout carried the letters themselves.
    err = b"".join(outputs[1::2])
    leaked = sorted({s for s in secrets if s.encode() in err})
    check(not leaked, f"identity: {len(leaked)} value(s) of the patients file on standard error")
    # Without a patients file: said plainly.
    db = dbs[1]
    task = next(t for t in tasks(db) if t["kind"] == "gp_report_start")
    nl = ok(db, "2026-12-31", "letter", str(task["id"]), "--format", "text").stdout.decode()
    en = ok(db, "2026-12-31", "letter", str(task["id"]), "--format", "text", "--lang", "en").stdout.decode()
    check("Identificatie door de praktijk aan te vullen" in nl, "no patients file: nl says identification is to be added")
    check("Identification to be added by the practice" in en, "no patients file: en says so too")
    check("Aan: huisarts-1, huisarts" in nl, "no practice file: the GP by its code, not 'niet vastgelegd'")


def bad_input(tmp, db, practice, patients):
    """Point 4: exit 2, one line naming the file and the entry, nothing written."""
    letter_task = next(t for t in tasks(db) if t["kind"] == "gp_referral")
    other = next(t for t in tasks(db) if t["kind"] == "reevaluation")

    def write(name, content):
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        return path

    good_practice = open(practice, encoding="utf-8").read()
    no_therapist = write("no-therapist.toml", good_practice.replace("[therapists.fysio-A]", "[therapists.fysio-X]"))
    no_gp = write("no-gp.toml", good_practice.replace("[gps.huisarts-1]", "[gps.huisarts-9]"))
    broken = write("broken.toml", good_practice.replace("[practice]", "[practice"))
    bad_prof = write("bad-profession.toml", good_practice.replace('profession = "fysiotherapeut"', 'profession = "arts"', 1))
    no_patient = write("no-patient.csv", "reference,name,birth_date,bsn\nP0002,Iemand Anders,1960-01-01,\n")
    bad_bsn = write("bad-bsn.csv", "reference,name,birth_date,bsn\nP0001,Iemand,1960-01-01,123456789\n")
    bad_date = write("bad-date.json", json.dumps({"P0001": {"name": "Iemand", "birth_date": "01-01-1960"}}))
    missing = os.path.join(tmp, "absent.csv")
    cases = [
        (["--practice-file", no_therapist], "no-therapist.toml", "fysio-A"),
        (["--practice-file", no_gp], "no-gp.toml", "huisarts-1"),
        (["--practice-file", broken], "broken.toml", "line"),
        (["--practice-file", bad_prof], "bad-profession.toml", "profession"),
        (["--practice-file", os.path.join(tmp, "absent.toml")], "absent.toml", "cannot read"),
        (["--patients", no_patient], "no-patient.csv", "ep-long"),
        (["--patients", bad_bsn], "bad-bsn.csv", "line 2"),
        (["--patients", bad_date], "bad-date.json", "birth_date"),
        (["--patients", missing], "absent.csv", "cannot read"),
    ]
    before = dump(db)
    for extra, file_name, entry in cases:
        for cmd in (["letter", str(letter_task["id"]), "--format", "pdf"],
                    ["letters", "--pending", "--format", "pdf", "--out", os.path.join(tmp, "bad-out")]):
            r = run(db, "2026-12-31", *cmd, *extra)
            what = f"{cmd[0]} with {file_name}"
            err = r.stderr.decode()
            check(r.returncode == 2, f"{what}: exit {r.returncode}, expected 2 ({err.strip()})")
            check(err.count("\n") == 1 and file_name in err and entry in err,
                  f"{what}: one line naming the file and '{entry}' ({err.strip()})")
            check(r.stdout == b"", f"{what}: nothing on standard output")
            check(not glob.glob(os.path.join(tmp, "bad-out", "*")), f"{what}: no letter file written")
        check("1960" not in err and "Iemand" not in err, f"{file_name}: the message shows no patient data")
    check(dump(db) == before, "bad input: the database is unchanged")
    r = run(db, "2026-12-31", "letter", str(other["id"]), "--practice-file", practice)
    check(r.returncode == 2 and r.stderr.decode().count("\n") == 1 and "not a letter" in r.stderr.decode(),
          "a letter for a reevaluation task: exit 2, one line")


def served_letters(tmp, db, practice, patients):
    """`serve --practice-file --patients`: the web's PDF is the CLI's; a bad file stops serve (exit 2)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import zorgpad_web as web
    task = next(t for t in tasks(db) if t["kind"] == "gp_referral")
    server = web.Server(ZORGPAD, db, "--practice-file", practice, "--patients", patients, today="2026-12-31")
    try:
        r = web.http(server.base, "GET", f"/api/tasks/{task['id']}/letter?format=pdf", record=False)
        check(r.status == 200 and r.headers.get("Content-Type") == "application/pdf", f"serve: PDF letter {r.status}")
        cli = ok(db, "2026-12-31", "letter", str(task["id"]), "--format", "pdf", "--practice-file", practice,
                 "--patients", patients).stdout
        check(r.body == cli, "serve: the served PDF is the CLI's")
        episode = web.http(server.base, "GET", f"/api/episodes/{task['episode']}", record=False).json
        check(all(l["pdf"].endswith("?format=pdf") for l in episode["letters"]), "serve: the episode links each PDF")
    finally:
        server.stop()
    bad = os.path.join(tmp, "bad-patients.csv")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("reference,name\n")
    r = subprocess.run([ZORGPAD, "--db", db, "serve", "--port", "0", "--patients", bad], capture_output=True, timeout=60)
    check(r.returncode == 2 and "bad-patients.csv" in r.stderr.decode(), f"serve with a bad patients file: exit {r.returncode}")
    outputs.append(r.stderr)


def main():
    if not shutil.which("pdftotext"):
        raise SystemExit("pdftotext (poppler-utils) is missing: run scripts/setup.sh")
    with tempfile.TemporaryDirectory() as tmp:
        demo_db, identity, practice, patients = demo_letters(tmp)
        long_db = dated_letters(tmp, practice, patients)
        identity_never_stored(tmp, [demo_db, long_db], identity)
        bad_input(tmp, long_db, practice, patients)
        served_letters(tmp, long_db, practice, patients)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("letters_print_cli: ok")


if __name__ == "__main__":
    main()
