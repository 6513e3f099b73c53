#!/usr/bin/python3
"""docs/state-machine.md is what `zorgpad diagram` draws from the transition tables.

Run as `python3 docs_diagram.py ZORGPAD_BINARY` (ctest does). The document has
one mermaid block per pathway revision, the current one first; each must be
the binary's own drawing of that revision's table, so the document cannot
drift from the table. Also checks that the current table has the red-flag
review state with its ways in and out (spec §4).
"""
import os
import re
import subprocess
import sys

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS_DIR = os.environ.get("ZORGPAD_TESTS_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(os.path.dirname(TESTS_DIR), "docs", "state-machine.md")


def draw(*args):
    p = subprocess.run([ZORGPAD, "diagram", "--format", "mermaid", *args], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise SystemExit(f"diagram {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def main():
    with open(DOC) as f:
        blocks = re.findall(r"```mermaid\n(.*?)```", f.read(), re.S)
    failures = []
    want = [draw(), draw("--revision", "1")]
    if len(blocks) != len(want):
        failures.append(f"{DOC}: {len(blocks)} mermaid blocks, expected {len(want)}")
    for i, (doc, drawn) in enumerate(zip(blocks, want)):
        if doc != drawn:
            failures.append(f"{DOC}: block {i + 1} differs from `zorgpad diagram`; regenerate it")
    current = want[0]
    for edge in ["screened --> red_flag_review : screening [two_features]",
                 "red_flag_review --> referred : red_flag_review [refer_decision]",
                 "red_flag_review --> screened : red_flag_review [continue_to_screened]",
                 "red_flag_review --> excluded : red_flag_review [continue_excluded]",
                 "red_flag_review --> referred : stop / stop_refer_red_flag",
                 "intake --> closed : stop / close"]:
        if edge not in current:
            failures.append(f"the current table lacks the edge '{edge}'")
    if "red_flag_review" in want[1]:
        failures.append("revision 1's table has a red_flag_review state; it must stay frozen")
    for f in failures:
        print("FAIL", f)
    if failures:
        return 1
    print("ok: docs/state-machine.md is the drawing of both tables; the review state has its edges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
