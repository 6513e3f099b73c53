#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on, every library instrumented for coverage) and
# runs them side by side for SECONDS each (default 60), seeded from the replay scenarios and the
# golden files. A finding stops the run with exit status 1 and leaves the
# input in fuzz/crashes/. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_event fuzz_body fuzz_commands)

CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DZORGPAD_SANITIZE=ON -DZORGPAD_FUZZ=ON -DZORGPAD_BUILD_TESTS=OFF -DZORGPAD_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

# Seeds: every event of the scenarios, each scenario episode as import
# lines, every golden body, and fuzz/regressions/TARGET: the inputs of
# earlier findings, run again every time.
/usr/bin/python3 - build-fuzz/corpus <<'PY'
import glob, json, os, sys
out = sys.argv[1]
for t in ("fuzz_event", "fuzz_body", "fuzz_commands"):
    os.makedirs(os.path.join(out, t), exist_ok=True)
n = 0
for f in sorted(glob.glob("tests/scenarios/*.json")):
    if f.endswith(".expected.json"):
        continue
    try:
        doc = json.load(open(f))
    except ValueError:
        continue
    for e in doc.get("episodes", []) if isinstance(doc, dict) else []:
        if not isinstance(e, dict) or not isinstance(e.get("events"), list):
            continue
        lines = []
        for i, ev in enumerate(e["events"]):
            n += 1
            open(os.path.join(out, "fuzz_event", f"e{n}.json"), "w").write(json.dumps(ev))
            line = {"episode": str(e.get("id", "ep")), "event": ev}
            if i == 0 and isinstance(e.get("patient"), str):
                line["patient"] = e["patient"]
            lines.append(json.dumps(line))
        open(os.path.join(out, "fuzz_commands", f"s{n}.ndjson"), "w").write("\n".join(lines) + "\n")
for k, line in enumerate(open("tests/data/golden/bodies.ndjson")):
    open(os.path.join(out, "fuzz_body", f"b{k}.json"), "w").write(json.loads(line)["body"])
PY

mkdir -p fuzz/crashes
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The targets run at the same time, each on one core for SECONDS.
pids=()
for t in "${targets[@]}"; do
  echo "fuzz.sh: $t for ${seconds}s" >&2
  mkdir -p "build-fuzz/work/$t"
  "build-fuzz/fuzz/$t" -max_total_time="$seconds" -max_len=16384 -timeout=30 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/crashes/$t-" -print_final_stats=1 "build-fuzz/work/$t" "build-fuzz/corpus/$t" "fuzz/regressions/$t" \
    2> "build-fuzz/$t.log" &
  pids+=($!)
done
status=0
for i in "${!targets[@]}"; do
  t="${targets[$i]}"
  if ! wait "${pids[$i]}"; then
    echo "fuzz.sh: $t found a failure; the input is in fuzz/crashes/ and the log in build-fuzz/$t.log" >&2
    tail -40 "build-fuzz/$t.log" >&2
    for f in fuzz/crashes/"$t"-*; do  # the input, for a CI log that is all there is
      [ -f "$f" ] && echo "fuzz.sh: $f (base64): $(base64 -w0 "$f")" >&2
    done
    status=1
  fi
  echo "fuzz.sh: $t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "build-fuzz/$t.log" | tail -1)" >&2
done
exit $status
