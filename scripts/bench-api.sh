#!/usr/bin/env bash
# The HTTP API benchmark (docs/performance.md, "HTTP API"), run by hand, not a
# test. End to end, and safe to run again (every database it writes is made
# afresh, or copied from the kept template, in the work directory):
#
#   scripts/bench-api.sh [--bin-dir build] [--episodes 1000000] [--duration 10] …
#
# Writes: every wrk request is a new durable write (bench/wrk/post_events.lua):
#   session  POST /api/episodes/{id}/events, a session on an episode in treatment
#            (the event zorgpad_bench's record phase writes, one per commit)
#   open     POST /api/episodes, a new episode per request
# with a therapist's token, next to the same writes without HTTP in the same run:
#   in-process  zorgpad_bench --phases record (Store::record, one event per
#               synchronous=FULL commit; zorgpad_pg_bench on PostgreSQL)
#   CLI         a loop of `zorgpad record` / `zorgpad open` processes
# on: the demo practice (`zorgpad demo`), a small bench database (the
# in-process baseline at practice size), the large bench database (built once
# with zorgpad_bench into --large-db and kept; each run works on a copy, since
# the record phase can write its events only once), and PostgreSQL
# (scripts/with-postgres.sh: 1, 2 and 4 serve processes, one wrk each).
# Reads at the large database: /api/episodes?limit=50 and /api/overview
# (bench/wrk/get.lua), serve's peak RSS (VmHWM) and `zorgpad overview`'s max
# RSS; and the floor of an audited read: one audit row (plus its episode
# rows) per transaction, WAL + synchronous=NORMAL, without zorgpad.
#
# Prints a Markdown report (also written to --out). A wrk run with a non-2xx
# answer, a duplicate or a socket error is marked INVALID.
#
# Options (defaults in brackets):
#   --bin-dir DIR        zorgpad, zorgpad_bench, zorgpad_pg_bench in DIR [build, build/bench]
#   --zorgpad/--bench/--pg-bench PATH   each binary on its own
#   --work DIR           work directory [/tmp/bench-api]
#   --episodes N         episodes of the large database, 0 skips it [1000000]
#   --large-db PATH      the kept template [WORK/1m.db, or WORK/eN.db]
#   --small-episodes N   the small bench database [7000]
#   --demo-episodes N    the demo practice [300]
#   --records N          in-process durable records per database [1000]
#   --cli-records N      CLI processes per loop [200]
#   --duration S         seconds per wrk run [10]
#   --overview-duration S  seconds per wrk run on /api/overview at the large database [30]
#   --connections C      connections of the concurrent write runs (-t2 -cC) [4]
#   --pg-episodes N      episodes of the PostgreSQL practice [20000]; --no-pg skips PostgreSQL
#   --pg-procs "1 2 4"   serve processes on PostgreSQL
#   --max-load L         wait before starting while the 1-minute load is above L [0.8]
#   --load-wait S        ... for at most S seconds [1200]
#   --out FILE           the Markdown report [WORK/results.md]
#   --keep-work          keep the working copy of the large database
#   --only LIST          sections to run: demo,small,large,reads,audit,pg [all]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SELF="$ROOT/scripts/bench-api.sh"

# ---- options --------------------------------------------------------------------------
ZP="" BENCH="" PGBENCH="" BIN_DIR=""
WORK=/tmp/bench-api
EPISODES=1000000 LARGE_DB="" SMALL_EPISODES=7000 DEMO_EPISODES=300
RECORDS=1000 CLI_RECORDS=200 DURATION=10 OV_DURATION=30 CONNS=4
PG=1 PG_EPISODES=20000 PG_PROCS="1 2 4"
MAX_LOAD=0.8 LOAD_WAIT=1200 OUT="" KEEP_WORK=0 ONLY="demo,small,large,reads,audit,pg"
PG_INNER=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) BIN_DIR="$2"; shift 2 ;;
    --zorgpad) ZP="$2"; shift 2 ;;
    --bench) BENCH="$2"; shift 2 ;;
    --pg-bench) PGBENCH="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --episodes) EPISODES="$2"; shift 2 ;;
    --large-db) LARGE_DB="$2"; shift 2 ;;
    --small-episodes) SMALL_EPISODES="$2"; shift 2 ;;
    --demo-episodes) DEMO_EPISODES="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --cli-records) CLI_RECORDS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --overview-duration) OV_DURATION="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --pg-episodes) PG_EPISODES="$2"; shift 2 ;;
    --pg-procs) PG_PROCS="$2"; shift 2 ;;
    --no-pg) PG=0; shift ;;
    --max-load) MAX_LOAD="$2"; shift 2 ;;
    --load-wait) LOAD_WAIT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep-work) KEEP_WORK=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --pg-inner) PG_INNER=1; shift ;;  # internal: the PostgreSQL part, inside scripts/with-postgres.sh
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-api: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -n "$BIN_DIR" ]; then
  : "${ZP:=$BIN_DIR/zorgpad}"
  if [ -x "$BIN_DIR/zorgpad_bench" ]; then : "${BENCH:=$BIN_DIR/zorgpad_bench}"; else : "${BENCH:=$BIN_DIR/bench/zorgpad_bench}"; fi
  if [ -x "$BIN_DIR/zorgpad_pg_bench" ]; then : "${PGBENCH:=$BIN_DIR/zorgpad_pg_bench}"; else : "${PGBENCH:=$BIN_DIR/bench/zorgpad_pg_bench}"; fi
fi
: "${ZP:=build/zorgpad}" "${BENCH:=build/bench/zorgpad_bench}" "${PGBENCH:=build/bench/zorgpad_pg_bench}"
ZP="$(realpath "$ZP")" BENCH="$(realpath "$BENCH")" PGBENCH="$(realpath "$PGBENCH")"
if [ -z "$LARGE_DB" ]; then
  if [ "$EPISODES" = 1000000 ]; then LARGE_DB="$WORK/1m.db"; else LARGE_DB="$WORK/e$EPISODES.db"; fi
fi
: "${OUT:=$WORK/results.md}"
RESULTS="$WORK/results.jsonl"   # one JSON object per figure; the report is made from it
LOGS="$WORK/logs"
export ZORGPAD_SHARE_DIR="${ZORGPAD_SHARE_DIR:-$ROOT/share}"
WRK_POST="$ROOT/bench/wrk/post_events.lua"
WRK_GET="$ROOT/bench/wrk/get.lua"
has() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
log() { echo "bench-api: $*" >&2; }

