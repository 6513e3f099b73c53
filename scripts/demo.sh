#!/usr/bin/env bash
# Builds zorgpad and runs its main job: a simulated practice on an embedded
# SQLite database. Run as root on a fresh Debian 12.
# The database is $ZORGPAD_DB, else ./zorgpad.db; the demo never writes into a
# database that already holds episodes, so when ./zorgpad.db is taken the
# script uses the first free ./zorgpad-demo-N.db instead and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target zorgpad
db="${ZORGPAD_DB:-}"
if [ -z "$db" ]; then
  db="$PWD/zorgpad.db"
  n=2
  while [ -s "$db" ]; do db="$PWD/zorgpad-demo-$n.db"; n=$((n + 1)); done
fi
exec build/zorgpad --db "$db" demo "$@"
