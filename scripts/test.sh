#!/usr/bin/env bash
# Builds zorgpad and runs every test (Catch2 unit tests, the scenario suite,
# process-level store/CLI/adapter tests, the browser test). Run as root on a
# fresh Debian 12: installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -x scripts/setup-browser.sh ]; then scripts/setup-browser.sh; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
