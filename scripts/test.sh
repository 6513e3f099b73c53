#!/usr/bin/env bash
# Builds zorgpad with AddressSanitizer and UndefinedBehaviorSanitizer and runs
# every test on that build (Catch2 unit tests, the scenario suite,
# process-level store/CLI/adapter tests, the browser test, the PostgreSQL
# tests, each on a throw-away cluster of its own, the benchmark at a small
# size), then each libFuzzer target for 20 s. Warnings are errors. Run as
# root on a fresh Debian 12: installs what is missing first. What .ci/run
# runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -x scripts/setup-browser.sh ]; then scripts/setup-browser.sh; fi
scripts/setup-postgres.sh
jobs="$(nproc)"

# One build, instrumented with AddressSanitizer and UndefinedBehaviorSanitizer
# (-O1, line tables only, warnings as errors), runs the whole suite once:
# every test also checks memory and undefined behaviour. (Until 2026-12-02 a
# plain -O2 build ran the suite first and this one again; the PostgreSQL
# tests made the two together longer than CI's 30 minutes, and the
# instrumented run finds everything the plain one does.) README's build
# (scripts/demo.sh) is the optimised one.
# A unity build (the sources of a library compiled a few at a time as one
# file) takes a third off the build; the Catch2 files are compiled one by one.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DZORGPAD_WERROR=ON -DZORGPAD_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

# Fuzzing, a short fixed time: the three libFuzzer targets side by side for
# 20 s each (clang, AddressSanitizer and UBSan; scripts/fuzz.sh 1800 is the
# long run, by hand). A finding fails CI; the input is kept in fuzz/crashes/
# and printed in base64 in the log.
scripts/fuzz.sh 20