for tool in wrk python3 sqlite3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-api: $tool is needed" >&2; exit 2; }
done
for b in "$ZP" "$BENCH"; do [ -x "$b" ] || { echo "bench-api: no binary $b (--bin-dir)" >&2; exit 2; }; done

# ---- servers: started here, stopped on exit ------------------------------------------
SERVE_PIDS=()
WORK_COPY=""
CPU_PID=""
cleanup() {
  local p
  for p in "${SERVE_PIDS[@]:-}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  if [ -n "$WORK_COPY" ] && [ "$KEEP_WORK" = 0 ]; then rm -f "$WORK_COPY" "$WORK_COPY-wal" "$WORK_COPY-shm" "$WORK_COPY.raw"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_serve DB TODAY [PRACTICE] -> SERVE_PID, SERVE_PORT (a free port, printed by serve)
start_serve() {
  local db="$1" today="$2" practice="${3:-}" logf
  logf="$LOGS/serve-$(date +%s%N).log"
  if [ -n "$practice" ]; then
    "$ZP" --db "$db" --practice "$practice" --today "$today" serve --port 0 >"$logf" 2>&1 &
  else
    "$ZP" --db "$db" --today "$today" serve --port 0 >"$logf" 2>&1 &
  fi
  SERVE_PID=$!
  SERVE_PIDS+=("$SERVE_PID")
  SERVE_PORT=""
  for _ in $(seq 1 600); do
    SERVE_PORT="$(sed -n 's|^zorgpad: serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$logf" | head -1)"
    if [ -n "$SERVE_PORT" ] && curl -fs "http://127.0.0.1:$SERVE_PORT/healthz" >/dev/null; then return 0; fi
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$logf" >&2; echo "bench-api: serve did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-api: serve did not answer within 60 s" >&2; exit 1
}
stop_serve() {
  local pid="$1" p keep=()
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${SERVE_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  SERVE_PIDS=("${keep[@]:-}")
}
vm_hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
vm_rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# ---- the machine: load before each figure ---------------------------------------------
load1() { cut -d' ' -f1 /proc/loadavg; }
# CPU busy (% of all cores) over 2 s while nothing of ours runs: work of others.
busy_pct() {
  local a b
  read -ra a < <(head -1 /proc/stat); sleep 2; read -ra b < <(head -1 /proc/stat)
  python3 -c '
import sys
a=[int(x) for x in sys.argv[1].split()]; b=[int(x) for x in sys.argv[2].split()]
d=[y-x for x,y in zip(a,b)]; tot=sum(d[:8]); idle=d[3]+d[4]
print(f"{100.0*(tot-idle)/tot:.0f}" if tot else "0")' "${a[*]:1}" "${b[*]:1}"
}
MACHINE=""
machine() { MACHINE="$(load1) $(busy_pct)"; }   # "load1 busy%" of now, recorded with the next figure
wait_for_quiet() {
  local waited=0
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN {exit !(l > m)}'; do
    if [ "$waited" -ge "$LOAD_WAIT" ]; then log "load still $(load1) after ${waited}s; going on (recorded with each figure)"; return 0; fi
    log "1-minute load $(load1) > $MAX_LOAD; waiting ($waited s of $LOAD_WAIT)"
    sleep 30; waited=$((waited + 30))
  done
  log "load $(load1)"
}

# ---- results ---------------------------------------------------------------------------
# add_result SECTION DB WHAT CONC JSON [NOTE]: JSON with rps/p50_ms/p99_ms/mean_ms/non2xx...
add_result() {
  python3 - "$RESULTS" "$MACHINE" "$@" <<'PY'
import json, sys
path, machine, section, db, what, conc, js = sys.argv[1:8]
note = sys.argv[8] if len(sys.argv) > 8 else ""
d = json.loads(js)
load, busy = (machine.split() + ["", ""])[:2]
d.update(section=section, db=db, what=what, conc=conc, note=note,
         load=float(load) if load else None, busy=float(busy) if busy else None)
d.setdefault("non2xx", 0); d.setdefault("dup", 0)
d["valid"] = d.get("non2xx", 0) == 0 and d.get("dup", 0) == 0 and d.get("socket_errors", 0) == 0 and d.get("timeouts", 0) == 0
with open(path, "a") as f: f.write(json.dumps(d) + "\n")
print(f"  {section} {db} {what} c={conc}: {d.get('rps', 0):.1f}/s p50 {d.get('p50_ms', 0):.3f} ms p99 {d.get('p99_ms', 0):.3f} ms"
      f" load {load}{'' if d['valid'] else '  INVALID: ' + json.dumps({k: d.get(k) for k in ('non2xx','dup','socket_errors','timeouts','first_error')})}",
      file=sys.stderr)
PY
}

# wrk_run LABEL THREADS CONNS SECONDS URL SCRIPT ARGS… -> WRK_JSON (the script's WRKJSON line)
wrk_run() {
  local label="$1" t="$2" c="$3" d="$4" url="$5" script="$6"; shift 6
  label="${label//[^A-Za-z0-9_.-]/_}"
  local out="$LOGS/wrk-$label.txt" cpu0="" cpu1=""
  # CPU_PID (a serve process): its CPU time over the run, per request; and wrk's own
  [ -n "${CPU_PID:-}" ] && cpu0="$(proc_cpu "$CPU_PID")"
  /usr/bin/time -f "%U %S" -o "$out.cpu" wrk -t"$t" -c"$c" -d"${d}s" --timeout 120s -s "$script" "$url" -- "$@" >"$out" 2>&1 || true
  [ -n "${CPU_PID:-}" ] && cpu1="$(proc_cpu "$CPU_PID")"
  WRK_JSON="$(sed -n 's/^WRKJSON //p' "$out" | tail -1)"
  [ -n "$WRK_JSON" ] || { cat "$out" >&2; WRK_JSON='{"rps":0,"non2xx":-1}'; }
  local err; err="$(sed -n 's/^WRKERROR //p' "$out" | head -1)"
  WRK_JSON="$(python3 - "$WRK_JSON" "$err" "$cpu0" "$cpu1" "$(tail -1 "$out.cpu")" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); err, c0, c1, wrk_cpu, tck = sys.argv[2:7]
if err: d["first_error"] = err
n = d.get("requests") or 0
if n and c0 and c1: d["serve_cpu_ms"] = (int(c1) - int(c0)) * 1000.0 / int(tck) / n
try:
    u, s = (float(x) for x in wrk_cpu.split()[:2])
    if n: d["wrk_cpu_ms"] = (u + s) * 1000.0 / n
except ValueError:
    pass
print(json.dumps(d))
PY
)"
}
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of all threads, clock ticks

