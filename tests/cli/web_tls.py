"""serve with TLS (issue 14): a certificate made here with openssl, curl
--cacert against it on loopback and off loopback, and the refusals: off
loopback without TLS or --behind-proxy, a certificate without its key, a key
that is not the certificate's, plain HTTP spoken to the TLS port.

Run: python3 web_tls.py ZORGPAD_BINARY
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ZP = os.path.abspath(sys.argv[1])
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*args, **kw):
    return subprocess.run([ZP, *args], capture_output=True, text=True, timeout=60, **kw)


def make_cert(d, name, cn="localhost"):
    key, cert = os.path.join(d, name + "-key.pem"), os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def start(db, *args):
    p = subprocess.Popen([ZP, "--db", db, "serve", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"serving (https?://\S+)", line)
    if not m:
        p.kill()
        raise SystemExit("serve did not start: " + line + p.stderr.read())
    token = None
    if "127.0.0.1" in m.group(1):
        tl = p.stdout.readline()
        token = tl.split()[2] if tl.startswith("zorgpad: token ") else None
    return p, m.group(1), token


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    return p.returncode


def curl(*args):
    r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", *args],
                       capture_output=True, text=True)
    body, _, code = r.stdout.rpartition("\n")
    return r.returncode, code, body


def main():
    if not shutil.which("curl") or not shutil.which("openssl"):
        print("web_tls: curl and openssl are needed (scripts/setup.sh installs them)")
        return 1
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "t.db")
        check(run("--db", db, "init").returncode == 0, "init")
        cert, key = make_cert(d, "server")
        other_cert, other_key = make_cert(d, "other")

        # The refusals, each exit 2 with one line and nothing served.
        r = run("--db", db, "serve", "--bind", "0.0.0.0", "--port", "0")
        check(r.returncode == 2 and "without TLS" in r.stderr and r.stderr.count("\n") == 1,
              f"off loopback without TLS: refused with exit 2 ({r.stderr.strip()})")
        r = run("--db", db, "serve", "--port", "0", "--tls-cert", cert)
        check(r.returncode == 2 and "--tls-key" in r.stderr, f"a certificate without its key: exit 2 ({r.stderr.strip()})")
        r = run("--db", db, "serve", "--port", "0", "--tls-cert", cert, "--tls-key", other_key)
        check(r.returncode == 2 and ("does not belong" in r.stderr or "mismatch" in r.stderr) and r.stderr.count("\n") == 1,
              f"a key that is not the certificate's: exit 2 ({r.stderr.strip()})")
        r = run("--db", db, "serve", "--port", "0", "--tls-cert", cert, "--tls-key", key, "--behind-proxy")
        check(r.returncode == 2, "TLS and --behind-proxy together: exit 2")

        # Loopback with TLS: curl trusts the test certificate and nothing else.
        p, base, local_token = start(db, "--tls-cert", cert, "--tls-key", key)
        try:
            check(base.startswith("https://127.0.0.1:"), f"serve prints an https URL ({base})")
            rc, code, body = curl("--cacert", cert, base + "healthz")
            check(rc == 0 and code == "200" and '"status":"ok"' in body, f"curl --cacert: 200 over TLS ({rc} {code})")
            rc, code, _ = curl(base + "healthz")
            check(rc != 0, f"curl without the CA refuses the self-made certificate (curl exit {rc})")
            rc, code, _ = curl("--cacert", other_cert, base + "healthz")
            check(rc != 0, f"curl with another CA refuses it (curl exit {rc})")
            rc, code, _ = curl(base.replace("https://", "http://") + "healthz")
            check(code != "200", f"plain HTTP to the TLS port gets no answer ({rc} {code})")
            rc, code, body = curl("--cacert", cert, "-H", "Authorization: Bearer " + local_token, "-X", "POST",
                                  base + "api/tasks/1/done")
            check(code == "404", f"a POST with the local token over TLS reaches the route ({code})")
            r = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--cacert", cert, base + "healthz"],
                               capture_output=True, text=True)
            check("strict-transport-security" in r.stdout.lower(), "HSTS header over TLS")
        finally:
            check(stop(p) == 0, "serve stops cleanly on SIGTERM")

        # Off loopback with TLS: no local access; a user's token works.
        r = run("--db", db, "user", "add", "--name", "Tess", "--role", "therapist", "--practice", "A")
        token = r.stdout.strip().splitlines()[-1]
        p, base, _ = start(db, "--bind", "0.0.0.0", "--tls-cert", cert, "--tls-key", key)
        try:
            url = base.replace("0.0.0.0", "127.0.0.1")
            rc, code, _ = curl("--cacert", cert, url + "api/episodes")
            check(code == "401", f"off loopback: a read without a token is 401 ({code})")
            rc, code, body = curl("--cacert", cert, "-H", "Authorization: Bearer " + token, url + "api/episodes")
            check(code == "200" and '"total":0' in body, f"off loopback: a user's token reads over TLS ({code})")
        finally:
            check(stop(p) == 0, "serve stops cleanly")
    if failures:
        print(f"web_tls: {len(failures)} failed")
        return 1
    print("web_tls: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
