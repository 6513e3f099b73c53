#!/usr/bin/env bash
# Builds zorgpad and runs every test (Catch2 unit tests, the scenario suite,
# process-level store/CLI/adapter tests, the browser test, the PostgreSQL
# tests, each on a throw-away cluster of its own), then builds it once
# more with AddressSanitizer and UndefinedBehaviorSanitizer and runs the whole
# suite again on that build. Warnings are errors in both. Run as root on a
# fresh Debian 12: installs what is missing first. What .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -x scripts/setup-browser.sh ]; then scripts/setup-browser.sh; fi
scripts/setup-postgres.sh
jobs="$(nproc)"

# CI builds twice in its 30 minutes: the plain build without debug
# information (-O2, asserts off as in RelWithDebInfo), which spares compile
# and link time; README's build keeps -g.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
  -DZORGPAD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "test.sh: the suite again under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)" >&2
# -O1 and line tables only: a third less compile time than -O2 -g, and the
# sanitizers' reports still name file and line.
# (The benchmark is built and run at a small size by the plain stage only.)
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DZORGPAD_WERROR=ON -DZORGPAD_SANITIZE=ON -DZORGPAD_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