# The `zorgpad record`/`zorgpad open` CLI loop: one process per event, timed from
# fork to exit. cli_loop DB TODAY MODE N EPISODES_FILE TAG [PRACTICE] -> CLI_JSON
cli_loop() {
  CLI_JSON="$(python3 - "$ZP" "$@" <<'PY'
import json, subprocess, sys, time
zp, db, today, mode, n, epfile, tag = sys.argv[1:8]
practice = sys.argv[8] if len(sys.argv) > 8 else ""
base = [zp, "--db", db, "--today", today] + (["--practice", practice] if practice else [])
eps = [l.strip() for l in open(epfile) if l.strip()] if mode == "session" else []
ms, bad, first = [], 0, ""
t0 = time.perf_counter()
for i in range(int(n)):
    key = f"{tag}-{i}"
    if mode == "session":
        cmd = base + ["record", eps[(i * 7919) % len(eps)], "-"]
        ev = {"type": "session", "at": today, "id": key}
    else:
        cmd = base + ["open", "--id", key, "-"]
        ev = {"type": "open", "at": today, "onset": today, "age": 40, "complaint": "lbp", "therapist": "bench"}
    t = time.perf_counter()
    r = subprocess.run(cmd, input=json.dumps(ev), capture_output=True, text=True)
    ms.append((time.perf_counter() - t) * 1000)
    if r.returncode != 0:
        bad += 1
        first = first or r.stderr.strip()[:300]
secs = time.perf_counter() - t0
ms.sort()
pct = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
out = {"requests": len(ms), "seconds": secs, "rps": len(ms) / secs, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
       "mean_ms": sum(ms) / len(ms), "non2xx": bad}
if first: out["first_error"] = first
print(json.dumps(out))
PY
)"
}

# Episodes a session is valid in (treatment, reevaluation_due, gp_consultation),
# in a random order. session_episodes SQLITE_DB OUT [BENCH_EPISODES]
#   BENCH_EPISODES: a zorgpad_bench database; its episodes in treatment are
#   ep-(7a+4); every 29th of them is looked up (no scan of a large table).
session_episodes() {
  python3 - "$@" <<'PY'
import random, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
ok = ("treatment", "reevaluation_due", "gp_consultation")
if n:
    actives = n // 7 + (1 if n % 7 > 3 else 0)
    step = 29 if actives > 29 * 200 else 1
    cand = [f"ep-{7 * a + 4}" for a in range(0, actives, step)]
    ids = [i for i in cand if (c.execute("SELECT state FROM episodes WHERE id = ?", (i,)).fetchone() or [None])[0] in ok]
else:
    ids = [r[0] for r in c.execute("SELECT id FROM episodes WHERE state IN (?, ?, ?) ORDER BY id", ok)]
random.Random(42).shuffle(ids)
open(out, "w").write("\n".join(ids) + "\n")
print(len(ids))
PY
}

# Schema 7 (unreleased) changed in place: the audit log kept its episodes in an
# (episode, audit) table, later inline in the row. A template migrated by a
# newer build is set back to the audit tables of the binary under test (only
# the audit* tables of the working copy; the template is not touched).
align_audit_schema() {
  local ref="$WORK/schema-ref.db"
  rm -f "$ref" "$ref-wal" "$ref-shm"
  "$ZP" --db "$ref" init >/dev/null
  python3 - "$ref" "$1" <<'PY' >&2
import sqlite3, sys
ref, db = sys.argv[1:3]
r = sqlite3.connect(ref)
c = sqlite3.connect(db, isolation_level=None)
q = "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name LIKE 'audit%' AND sql IS NOT NULL"
want = {(t, n): (tb, sql) for t, n, tb, sql in r.execute(q)}
have = {(t, n): (tb, sql) for t, n, tb, sql in c.execute(q)}
done = []
c.execute("BEGIN IMMEDIATE")
for (t, n) in have:
    if t == "index" and (t, n) not in want:
        c.execute(f'DROP INDEX "{n}"'); done.append("dropped index " + n)
for (t, n) in have:
    if t == "table" and (t, n) not in want:
        c.execute(f'DROP TABLE "{n}"'); done.append("dropped table " + n)
for (t, n) in want:
    if t == "table" and (t, n) in have:
        cols = lambda conn: [row[1] for row in conn.execute(f'PRAGMA table_info("{n}")')]
        for col in [x for x in cols(c) if x not in cols(r)]:
            c.execute(f'ALTER TABLE "{n}" DROP COLUMN "{col}"'); done.append(f"dropped column {n}.{col}")
for kind in ("table", "index", "trigger"):
    for (t, n), (tb, sql) in want.items():
        if t == kind and (t, n) not in have:
            c.execute(sql); done.append(f"created {t} {n}")
c.execute("COMMIT")
print("bench-api: audit tables of the working copy: " + ("; ".join(done) if done else "as the binary's"))
PY
  rm -f "$ref" "$ref-wal" "$ref-shm"
}

# The episodes named by the latest audit row of ACTION, one a line, in either
# layout of the audit log: rows of audit_episodes, or inline (audit.episodes).
audit_ids() {
  python3 - "$1" "$2" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
a = c.execute("SELECT max(id) FROM audit WHERE action = ?", (sys.argv[2],)).fetchone()[0]
if a is not None:
    if c.execute("SELECT 1 FROM sqlite_schema WHERE name = 'audit_episodes'").fetchone():
        ids = [r[0] for r in c.execute("SELECT episode FROM audit_episodes WHERE audit = ? ORDER BY episode", (a,))]
    else:
        ids = json.loads(c.execute("SELECT episodes FROM audit WHERE id = ?", (a,)).fetchone()[0])
    for i in ids: print(i)
PY
}

