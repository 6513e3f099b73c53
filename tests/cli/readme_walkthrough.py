#!/usr/bin/python3
"""The README's walkthrough runs as written (issue 15, point 3).

Run as `python3 readme_walkthrough.py ZORGPAD_BINARY` (ctest does).

Every ```sh block of README.md is run, in order, by one bash in a fresh
temporary directory (holding a link to the repository's tests/, which the
README names), with `Z` pointing at the binary under test and neither
ZORGPAD_DB nor ZORGPAD_TODAY inherited: the README sets them itself. A
block just below `<!-- walkthrough: skip (why) -->` is not run: the set-up
commands, and what needs a server or PostgreSQL. Each command line (a line
ending in `\\` goes on with the next) must exit 0, or the status its comment
shows (`# exits 2`). The README's `Z=build/zorgpad` line is the one line
changed: it names the binary under test.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
TESTS = os.path.abspath(os.environ.get("ZORGPAD_TESTS_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")))
README = os.path.join(os.path.dirname(TESTS), "README.md")

SKIP = re.compile(r"^<!--\s*walkthrough:\s*skip\b.*-->\s*$")
EXPECT = re.compile(r"#.*\bexits? (\d+)\b")


def blocks(text):
    """The ```sh blocks, each with its first line number and whether it is skipped."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out.append((i + 2, lines[i + 1:j], bool(SKIP.match(prev.strip()))))
            i = j
        i += 1
    return out


def commands(start, lines):
    """Command lines (continuations joined) with their README line numbers."""
    cmds, pending, first = [], "", None
    for n, line in enumerate(lines, start):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if first is None:
            first = n
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        cmds.append((first, pending + line))
        pending, first = "", None
    return cmds


failures = []
text = open(README, encoding="utf-8").read()
found = blocks(text)
run_blocks = [b for b in found if not b[2]]
if len(run_blocks) < 5:
    failures.append(f"only {len(run_blocks)} runnable sh blocks in README.md")

script = ["set +e", "unset ZORGPAD_DB ZORGPAD_TODAY ZORGPAD_PRACTICE"]
count = 0
for start, lines, skipped in found:
    if skipped:
        continue
    for n, cmd in commands(start, lines):
        if re.match(r"^Z=\S+", cmd):
            cmd = "Z=" + shlex.quote(ZORGPAD)
        m = EXPECT.search(cmd)
        expected = int(m.group(1)) if m else 0
        count += 1
        script.append(cmd)
        script.append(f'__s=$?; if [ "$__s" -ne {expected} ]; then '
                      f'echo "README.md line {n}: exit $__s, expected {expected}: "{shlex.quote(cmd)} >&2; exit 1; fi')
script.append(f"echo 'walkthrough: {count} command lines'")

with tempfile.TemporaryDirectory() as tmp:
    os.symlink(TESTS, os.path.join(tmp, "tests"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZORGPAD_")}
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        failures.append(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"bash exit {p.returncode}")
        sys.stderr.write(p.stderr)
    else:
        print(p.stdout.strip().splitlines()[-1])

for f in failures:
    print("FAIL:", f)
print("readme_walkthrough:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
