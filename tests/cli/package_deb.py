#!/usr/bin/python3
"""The Debian package (issue 15): `cpack -G DEB` of this build, `dpkg -i`, the
installed program, `dpkg -r`.

Run as `python3 package_deb.py ZORGPAD_BINARY` (ctest does), as root (CI and
scripts/test.sh are); without root or dpkg it exits 77, which ctest reports as
skipped. Checks that the package installs /usr/bin/zorgpad, which runs and
reads its files from /usr/share/zorgpad (not from the checkout), zorgpad(1),
the systemd units of serve and the worker and /etc/default/zorgpad; and that
`dpkg -r` removes the program again.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ZORGPAD = os.path.abspath(sys.argv[1])
BUILD = os.path.dirname(ZORGPAD)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, **kw)


def main():
    if os.geteuid() != 0 or not shutil.which("dpkg") or not shutil.which("cpack"):
        print("package_deb: skipped (needs root, dpkg and cpack)")
        sys.exit(77)
    if run("dpkg-query", "-W", "zorgpad").returncode == 0:
        print("package_deb: skipped (a zorgpad package is installed on this machine)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        r = run("cpack", "-G", "DEB", "-B", tmp, "--config", os.path.join(BUILD, "CPackConfig.cmake"))
        if not check(r.returncode == 0, f"cpack -G DEB: exit {r.returncode}: {r.stderr[-800:]}"):
            sys.exit(1)
        debs = glob.glob(os.path.join(tmp, "zorgpad_*.deb"))
        if not check(len(debs) == 1, f"one .deb built ({debs})"):
            sys.exit(1)
        deb = debs[0]
        info = run("dpkg-deb", "--info", deb).stdout
        check("Package: zorgpad" in info and "Depends:" in info, "the package names its dependencies")
        contents = run("dpkg-deb", "--contents", deb).stdout
        for path in ("./usr/bin/zorgpad", "./usr/share/zorgpad/letters/strings.nl.json",
                     "./usr/share/zorgpad/web/", "./usr/share/man/man1/zorgpad.1",
                     "zorgpad-serve.service", "zorgpad-worker.service", "./etc/default/zorgpad"):
            check(path in contents, f"the package holds {path}")
        r = run("dpkg", "-i", deb)
        if not check(r.returncode == 0, f"dpkg -i: exit {r.returncode}: {r.stderr[-800:]}"):
            sys.exit(1)
        try:
            env = {k: v for k, v in os.environ.items() if k != "ZORGPAD_SHARE_DIR"}
            r = run("/usr/bin/zorgpad", "--version", env=env)
            check(r.returncode == 0 and r.stdout.startswith("zorgpad "), f"zorgpad --version from /usr/bin: {r.stdout!r}")
            check(run("man", "-w", "zorgpad").returncode == 0 or os.path.exists("/usr/share/man/man1/zorgpad.1.gz"),
                  "zorgpad(1) is installed")
            # It reads its templates from /usr/share/zorgpad: a mark put there shows in its letter.
            mark = "INSTALLED-TEMPLATE-MARK"
            tpl = "/usr/share/zorgpad/letters/letter.txt.mustache"
            with open(tpl, encoding="utf-8") as f:
                text = f.read()
            with open(tpl, "w", encoding="utf-8") as f:
                f.write(mark + "\n" + text)
            db = os.path.join(tmp, "z.db")
            r = run("/usr/bin/zorgpad", "--db", db, "--today", "2026-06-30", "demo", "--episodes", "20", env=env)
            check(r.returncode == 0, f"installed zorgpad demo: exit {r.returncode}: {r.stderr[-400:]}")
            letters = [t for t in json.loads(run("/usr/bin/zorgpad", "--db", db, "tasks", "--json", env=env).stdout)["tasks"]
                       if t["kind"] in ("gp_report_start", "gp_report_close", "gp_referral", "gp_consultation", "gp_report_interim", "gp_red_flag_notice")]
            if check(letters, "the demo has a letter task"):
                r = run("/usr/bin/zorgpad", "--db", db, "letter", str(letters[0]["id"]), "--format", "text", env=env)
                check(r.returncode == 0 and r.stdout.startswith(mark), "the installed zorgpad reads /usr/share/zorgpad")
        finally:
            r = run("dpkg", "-r", "zorgpad")
            check(r.returncode == 0, f"dpkg -r: exit {r.returncode}: {r.stderr[-400:]}")
            check(not os.path.exists("/usr/bin/zorgpad"), "dpkg -r removes /usr/bin/zorgpad")
            run("dpkg", "--purge", "zorgpad")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("package_deb: ok")


if __name__ == "__main__":
    main()