# The bench's record phase (in-process): its JSON "record" (and "raw_record").
# bench_record DB EPISODES -> BENCH_JSON (the whole report line)
bench_record() {
  local db="$1" n="$2"
  "$BENCH" --episodes "$n" --db "$db" --keep --phases record --records "$RECORDS" --json >"$LOGS/bench-record-$(basename "$db").txt" 2>&1 \
    || { cat "$LOGS/bench-record-$(basename "$db").txt" >&2; exit 1; }
  BENCH_JSON="$(grep '^{' "$LOGS/bench-record-$(basename "$db").txt" | tail -1)"
}
bench_part() {  # bench_part KEY -> the part as our result JSON
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])[sys.argv[2]]
print(json.dumps({"requests": r["commits"], "seconds": r["seconds"], "rps": r.get("events_per_s", r.get("per_s")),
                  "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "mean_ms": 1000 * r["seconds"] / r["commits"], "non2xx": 0}))' "$BENCH_JSON" "$1"
}

new_token() {  # new_token DB [PRACTICE] -> a therapist's token
  local db="$1" practice="${2:-bench}"
  "$ZP" --db "$db" user add --name "bench-$RUN" --role therapist --practice "$practice" | tail -1
}

# The write figures of one database: the API (session, open; one connection and
# CONNS) and the CLI loop. write_figures DB-LABEL DB TODAY EPFILE [PRACTICE]
write_figures() {
  local label="$1" db="$2" today="$3" epfile="$4" practice="${5:-}" token
  token="$(new_token "$db" "${practice:-bench}")"
  machine; cli_loop "$db" "$today" session "$CLI_RECORDS" "$epfile" "$RUN-$label-cli" "$practice"
  add_result write "$label" "CLI zorgpad record (session)" 1 "$CLI_JSON"
  machine; cli_loop "$db" "$today" open "$CLI_RECORDS" "$epfile" "$RUN-$label-cliopen" "$practice"
  add_result write "$label" "CLI zorgpad open" 1 "$CLI_JSON"
  start_serve "$db" "$today" "$practice"
  local pid="$SERVE_PID" url="http://127.0.0.1:$SERVE_PORT"
  CPU_PID="$pid"
  # a short warm-up (connections, prepared statements, the pages of the listed episodes)
  wrk_run "$label-warm" 1 1 2 "$url" "$WRK_POST" session "$token" "$RUN-$label-warm" "$today" "$epfile"
  machine; wrk_run "$label-session-c1" 1 1 "$DURATION" "$url" "$WRK_POST" session "$token" "$RUN-$label-s1" "$today" "$epfile"
  add_result write "$label" "API session" 1 "$WRK_JSON"
  machine; wrk_run "$label-session-c$CONNS" 2 "$CONNS" "$DURATION" "$url" "$WRK_POST" session "$token" "$RUN-$label-s$CONNS" "$today" "$epfile"
  add_result write "$label" "API session" "$CONNS" "$WRK_JSON"
  machine; wrk_run "$label-open-c1" 1 1 "$DURATION" "$url" "$WRK_POST" open "$token" "$RUN-$label-o1" "$today"
  add_result write "$label" "API open" 1 "$WRK_JSON"
  machine; wrk_run "$label-open-c$CONNS" 2 "$CONNS" "$DURATION" "$url" "$WRK_POST" open "$token" "$RUN-$label-o$CONNS" "$today"
  add_result write "$label" "API open" "$CONNS" "$WRK_JSON"
  echo "$(vm_hwm_mb "$pid")" >"$LOGS/hwm-$label-writes"
  CPU_PID=""
  stop_serve "$pid"
}

# ---- PostgreSQL: run inside scripts/with-postgres.sh -----------------------------------
if [ "$PG_INNER" = 1 ]; then
  RUN="$BENCH_API_RUN"
  P=bench-import   # the practice zorgpad_pg_bench imports and records into
  TODAY=2025-03-03 # the generator's today (bench/generator.hpp)
  URL="$ZORGPAD_PG_URL"
  machine
  "$PGBENCH" --url "$URL" --owner-url "$ZORGPAD_PG_OWNER_URL" --episodes "$PG_EPISODES" --records "$RECORDS" \
    --phases record --json >"$LOGS/pg-bench.txt" 2>&1 || { cat "$LOGS/pg-bench.txt" >&2; exit 1; }
  BENCH_JSON="$(grep '^{' "$LOGS/pg-bench.txt" | tail -1)"
  add_result write pg "in-process Store::record (zorgpad_pg_bench)" 1 "$(bench_part record)"
  add_result write pg "raw PostgreSQL one-row INSERT + COMMIT" 1 "$(bench_part raw_record)"
  psql -qAt "$ZORGPAD_PG_OWNER_URL" -c "SET zorgpad.practice = '$P'" \
    -c "SELECT id FROM zorgpad.episodes WHERE practice = '$P' AND state IN ('treatment','reevaluation_due','gp_consultation') ORDER BY md5(id)" \
    >"$WORK/pg-episodes.txt"
  log "pg: $(wc -l <"$WORK/pg-episodes.txt") episodes for sessions"
  TOKEN="$("$ZP" --db "$URL" --practice "$P" user add --name "bench-$RUN" --role therapist --practice "$P" | tail -1)"
  machine; cli_loop "$URL" "$TODAY" session "$CLI_RECORDS" "$WORK/pg-episodes.txt" "$RUN-pg-cli" "$P"
  add_result write pg "CLI zorgpad record (session)" 1 "$CLI_JSON"
  # one process, one connection: the cost of a write through the API
  start_serve "$URL" "$TODAY" "$P"
  pid="$SERVE_PID"; CPU_PID="$pid"
  wrk_run pg-warm 1 1 2 "http://127.0.0.1:$SERVE_PORT" "$WRK_POST" session "$TOKEN" "$RUN-pg-warm" "$TODAY" "$WORK/pg-episodes.txt"
  machine; wrk_run pg-session-c1 1 1 "$DURATION" "http://127.0.0.1:$SERVE_PORT" "$WRK_POST" session "$TOKEN" "$RUN-pg-s1" "$TODAY" "$WORK/pg-episodes.txt"
  add_result write pg "API session" 1 "$WRK_JSON"
  machine; wrk_run pg-open-c1 1 1 "$DURATION" "http://127.0.0.1:$SERVE_PORT" "$WRK_POST" open "$TOKEN" "$RUN-pg-o1" "$TODAY"
  add_result write pg "API open" 1 "$WRK_JSON"
  CPU_PID=""
  stop_serve "$pid"
  # 1, 2, 4 serve processes at once, one wrk (-t1 -cCONNS) each on its own share of the episodes
  for n in $PG_PROCS; do
    pids=() ports=()
    for i in $(seq 1 "$n"); do start_serve "$URL" "$TODAY" "$P"; pids+=("$SERVE_PID"); ports+=("$SERVE_PORT"); done
    for i in $(seq 1 "$n"); do
      wrk_run "pg-x$n-warm-$i" 1 1 1 "http://127.0.0.1:${ports[$((i - 1))]}" "$WRK_POST" session "$TOKEN" "$RUN-pg-x$n-w$i" "$TODAY" "$WORK/pg-episodes.txt" "$i" "$n"
    done
    machine
    wpids=()
    for i in $(seq 1 "$n"); do
      wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 120s -s "$WRK_POST" "http://127.0.0.1:${ports[$((i - 1))]}" -- \
        session "$TOKEN" "$RUN-pg-x$n-$i" "$TODAY" "$WORK/pg-episodes.txt" "$i" "$n" >"$LOGS/wrk-pg-x$n-$i.txt" 2>&1 &
      wpids+=($!)
    done
    for w in "${wpids[@]}"; do wait "$w" || true; done
    sum="$(python3 - "$LOGS" "$n" <<'PY'
import json, sys
logs, n = sys.argv[1], int(sys.argv[2])
parts = []
for i in range(1, n + 1):
    line = [l for l in open(f"{logs}/wrk-pg-x{n}-{i}.txt") if l.startswith("WRKJSON ")]
    parts.append(json.loads(line[-1][8:]) if line else {"rps": 0, "non2xx": -1})
out = {"rps": sum(p["rps"] for p in parts), "p50_ms": max(p.get("p50_ms", 0) for p in parts),
       "p99_ms": max(p.get("p99_ms", 0) for p in parts), "mean_ms": max(p.get("mean_ms", 0) for p in parts),
       "requests": sum(p.get("requests", 0) for p in parts), "created": sum(p.get("created", 0) for p in parts),
       "non2xx": sum(p.get("non2xx", 0) for p in parts), "dup": sum(p.get("dup", 0) for p in parts),
       "socket_errors": sum(p.get("socket_errors", 0) for p in parts), "timeouts": sum(p.get("timeouts", 0) for p in parts),
       "per_process_rps": [p["rps"] for p in parts]}
print(json.dumps(out))
PY
)"
    add_result pg-scale pg "API session, $n serve process(es)" "$n x $CONNS" "$sum" "sum of events/s; worst p50/p99 of the processes"
    for p in "${pids[@]}"; do stop_serve "$p"; done
  done
  exit 0
fi

# ---- the run ------------------------------------------------------------------------------
mkdir -p "$WORK" "$LOGS"
rm -f "$LOGS"/serve-*.log "$LOGS"/wrk-*.txt "$LOGS"/wrk-*.txt.cpu
RUN="r$(date +%s)"
export BENCH_API_RUN="$RUN"
: >"$RESULTS"
log "run $RUN: zorgpad $ZP, work $WORK"

# The large template first (not measured; about 7 minutes at 1M episodes).
if has large || has reads; then
  if [ "$EPISODES" -gt 0 ] && [ ! -s "$LARGE_DB" ]; then
    log "building the large database $LARGE_DB ($EPISODES episodes; kept for later runs)"
    "$BENCH" --episodes "$EPISODES" --db "$LARGE_DB" --keep --phases gen,import --json >"$LOGS/build-large.txt" 2>&1 \
      || { cat "$LOGS/build-large.txt" >&2; exit 1; }
  fi
fi

wait_for_quiet
START_LOAD="$(cat /proc/loadavg)"
START_TIME="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# -- the demo practice
if has demo; then
  log "demo practice ($DEMO_EPISODES episodes)"
  DEMO="$WORK/demo.db"
  rm -f "$DEMO" "$DEMO-wal" "$DEMO-shm"
  "$ZP" --db "$DEMO" --today 2026-11-20 demo --episodes "$DEMO_EPISODES" >"$LOGS/demo.txt"
  log "demo: $(session_episodes "$DEMO" "$WORK/demo-episodes.txt") episodes for sessions"
  write_figures demo "$DEMO" 2026-11-20 "$WORK/demo-episodes.txt"
  # reads at practice size (context for the large database)
  TOKEN="$(new_token "$DEMO")"
  start_serve "$DEMO" 2026-11-20
  CPU_PID="$SERVE_PID"
  for route in "api/me" "api/episodes?limit=50" "api/overview"; do
    for c in 1 8; do
      machine; wrk_run "demo-read-$c-${route%%\?*}" $((c > 1 ? 2 : 1)) "$c" "$DURATION" "http://127.0.0.1:$SERVE_PORT/$route" "$WRK_GET" "$TOKEN"
      add_result read demo "GET /$route" "$c" "$WRK_JSON"
    done
  done
  CPU_PID=""
  stop_serve "$SERVE_PID"
fi

# -- a small bench database: the in-process record and the API on the same file
if has small; then
  log "small bench database ($SMALL_EPISODES episodes)"
  SMALL="$WORK/small.db"
  rm -f "$SMALL" "$SMALL-wal" "$SMALL-shm" "$SMALL.raw" "$SMALL.raw-wal" "$SMALL.raw-shm"
  "$BENCH" --episodes "$SMALL_EPISODES" --db "$SMALL" --keep --phases gen,import >"$LOGS/build-small.txt" 2>&1
  machine; bench_record "$SMALL" "$SMALL_EPISODES"
  add_result write small "in-process Store::record (zorgpad_bench)" 1 "$(bench_part record)"
  add_result write small "raw SQLite one-row INSERT, FULL commit" 1 "$(bench_part raw_record)"
  log "small: $(session_episodes "$SMALL" "$WORK/small-episodes.txt" "$SMALL_EPISODES") episodes for sessions"
  write_figures small "$SMALL" 2025-03-03 "$WORK/small-episodes.txt"
fi

# -- the large database: a working copy of the template
if { has large || has reads; } && [ "$EPISODES" -gt 0 ]; then
  WORK_COPY="$WORK/work-$(basename "$LARGE_DB")"
  log "copying $LARGE_DB to $WORK_COPY"
  rm -f "$WORK_COPY" "$WORK_COPY-wal" "$WORK_COPY-shm" "$WORK_COPY.raw"
  # a consistent snapshot even if someone else has the template open
  sqlite3 "$LARGE_DB" ".timeout 60000" ".backup '$WORK_COPY'"
  cp "$LARGE_DB.raw" "$WORK_COPY.raw"
  align_audit_schema "$WORK_COPY"
  sync
  # the template out of the page cache, the copy into it (the in-process record does not warm it)
  python3 - "$LARGE_DB" "$LARGE_DB.raw" <<'PY'
import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
PY
  cat "$WORK_COPY" "$WORK_COPY.raw" >/dev/null
fi
if has large && [ "$EPISODES" -gt 0 ]; then
  log "large database: in-process record"
  machine; bench_record "$WORK_COPY" "$EPISODES"
  add_result write large "in-process Store::record (zorgpad_bench)" 1 "$(bench_part record)"
  add_result write large "raw SQLite one-row INSERT, FULL commit" 1 "$(bench_part raw_record)"
  log "large: $(session_episodes "$WORK_COPY" "$WORK/large-episodes.txt" "$EPISODES") episodes for sessions"
  write_figures large "$WORK_COPY" 2025-03-03 "$WORK/large-episodes.txt"
fi

# -- reads at the large database
if has reads && [ "$EPISODES" -gt 0 ]; then
  log "large database: reads"
  TOKEN="$(new_token "$WORK_COPY")"
  start_serve "$WORK_COPY" 2025-03-03
  pid="$SERVE_PID"; url="http://127.0.0.1:$SERVE_PORT"; CPU_PID="$pid"
  hwm0="$(vm_hwm_mb "$pid")"
  wrk_run large-read-warm 1 1 2 "$url/api/episodes?limit=50" "$WRK_GET" "$TOKEN"
  for c in 1 8; do
    machine; wrk_run "large-episodes-c$c" $((c > 1 ? 2 : 1)) "$c" "$DURATION" "$url/api/episodes?limit=50" "$WRK_GET" "$TOKEN"
    add_result read large "GET /api/episodes?limit=50" "$c" "$WRK_JSON"
  done
  for c in 1 8; do  # the HTTP floor: a token checked, a small answer, no audit row
    machine; wrk_run "large-me-c$c" $((c > 1 ? 2 : 1)) "$c" "$DURATION" "$url/api/me" "$WRK_GET" "$TOKEN"
    add_result read large "GET /api/me" "$c" "$WRK_JSON"
  done
  hwm1="$(vm_hwm_mb "$pid")"
  for c in 1 4; do
    machine; wrk_run "large-overview-c$c" $((c > 1 ? 2 : 1)) "$c" $((OV_DURATION * (c > 1 ? 2 : 1))) "$url/api/overview" "$WRK_GET" "$TOKEN"
    add_result read large "GET /api/overview" "$c" "$WRK_JSON"
    if [ "$c" = 1 ]; then hwm_ov1="$(vm_hwm_mb "$pid")"; else hwm_ov4="$(vm_hwm_mb "$pid")"; fi
  done
  rss_after="$(vm_rss_mb "$pid")"
  CPU_PID=""
  stop_serve "$pid"
  # the overview alone, as a command (JSON, as the API answers)
  /usr/bin/time -v "$ZP" --db "$WORK_COPY" --today 2025-03-03 overview --json >/dev/null 2>"$LOGS/time-overview.txt"
  cli_rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$LOGS/time-overview.txt")"
  cli_wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$LOGS/time-overview.txt")"
  ov_k="$(audit_ids "$WORK_COPY" overview.read | wc -l)"
  python3 - "$RESULTS" <<PY
import json
row = {"section": "memory", "db": "large", "serve_hwm_start_mb": float("$hwm0"), "serve_hwm_after_episodes_mb": float("$hwm1"),
       "serve_hwm_after_overview_c1_mb": float("$hwm_ov1"), "serve_hwm_after_overview_c4_mb": float("$hwm_ov4"),
       "serve_rss_end_mb": float("$rss_after"), "cli_overview_max_rss_mb": float("$cli_rss"), "cli_overview_wall": "$cli_wall",
       "overview_audit_episodes": int("$ov_k")}
open("$RESULTS", "a").write(json.dumps(row) + "\n")
PY
fi

# -- the floor of an audited read: one audit row (and its episode rows) per
#    transaction, WAL + synchronous=NORMAL, as SqliteRepository::append_audit
#    does outside a write; the episodes named are those of the API's answers
#    (the same page each time), or spread over a million ids
if has audit; then
  log "audit floor"
  SCHEMA_SRC="${WORK_COPY:-$WORK/demo.db}"
  [ -s "$SCHEMA_SRC" ] || SCHEMA_SRC="$WORK/small.db"
  for a in list overview; do
    action=episodes.list; [ "$a" = overview ] && action=overview.read
    audit_ids "$SCHEMA_SRC" "$action" >"$WORK/ids-$a.txt"
  done
  # a copy of the audit tables with their rows (the size the API's inserts meet)
  rm -f "$WORK/audit-floor.tmpl"
  AUDIT_ROWS="$(python3 - "$SCHEMA_SRC" "$WORK/audit-floor.tmpl" <<'PY'
import sqlite3, sys
src, dst = sys.argv[1:3]
d = sqlite3.connect(dst, isolation_level=None)
d.execute("PRAGMA journal_mode=WAL")
d.execute(f"ATTACH '{src}' AS src")
objs = d.execute("SELECT type, name, sql FROM src.sqlite_schema WHERE tbl_name LIKE 'audit%' AND sql IS NOT NULL "
                 "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END").fetchall()
d.execute("BEGIN")
for t, n, sql in objs:
    if t != "trigger": d.execute(sql)
out = []
for t, n, sql in objs:
    if t == "table":
        cols = ", ".join(f'"{r[1]}"' for r in d.execute(f'PRAGMA main.table_info("{n}")'))
        d.execute(f'INSERT INTO main."{n}"({cols}) SELECT {cols} FROM src."{n}"')
        out.append(f"{d.execute(f'SELECT count(*) FROM main.{n}').fetchone()[0]:,} rows of {n}")
for t, n, sql in objs:
    if t == "trigger": d.execute(sql)
d.execute("COMMIT")
print(", ".join(out))
PY
)"
  log "audit floor: a copy of the audit tables of $SCHEMA_SRC: $AUDIT_ROWS"
  specs=("0 1 none")
  [ -s "$WORK/ids-list.txt" ] && specs+=("$(wc -l <"$WORK/ids-list.txt") 1 list")
  specs+=("50 1 spread")
  [ -s "$WORK/ids-overview.txt" ] && specs+=("$(wc -l <"$WORK/ids-overview.txt") 1 overview")
  [ -s "$WORK/ids-list.txt" ] && specs+=("$(wc -l <"$WORK/ids-list.txt") 8 list") || specs+=("50 8 spread")
  for spec in "${specs[@]}"; do
    set -- $spec
    machine
    rm -f "$WORK/audit-floor.db" "$WORK/audit-floor.db-wal" "$WORK/audit-floor.db-shm"
    cp "$WORK/audit-floor.tmpl" "$WORK/audit-floor.db"
    json="$(python3 - "$WORK/audit-floor.db" "$1" "$2" 3000 "$3" "$WORK/ids-$3.txt" <<'PY'
