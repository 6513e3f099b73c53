#!/usr/bin/python3
"""`zorgpad serve` against slow and surplus clients, with raw sockets.

Run as `python3 web_slow_clients.py ZORGPAD_BINARY` (ctest does). Starts
`zorgpad serve` with its default limits (docs/serve.md, "Limits") on a free
loopback port over a fresh database, then:

- a head over 32 KiB gets 431, a chunked body over 64 KiB gets 413;
- 64 connections trickle a header line every 2 s and never finish their
  request: 32 from 127.0.0.2 (the per-address cap) and one each from 32 other
  loopback addresses (all of 127/8 is loopback on Linux). Meanwhile GET
  /healthz from 127.0.0.1 answers within 1 s, checked five times, and a 33rd
  connection from 127.0.0.2 gets 429 at once. Each slow connection gets 408
  and is closed once its request timeout (10 s) has passed, not before;
- /healthz still answers afterwards, and SIGTERM stops the server.

Takes about 15 s (the request timeout, plus start and stop).
"""
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

ZORGPAD = os.path.abspath(sys.argv[1])
REQUEST_TIMEOUT = 10  # serve's defaults
PER_CLIENT = 32
SLOW_CAPPED = PER_CLIENT  # from 127.0.0.2
SLOW_SPREAD = 32          # from 127.0.0.10 … 127.0.0.41
TRICKLE_EVERY = 2.0
PROBE_AT = [0.5, 2.5, 4.5, 6.5, 8.5]  # seconds after the slow connections opened, all before their timeout
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, source="127.0.0.1"):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def parse(raw):
    """(status, headers, body) of one HTTP/1.1 answer; status 0 when there is none."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        return 0, {}, raw
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers, body


def exchange(port, data, source="127.0.0.1", timeout=5):
    """Sends raw bytes, reads until the server closes or `timeout`; (status, headers, body, seconds)."""
    t0 = time.monotonic()
    s = connect(port, source)
    raw = b""
    try:
        s.settimeout(timeout)
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
            status, headers, body = parse(raw)
            if status and "content-length" in headers and len(body) >= int(headers["content-length"]):
                break
    except (socket.timeout, ConnectionError):
        pass
    finally:
        s.close()
    return (*parse(raw), time.monotonic() - t0)


def is_json_error(status, headers, body, want, what):
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    return check(status == want and isinstance(j, dict) and j.get("status") == want
                 and headers.get("content-type", "").startswith("application/json"),
                 f"{what}: JSON error {want} (got {status}: {body[:120]!r})")


def healthz(port, source="127.0.0.1"):
    return exchange(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", source)


def start(db, log):
    port = free_port()
    proc = subprocess.Popen([ZORGPAD, "--db", db, "serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=log,
                            text=True)
    line = proc.stdout.readline()
    if not line.startswith("zorgpad: serving "):
        raise SystemExit(f"serve did not start ({proc.poll()}): {line!r}")
    return proc, port


def check_byte_limits(port):
    big = b"".join(b"X-Big-%d: %s\r\n" % (i, b"a" * 8000) for i in range(5))  # 40 KB, each line under httplib's 8 KiB
    status, headers, body, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + b"\r\n")
    is_json_error(status, headers, body, 431, "a request head over 32 KiB")
    chunk = b"a" * 16384
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"  # 80 KiB of body
    status, headers, body, _ = exchange(port, b"POST /api/tasks/1/done HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n" + chunked)
    is_json_error(status, headers, body, 413, "a chunked body over 64 KiB")
    status, _, _, _ = healthz(port)
    check(status == 200, f"healthz after the byte limits ({status})")


def check_slow_clients(port):
    sources = ["127.0.0.2"] * SLOW_CAPPED + [f"127.0.0.{10 + i}" for i in range(SLOW_SPREAD)]
    slow = []  # dicts: sock, opened, sent, raw, closed
    for src in sources:
        s = connect(port, src)
        s.setblocking(False)
        s.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append({"sock": s, "src": src, "opened": time.monotonic(), "lines": 1, "raw": b"", "closed": None})
    t0 = time.monotonic()
    print(f"web_slow_clients: {len(slow)} slow connections open ({SLOW_CAPPED} from 127.0.0.2, "
          f"{SLOW_SPREAD} from other addresses)")

    probes, surplus = [], None
    next_trickle = t0 + TRICKLE_EVERY
    end = t0 + REQUEST_TIMEOUT + 8
    while time.monotonic() < end and any(c["closed"] is None for c in slow):
        now = time.monotonic()
        if len(probes) < len(PROBE_AT) and now >= t0 + PROBE_AT[len(probes)]:
            status, _, body, took = healthz(port)
            probes.append((round(now - t0, 1), status, took))
            check(status == 200 and json.loads(body or b"{}").get("status") == "ok" and took < 1.0,
                  f"GET /healthz at {now - t0:.1f}s under {len(slow)} slow clients: 200 within 1 s "
                  f"(got {status} in {took:.2f}s)")
        if surplus is None and now >= t0 + 1.0:
            # The 33rd connection from 127.0.0.2; its slow siblings may still be
            # waiting for a worker to take them in, so allow a few tries.
            for _ in range(10):
                status, headers, body, took = healthz(port, source="127.0.0.2")
                if status == 429:
                    break
                time.sleep(0.3)
            surplus = (status, took)
            is_json_error(status, headers, body, 429, f"connection {PER_CLIENT + 1} from one address")
            check(took < 1.0, f"the 429 comes at once ({took:.2f}s)")
        if now >= next_trickle:
            for c in slow:
                if c["closed"] is None:
                    try:
                        c["sock"].send(b"X-Slow-%d: still coming\r\n" % c["lines"])
                        c["lines"] += 1
                    except (BlockingIOError, ConnectionError):
                        pass  # read below tells when it closed
            next_trickle += TRICKLE_EVERY
        open_socks = [c["sock"] for c in slow if c["closed"] is None]
        readable, _, _ = select.select(open_socks, [], [], 0.05)
        for c in slow:
            if c["sock"] in readable:
                try:
                    data = c["sock"].recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    data = b""
                if data:
                    c["raw"] += data
                else:
                    c["closed"] = time.monotonic()
                    c["sock"].close()

    for c in slow:
        if c["closed"] is None:
            c["sock"].close()
    lived = [c["closed"] - c["opened"] for c in slow if c["closed"] is not None]
    answered = [parse(c["raw"]) for c in slow]
    n408 = sum(1 for status, _, _ in answered if status == 408)
    check(len(lived) == len(slow), f"every slow connection is closed within {REQUEST_TIMEOUT + 8}s "
                                   f"({len(slow) - len(lived)} still open)")
    if lived:
        check(min(lived) >= REQUEST_TIMEOUT - 0.5, f"no slow connection is cut before its {REQUEST_TIMEOUT}s "
                                                   f"(shortest {min(lived):.1f}s)")
        check(max(lived) <= REQUEST_TIMEOUT + 5, f"slow connections are cut soon after {REQUEST_TIMEOUT}s "
                                                 f"(longest {max(lived):.1f}s)")
    check(n408 == len(slow), f"each slow connection is told 408 ({n408} of {len(slow)}; "
                             f"{[c['raw'][:40] for c, a in zip(slow, answered) if a[0] != 408][:2]})")
    for status, headers, body in answered:
        if status == 408:
            is_json_error(status, headers, body, 408, "a request that does not arrive in time")
            check(headers.get("connection") == "close" and "keep-alive" not in headers,
                  f"the 408 closes the connection ({headers})")
            break
    check(len(probes) == len(PROBE_AT), f"{len(PROBE_AT)} probes made ({len(probes)})")
    print("web_slow_clients: /healthz under the slow clients: " +
          ", ".join(f"{took * 1000:.0f} ms at {at}s" for at, _, took in probes) +
          (f" (max {max(t for _, _, t in probes) * 1000:.0f} ms)" if probes else ""))
    if lived:
        print(f"web_slow_clients: slow connections closed after {min(lived):.1f}-{max(lived):.1f}s, "
              f"{n408} told 408; connection {PER_CLIENT + 1} from 127.0.0.2: {surplus[0] if surplus else None} "
              f"in {surplus[1] * 1000 if surplus else 0:.0f} ms")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "slow.db")
        r = subprocess.run([ZORGPAD, "--db", db, "init"], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"zorgpad init failed: {r.stderr}")
        with open(os.path.join(tmp, "serve.log"), "w+") as log:
            proc, port = start(db, log)
            started = time.monotonic()
            try:
                status, _, _, _ = healthz(port)
                check(status == 200, f"healthz answers ({status})")
                check_byte_limits(port)
                check_slow_clients(port)
                status, _, _, took = healthz(port)
                check(status == 200, f"healthz after the slow clients ({status}, {took:.2f}s)")
            finally:
                t = time.monotonic()
                proc.terminate()
                try:
                    code = proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = None
                check(code == 0, f"serve stops cleanly on SIGTERM (exit {code})")
                print(f"web_slow_clients: serve ran {t - started:.1f}s, stopped in {time.monotonic() - t:.2f}s")
            log.seek(0)
            warnings = [l.rstrip() for l in log if l.strip()]
            check(len(warnings) <= 6, f"the log stays short under a flood ({len(warnings)} lines)")
            for l in warnings:
                print("web_slow_clients: serve logged:", l)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("web_slow_clients: ok")


if __name__ == "__main__":
    main()