import json, multiprocessing as mp, os, sqlite3, sys, time
path, k, procs, n, source, idfile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
fixed = [l.strip() for l in open(idfile) if l.strip()][:k] if source in ("list", "overview") else None
def connect():
    c = sqlite3.connect(path, isolation_level=None, timeout=60)  # busy timeout 60 s, as the store
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=NORMAL")
    c.execute("PRAGMA foreign_keys=ON"); c.execute("PRAGMA cache_size=-65536")
    return c
def worker(w, q):
    c = connect(); ms = []
    inline = not c.execute("SELECT 1 FROM sqlite_schema WHERE name = 'audit_episodes'").fetchone()
    ins = "INSERT INTO audit(at, practice, user, role, action, address, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ins_inline = "INSERT INTO audit(at, practice, user, role, action, address, outcome, episodes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ep = "INSERT OR IGNORE INTO audit_episodes(episode, audit) VALUES (?, ?)"
    for i in range(n):
        ids = fixed if fixed is not None else [f"ep-{(w * 7919 + i * 50 + j) * 37 % 1000000 + 1}" for j in range(k)]
        row = (int(time.time()), "", "bench", "therapist", "episodes.list", "127.0.0.1", "ok")
        t = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        if inline:
            c.execute(ins_inline, row + (json.dumps(ids),))
        else:
            a = c.execute(ins, row).lastrowid
            if k: c.executemany(ep, [(e, a) for e in ids])
        c.execute("COMMIT")
        ms.append((time.perf_counter() - t) * 1000)
    q.put(ms)
q = mp.Queue(); ps = [mp.Process(target=worker, args=(w, q)) for w in range(procs)]
t0 = time.perf_counter()
for p in ps: p.start()
ms = [x for _ in ps for x in q.get()]
for p in ps: p.join()
secs = time.perf_counter() - t0
ms.sort(); pct = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
print(json.dumps({"requests": len(ms), "seconds": secs, "rps": len(ms) / secs, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "mean_ms": sum(ms) / len(ms), "audit_episodes_per_row": k, "writers": procs, "ids": source,
                  "layout": "inline" if not sqlite3.connect(path).execute("SELECT 1 FROM sqlite_schema WHERE name = 'audit_episodes'").fetchone() else "rows"}))
PY
)"
    add_result audit floor "audit row naming $1 episodes ($3) per transaction" "$2" "$json"
  done
  rm -f "$WORK/audit-floor.db" "$WORK/audit-floor.db-wal" "$WORK/audit-floor.db-shm" "$WORK/audit-floor.tmpl"*
  python3 - "$RESULTS" "$AUDIT_ROWS" "$SCHEMA_SRC" <<'PY'
import json, sys
open(sys.argv[1], "a").write(json.dumps({"section": "audit-table", "rows": sys.argv[2], "source": sys.argv[3]}) + "\n")
PY
fi

# -- PostgreSQL
if has pg && [ "$PG" = 1 ]; then
  log "PostgreSQL (throw-away cluster)"
  export WORK LOGS RESULTS BENCH_API_RUN
  scripts/with-postgres.sh "$ZP" "$SELF" --pg-inner --zorgpad "$ZP" --bench "$BENCH" --pg-bench "$PGBENCH" --work "$WORK" \
    --records "$RECORDS" --cli-records "$CLI_RECORDS" --duration "$DURATION" --connections "$CONNS" \
    --pg-episodes "$PG_EPISODES" --pg-procs "$PG_PROCS" >"$LOGS/pg.txt" 2>&1 || { cat "$LOGS/pg.txt" >&2; exit 1; }
  grep -v '^\s*$' "$LOGS/pg.txt" | grep '^  ' >&2 || true
fi

END_LOAD="$(cat /proc/loadavg)"

# ---- the report ------------------------------------------------------------------------
python3 - "$RESULTS" "$START_TIME" "$START_LOAD" "$END_LOAD" "$EPISODES" "$SMALL_EPISODES" "$DEMO_EPISODES" "$CONNS" "$DURATION" \
  "$RECORDS" "$CLI_RECORDS" "$PG_EPISODES" "$(sqlite3 --version | cut -d' ' -f1)" <<'PY' | tee "$OUT"
import json, sys
(path, start, load0, load1_, n_large, n_small, n_demo, conns, dur, records, cli_n, pg_n, sqlite_v) = sys.argv[1:14]
rows = [json.loads(l) for l in open(path) if l.strip()]
def f(x, nd=1):
    if x is None: return "-"
    return f"{x:,.{nd}f}"
def find(section, db, what, conc):
    for r in rows:
        if r.get("section") == section and r.get("db") == db and r.get("what") == what and str(r.get("conc")) == str(conc):
            return r
    return None
dbname = {"demo": f"demo practice ({int(n_demo):,} episodes)", "small": f"bench database, {int(n_small):,} episodes",
          "large": f"bench database, {int(n_large):,} episodes", "pg": f"PostgreSQL, bench practice of {int(pg_n):,} episodes",
          "floor": "audit floor (own SQLite file)"}
def load(r): return f"{r['load']:.2f} / {r['busy']:.0f} %" if r.get("load") is not None else "-"
def valid(r): return "" if r.get("valid", True) else " **INVALID** (" + ", ".join(f"{k} {r.get(k)}" for k in ("non2xx", "dup", "socket_errors", "timeouts") if r.get(k)) + ")"
print(f"# API benchmark, run of {start}\n")
print(f"Load average at the start: {load0}; at the end: {load1_}. SQLite {sqlite_v}. "
      f"wrk runs of {dur} s; concurrent writes with -t2 -c{conns}; {records} in-process records; {cli_n} CLI processes per loop. "
      "Column *load*: the 1-minute load average before the figure / CPU busy (% of both cores) in the 2 s before it, "
      "while nothing of the benchmark ran.\n")
print("## Writes (each a new durable write: one event per synchronous=FULL commit on SQLite)\n")
print("| database | writer | conc. | writes | events/s | p50 ms | p99 ms | mean ms | serve CPU ms/write | wrk CPU ms/write | load |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("section") != "write": continue
    print(f"| {dbname.get(r['db'], r['db'])} | {r['what']}{valid(r)} | {r['conc']} | {f(r.get('requests'), 0)} | {f(r.get('rps'))} | {f(r.get('p50_ms'), 3)} | {f(r.get('p99_ms'), 3)} | {f(r.get('mean_ms'), 3)} | {f(r.get('serve_cpu_ms'), 3)} | {f(r.get('wrk_cpu_ms'), 3)} | {load(r)} |")
print("\n## The API against a durable record (one at a time), target: at most +30 %\n")
print("The cost of a write is its mean time with one writer (wrk -c1; the in-process loop; 1/rate). "
      "Overhead = API mean / in-process mean − 1.\n")
print("| database | in-process record: mean (p50 / p99) ms | API session, 1 connection: mean (p50 / p99) ms | API overhead | target ≤ +30 % | CLI `zorgpad record`: mean (p50 / p99) ms |")
print("|---|---|---|---|---|---|")
for db in ("small", "large", "pg", "demo"):
    ip = find("write", db, "in-process Store::record (zorgpad_bench)" if db != "pg" else "in-process Store::record (zorgpad_pg_bench)", 1)
    api = find("write", db, "API session", 1)
    cli = find("write", db, "CLI zorgpad record (session)", 1)
    if not api: continue
    fmt = lambda r: f"{f(r['mean_ms'], 3)} ({f(r['p50_ms'], 3)} / {f(r['p99_ms'], 3)})" if r else "-"
    if ip:
        ov = api["mean_ms"] / ip["mean_ms"] - 1
        verdict = "met" if ov <= 0.30 and api.get("valid") else "**not met**"
        ovs = f"{ov * 100:+.0f} % (p50 {api['p50_ms'] / ip['p50_ms'] * 100 - 100:+.0f} %, p99 {api['p99_ms'] / ip['p99_ms'] * 100 - 100:+.0f} %)"
    else:
        ovs, verdict = "- (no in-process figure on this file)", "-"
    print(f"| {dbname[db]} | {fmt(ip)} | {fmt(api)}{valid(api)} | {ovs} | {verdict} | {fmt(cli)} |")
pgs = [r for r in rows if r.get("section") == "pg-scale"]
if pgs:
    print("\n## PostgreSQL: serve processes side by side, one wrk each (-t1 -c" + conns + "), sessions on disjoint episodes\n")
    print("| serve processes | writes | events/s (sum) | per process | worst p50 ms | worst p99 ms | load |")
    print("|---|---|---|---|---|---|---|")
    for r in pgs:
        print(f"| {r['what'].split(', ')[1].split()[0]}{valid(r)} | {f(r.get('requests'), 0)} | {f(r['rps'])} | {', '.join(f(x) for x in r.get('per_process_rps', []))} | {f(r['p50_ms'], 3)} | {f(r['p99_ms'], 3)} | {load(r)} |")
reads = [r for r in rows if r.get("section") == "read"]
if reads:
    print("\n## Reads (each audited: the store appends an audit row before the answer leaves)\n")
    print("| database | route | conc. | requests | requests/s | p50 ms | p99 ms | body bytes | serve CPU ms/req | target | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in reads:
        tgt = ""
        if r["db"] == "large" and "/api/me" not in r["what"]:
            tgt = ("≥ 2,000/s: " + ("met" if r["rps"] >= 2000 and r.get("valid") else "**not met**"))
        print(f"| {dbname[r['db']]} | `{r['what']}`{valid(r)} | {r['conc']} | {f(r.get('requests'), 0)} | {f(r['rps'])} | {f(r['p50_ms'], 3)} | {f(r['p99_ms'], 3)} | {f(r.get('avg_body_bytes'), 0)} | {f(r.get('serve_cpu_ms'), 3)} | {tgt} | {load(r)} |")
mem = [r for r in rows if r.get("section") == "memory"]
if mem:
    m = mem[-1]
    ok = lambda x: "met" if x < 200 else "**not met**"
    print("\n## Memory of the overview at the large database, target < 200 MB\n")
    print("| what | peak RSS | target |")
    print("|---|---|---|")
    print(f"| serve, after start (VmHWM) | {f(m['serve_hwm_start_mb'])} MB | |")
    print(f"| serve, after the /api/episodes runs | {f(m['serve_hwm_after_episodes_mb'])} MB | |")
    print(f"| serve, after /api/overview, 1 connection | {f(m['serve_hwm_after_overview_c1_mb'])} MB | {ok(m['serve_hwm_after_overview_c1_mb'])} |")
    print(f"| serve, after /api/overview, 4 connections | {f(m['serve_hwm_after_overview_c4_mb'])} MB | {ok(m['serve_hwm_after_overview_c4_mb'])} |")
    print(f"| serve, resident at the end | {f(m['serve_rss_end_mb'])} MB | |")
    print(f"| `zorgpad overview --json` (max RSS, /usr/bin/time -v; wall {m['cli_overview_wall']}) | {f(m['cli_overview_max_rss_mb'])} MB | {ok(m['cli_overview_max_rss_mb'])} |")
    print(f"\nAn overview read names {m['overview_audit_episodes']} episodes in its audit row.")
fl = [r for r in rows if r.get("section") == "audit"]
if fl:
    print("\n## The floor of an audited read: the audit insert alone\n")
    at = [r for r in rows if r.get("section") == "audit-table"]
    src = f" ({at[-1]['rows']}, from {at[-1]['source']})" if at else ""
    print("python3's sqlite3 (SQLite of the system), a copy of the audit tables with their rows" + src + ", WAL, "
          "synchronous=NORMAL, foreign keys on, 64 MiB cache; each transaction BEGIN IMMEDIATE, one audit row naming K episodes "
          "(as K audit_episodes rows, or inline in the row, as the schema of the binary has it), COMMIT; 3,000 transactions per writer. Several writers: processes, busy timeout 60 s (as the store).\n")
    print("The loop's rate includes Python's own work between transactions; *1 / mean* is the rate the transaction time "
          "alone would allow (per writer).\n")
    print("| K episodes | their ids | layout | writers | transactions/s (loop) | 1 / mean transaction | p50 ms | p99 ms | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    idname = {"none": "-", "list": "the page of /api/episodes (the same each time)", "overview": "those of /api/overview (the same each time)",
              "spread": "spread over 1M ids, new each time"}
    for r in fl:
        print(f"| {r['audit_episodes_per_row']} | {idname.get(r.get('ids'), r.get('ids'))} | {r.get('layout', 'rows')} | {r['writers']} | {f(r['rps'])} | {f(1000 / r['mean_ms'])}/s | {f(r['p50_ms'], 3)} | {f(r['p99_ms'], 3)} | {load(r)} |")
PY
